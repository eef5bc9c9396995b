//! The plan file's format: versioned JSON, one step per line, ending with the SHA-256 of its
//! content, encoded and decoded here from bytes; the binary's `mailshift::plan::file` reads and
//! writes the file (atomically, mode 0600). docs/plan-format.md describes it.

use super::{Plan, StepId};
use crate::hash::{hex, sha256_hex};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const FORMAT: &str = "mailshift-plan";
/// The newest version this mailshift reads and writes. A plan is written with the lowest
/// version that can hold it: version 2 added `unlink` steps and the `idp` list, version 3 the
/// `no_account` list, version 4 the `non_ascii_local_part` block reason, version 5 the
/// `unverified` and `left_behind` lists, the `not_claimed` block reason, the `closed` status and
/// `inputs.rollback`, version 6 `inputs.more_targets` (with the `file` of an origin and of
/// `conflicting_rows`), the `row_current` of an unchanged wish and `groups_before_unlink`, so a plan without them stays
/// readable by mailshift versions that know only the lower one.
pub const FORMAT_VERSION: u32 = 6;

/// The lowest format version that can hold `plan`.
pub fn version_needed(plan: &Plan) -> u32 {
    let unlinks = plan.steps.iter().any(|s| s.kind == super::StepKind::Unlink);
    let non_ascii = plan
        .blocked
        .iter()
        .any(|b| b.reason == super::BlockReason::NonAsciiLocalPart {});
    let claims = plan.inputs.rollback
        || !plan.unverified.is_empty()
        || !plan.left_behind.is_empty()
        || plan
            .blocked
            .iter()
            .any(|b| b.reason == super::BlockReason::NotClaimed {})
        || plan
            .steps
            .iter()
            .any(|s| s.status == crate::model::Status::Closed);
    let found_by_target = plan.unchanged.iter().any(|u| u.row_current.is_some());
    if found_by_target
        || !plan.inputs.more_targets.is_empty()
        || !plan.groups_before_unlink.is_empty()
        || !plan.scim_in_the_way.is_empty()
    {
        6
    } else if claims {
        5
    } else if non_ascii {
        4
    } else if !plan.no_account.is_empty() {
        3
    } else if unlinks || !plan.idp.is_empty() {
        2
    } else {
        1
    }
}

/// Why a plan file cannot be written or used.
#[derive(Debug, thiserror::Error)]
pub enum PlanFileError {
    /// The file is a plan with a journal beside it, or a journal or a journal's copy of its
    /// plan: writing over it would lose what a resume, `status` or an undo needs.
    #[error("{}: refusing to write a plan over it: {what}, which a resume, `mailshift status` and `mailshift rollback` need. Write the new plan elsewhere (--out FILE), or move the old files away first", path.display())]
    WouldReplaceRecord { path: PathBuf, what: String },
    /// Creating, writing or renaming the file failed; no partial file is left.
    #[error("{}: cannot write the plan: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file could not be read.
    #[error("{}: cannot read the plan: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Not JSON, or JSON that is not a mailshift plan.
    #[error("{}: not a mailshift plan: {detail}", path.display())]
    NotAPlan { path: PathBuf, detail: String },
    /// Written by a newer mailshift whose format this one does not know.
    #[error("{}: plan format version {found} is newer than this mailshift understands (up to {supported}); use mailshift {tool_version} or later", path.display())]
    NewerFormat {
        path: PathBuf,
        found: u32,
        supported: u32,
        tool_version: String,
    },
    /// The steps do not hang together (ids out of order, a dependency on a step that does not
    /// exist): only a plan built by hand can look like this.
    #[error("{}: the plan's steps are inconsistent: {detail}; make a new plan with `mailshift plan`", path.display())]
    Inconsistent { path: PathBuf, detail: String },
    /// The content does not match its recorded hash: the file was edited or damaged.
    #[error("{}: the plan's content does not match its recorded SHA-256 (recorded {recorded}, found {actual}); it was edited or damaged since it was written, so make a new plan with `mailshift plan`", path.display())]
    HashMismatch {
        path: PathBuf,
        recorded: String,
        actual: String,
    },
}

/// The envelope as read; the hash comes last in the file so that it can be written after
/// streaming the content, but JSON does not care about key order.
#[derive(Deserialize)]
struct Envelope<'a> {
    format: String,
    format_version: u32,
    tool_version: String,
    content_sha256: String,
    #[serde(borrow)]
    plan: &'a RawValue,
}

/// Writes the whole file to `out` and returns the content hash it records. The content is laid
/// out one step per line, so that a diff of two plans reads as a list of changed steps.
pub fn write_to(plan: &Plan, out: &mut dyn Write) -> io::Result<String> {
    write!(
        out,
        "{{\"format\":\"{FORMAT}\",\"format_version\":{},\"tool_version\":\"{}\",\n\"plan\":",
        version_needed(plan),
        env!("CARGO_PKG_VERSION")
    )?;
    let mut body = Hashing {
        out,
        hasher: Sha256::new(),
        scratch: Vec::with_capacity(512),
    };
    body.raw(b"{\"inputs\":")?;
    body.json(&plan.inputs)?;
    body.raw(b",\n\"summary\":")?;
    body.json(&plan.summary)?;
    body.list("steps", &plan.steps, super::step_json::write_step)?;
    body.list("blocked", &plan.blocked, derived)?;
    if !plan.no_account.is_empty() {
        body.list("no_account", &plan.no_account, derived)?;
    }
    body.list("unchanged", &plan.unchanged, derived)?;
    if !plan.idp.is_empty() {
        body.list("idp", &plan.idp, derived)?;
    }
    if !plan.unverified.is_empty() {
        body.list("unverified", &plan.unverified, derived)?;
    }
    if !plan.left_behind.is_empty() {
        body.list("left_behind", &plan.left_behind, derived)?;
    }
    if !plan.groups_before_unlink.is_empty() {
        body.list("groups_before_unlink", &plan.groups_before_unlink, derived)?;
    }
    if !plan.scim_in_the_way.is_empty() {
        body.list("scim_in_the_way", &plan.scim_in_the_way, derived)?;
    }
    body.raw(b"}")?;
    let sha256 = hex(&body.hasher.finalize());
    write!(body.out, ",\n\"content_sha256\":\"{sha256}\"}}\n")?;
    Ok(sha256)
}

/// The file's bytes in memory, as `write_to` lays them out.
pub fn encode(plan: &Plan) -> Vec<u8> {
    let mut bytes = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = write_to(plan, &mut bytes);
    bytes
}

/// Passes the content through to the file while hashing it. Each value is serialized whole into
/// a scratch buffer first, so the hasher and the file see a few large writes, not many tiny ones.
struct Hashing<'a> {
    out: &'a mut dyn Write,
    hasher: Sha256,
    scratch: Vec<u8>,
}

impl Hashing<'_> {
    fn raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.hasher.update(bytes);
        self.out.write_all(bytes)
    }

    fn json<T: Serialize>(&mut self, value: &T) -> io::Result<()> {
        self.scratch.clear();
        serde_json::to_writer(&mut self.scratch, value)?;
        self.hasher.update(&self.scratch);
        self.out.write_all(&self.scratch)
    }

    /// A large plan's list takes three jobs of a core's share each: a helper thread serializes
    /// chunks of items, another hashes each chunk while this one writes it. Hashing and writing
    /// one after the other on this thread took 0.2 s at 1M steps while the serializing took
    /// 0.08 s beside it.
    fn list<T: Sync>(
        &mut self,
        name: &str,
        items: &[T],
        encode: fn(&mut Vec<u8>, &T),
    ) -> io::Result<()> {
        const CHUNK: usize = 8192;
        self.raw(format!(",\n\"{name}\":[").as_bytes())?;
        let hasher = std::mem::take(&mut self.hasher);
        self.hasher = std::thread::scope(|s| {
            let (chunks, encoded) = std::sync::mpsc::sync_channel::<Arc<Vec<u8>>>(4);
            let (to_hash, hashed) = std::sync::mpsc::sync_channel::<Arc<Vec<u8>>>(4);
            s.spawn(move || {
                for (c, chunk) in items.chunks(CHUNK).enumerate() {
                    let mut buf = Vec::with_capacity(chunk.len() * 256);
                    for (i, item) in chunk.iter().enumerate() {
                        buf.extend_from_slice(if c == 0 && i == 0 { b"\n" } else { b",\n" });
                        encode(&mut buf, item);
                    }
                    if chunks.send(Arc::new(buf)).is_err() {
                        break; // the writer stopped on an error
                    }
                }
            });
            let hashing = s.spawn(move || {
                let mut hasher = hasher;
                for buf in hashed {
                    hasher.update(&*buf);
                }
                hasher
            });
            let written = encoded.into_iter().try_for_each(|buf| {
                // The hasher ends with the chunks it was sent; an error here ends both.
                let _ = to_hash.send(Arc::clone(&buf));
                self.out.write_all(&buf)
            });
            drop(to_hash);
            let hasher = crate::cores::joined(hashing);
            written.map(|()| hasher)
        })?;
        self.raw(if items.is_empty() { b"]" } else { b"\n]" })
    }
}

/// An item as its derived `Serialize` writes it.
fn derived<T: Serialize>(buf: &mut Vec<u8>, item: &T) {
    // Serializing into a Vec cannot fail for the plan's types.
    let _ = serde_json::to_writer(buf, item);
}

/// Reads a plan from bytes, refusing one from a newer format or whose hash does not match.
pub fn decode(path: &Path, bytes: &[u8]) -> Result<Plan, PlanFileError> {
    decode_hashed(path, bytes).map(|(plan, _)| plan)
}

/// `decode`, also returning the content hash, which binds a journal to its plan.
pub fn decode_hashed(path: &Path, bytes: &[u8]) -> Result<(Plan, String), PlanFileError> {
    let not_a_plan = |detail: String| PlanFileError::NotAPlan {
        path: path.to_owned(),
        detail,
    };
    // An editor may save the file with a UTF-8 byte order mark; the content it hashes is the
    // same.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let envelope: Envelope =
        serde_json::from_slice(bytes).map_err(|e| not_a_plan(e.to_string()))?;
    if envelope.format != FORMAT {
        return Err(not_a_plan(format!("its format is {:?}", envelope.format)));
    }
    if envelope.format_version > FORMAT_VERSION {
        return Err(PlanFileError::NewerFormat {
            path: path.to_owned(),
            found: envelope.format_version,
            supported: FORMAT_VERSION,
            tool_version: envelope.tool_version,
        });
    }
    let actual = sha256_hex(envelope.plan.get().as_bytes());
    if actual != envelope.content_sha256 {
        return Err(PlanFileError::HashMismatch {
            path: path.to_owned(),
            recorded: envelope.content_sha256,
            actual,
        });
    }
    let plan: Plan =
        serde_json::from_str(envelope.plan.get()).map_err(|e| not_a_plan(e.to_string()))?;
    check_steps(&plan).map_err(|detail| PlanFileError::Inconsistent {
        path: path.to_owned(),
        detail,
    })?;
    Ok((plan, actual))
}

/// Step ids run 1, 2, 3, ... in file order, every step waits only for steps before it, and a
/// step shares its group with the steps it waits for and with the other steps of its account:
/// `apply --limit` and a drifted account's exclusion take groups whole, as the plan states them.
fn check_steps(plan: &Plan) -> Result<(), String> {
    let mut group_of_account: hashbrown::HashMap<&str, (u32, StepId)> = hashbrown::HashMap::new();
    for (i, step) in plan.steps.iter().enumerate() {
        let id = StepId::of_index(i);
        if step.id != id {
            return Err(format!("step {} stands where step {id} should", step.id));
        }
        if let Some(&d) = step.after.iter().find(|&&d| d.0 == 0 || d >= id) {
            return Err(format!(
                "step {id} waits for step {d}, which does not come before it"
            ));
        }
        if let Some(&d) = step
            .after
            .iter()
            .find(|&&d| plan.steps[d.index()].group != step.group)
        {
            return Err(format!(
                "step {id} waits for step {d}, which is in another group"
            ));
        }
        let (group, first) = *group_of_account
            .entry(&step.account_id)
            .or_insert((step.group, step.id));
        if group != step.group {
            return Err(format!(
                "steps {first} and {id} both write account {}, in different groups",
                step.account_id
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::Layout;
    use crate::model::Status;
    use crate::plan::{BlockReason, Blocked, InputFile, Inputs, Origin, Step, StepKind, Summary};

    fn sample() -> Plan {
        let steps = vec![Step {
            id: StepId(1),
            group: 1,
            kind: StepKind::Rename,
            account_id: "id-1".into(),
            name: "Ann \"Lee\"".into(),
            status: Status::Active,
            product_access: true,
            from: "ann@old.example".into(),
            to: "ann@new.example".into(),
            after: crate::plan::After::default(),
            origin: Some(Origin::line(2)),
        }];
        let blocked = vec![Blocked {
            origin: Origin::Rule("old.example=new.example".into()),
            account_id: None,
            name: String::new(),
            current: None,
            target: "x".into(),
            reason: BlockReason::InvalidAddress {
                problem: "the address has no @".into(),
            },
        }];
        Plan {
            inputs: Inputs {
                accounts: InputFile {
                    path: "a.csv".into(),
                    sha256: "00".into(),
                },
                accounts_layout: Layout::ExportUsers,
                targets: None,
                more_targets: vec![],
                rewrite_domains: vec!["old.example=new.example".into()],
                verified_domains: None,
                checked_live: None,
                rollback: false,
            },
            summary: Summary::of(1, &steps, &blocked, &[]),
            steps,
            blocked,
            no_account: Vec::new(),
            unchanged: vec![],
            idp: vec![],
            unverified: vec![],
            left_behind: vec![],
            groups_before_unlink: vec![],
            scim_in_the_way: vec![],
        }
    }

    #[test]
    fn round_trips_one_step_per_line() {
        let plan = sample();
        let mut bytes = Vec::new();
        let sha256 = write_to(&plan, &mut bytes).unwrap();
        assert_eq!(bytes, encode(&plan));
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.contains("\n{\"id\":1,\"group\":1,\"kind\":\"rename\""));
        assert!(text.ends_with(&format!(",\n\"content_sha256\":\"{sha256}\"}}\n")));
        assert_eq!(decode(Path::new("p.json"), &bytes).unwrap(), plan);
    }

    /// A list of many chunks is serialized, hashed and written by three threads: the file holds
    /// its steps in order, and its hash is of those bytes (`decode` checks it).
    #[test]
    fn a_plan_of_many_chunks_keeps_its_order_and_its_hash() {
        let mut plan = sample();
        let one = plan.steps[0].clone();
        plan.steps = (1..=20_000u32)
            .map(|i| Step {
                id: StepId(i),
                group: i,
                account_id: format!("id-{i}").into(),
                ..one.clone()
            })
            .collect();
        plan.summary = Summary::of(1, &plan.steps, &plan.blocked, &[]);
        let mut bytes = Vec::new();
        let sha256 = write_to(&plan, &mut bytes).unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        let ids: Vec<u32> = text
            .lines()
            .filter_map(|l| l.strip_prefix("{\"id\":"))
            .filter_map(|l| l.split(',').next()?.parse().ok())
            .collect();
        assert_eq!(ids, (1..=20_000).collect::<Vec<u32>>());
        assert!(text.ends_with(&format!(",\n\"content_sha256\":\"{sha256}\"}}\n")));
        assert_eq!(decode(Path::new("p.json"), &bytes).unwrap(), plan);
    }

    #[test]
    fn a_plan_saved_with_a_byte_order_mark_reads_the_same() {
        let plan = sample();
        let mut bytes = b"\xEF\xBB\xBF".to_vec();
        let sha256 = write_to(&plan, &mut bytes).unwrap();
        let (read, read_sha) = decode_hashed(Path::new("p.json"), &bytes).unwrap();
        assert_eq!((read, read_sha), (plan, sha256));
    }

    #[test]
    fn plans_without_unlinks_or_idp_changes_stay_version_1() {
        let plan = sample();
        assert!(
            String::from_utf8(encode(&plan))
                .unwrap()
                .contains("\"format_version\":1,")
        );
        let mut with_unlink = sample();
        with_unlink.steps[0].kind = StepKind::Unlink;
        let bytes = encode(&with_unlink);
        assert!(
            String::from_utf8(bytes.clone())
                .unwrap()
                .contains("\"format_version\":2,")
        );
        assert_eq!(decode(Path::new("p.json"), &bytes).unwrap(), with_unlink);
    }

    #[test]
    fn an_edited_plan_is_refused() {
        let bytes = encode(&sample());
        let edited = String::from_utf8(bytes)
            .unwrap()
            .replace("ann@new.example", "eve@new.example");
        let err = decode(Path::new("p.json"), edited.as_bytes()).unwrap_err();
        assert!(matches!(err, PlanFileError::HashMismatch { .. }), "{err}");
        assert!(err.to_string().contains("edited or damaged"));
    }

    #[test]
    fn rows_with_no_account_need_version_3_and_round_trip() {
        let mut plan = sample();
        assert!(
            String::from_utf8(encode(&plan))
                .unwrap()
                .contains("\"format_version\":1,")
        );
        let mut row = plan.blocked[0].clone();
        row.reason = BlockReason::UnknownAccount {};
        plan.no_account.push(row);
        let bytes = encode(&plan);
        assert!(
            String::from_utf8(bytes.clone())
                .unwrap()
                .contains("\"format_version\":3,")
        );
        assert_eq!(decode(Path::new("p.json"), &bytes).unwrap(), plan);
    }

    #[test]
    fn a_non_ascii_block_needs_version_4_and_others_keep_their_version() {
        let mut plan = sample();
        assert!(version_needed(&plan) < 4);
        plan.blocked.push(super::super::Blocked {
            origin: super::super::Origin::line(9),
            account_id: None,
            name: String::new(),
            current: None,
            target: "t.strasseë@x.example".into(),
            reason: super::super::BlockReason::NonAsciiLocalPart {},
        });
        assert_eq!(version_needed(&plan), 4);
        let bytes = encode(&plan);
        assert!(String::from_utf8_lossy(&bytes).contains("\"format_version\":4,"));
        assert_eq!(decode(Path::new("p.json"), &bytes).unwrap(), plan);
    }

    #[test]
    fn claims_need_version_5_and_round_trip() {
        let mut plan = sample();
        assert!(
            String::from_utf8(encode(&plan))
                .unwrap()
                .contains("\"format_version\":1,")
        );
        plan.unverified = vec![plan.steps[0].account_id.to_string()];
        let bytes = encode(&plan);
        assert!(
            String::from_utf8(bytes.clone())
                .unwrap()
                .contains("\"format_version\":5,")
        );
        assert_eq!(decode(Path::new("p.json"), &bytes).unwrap(), plan);
        let mut plan = sample();
        plan.steps[0].status = crate::model::Status::Closed;
        assert_eq!(version_needed(&plan), 5);
    }

    #[test]
    fn a_second_targets_file_needs_version_6_and_round_trips() {
        let mut plan = sample();
        let first = encode(&plan);
        plan.inputs.more_targets = vec![InputFile {
            path: "fixes.csv".into(),
            sha256: "11".into(),
        }];
        plan.steps[0].origin = Some(super::super::Origin::Line { file: 1, line: 3 });
        plan.groups_before_unlink = vec![super::super::AccountGroups {
            account_id: "id-1".into(),
            groups: vec!["jira-users".into()],
        }];
        plan.scim_in_the_way = vec![super::super::ScimInTheWay {
            idp_order: 1,
            email: "a@x.example".into(),
            scim_user_id: "s1".into(),
            directory_id: "d2".into(),
            account_id: None,
        }];
        assert_eq!(version_needed(&plan), 6);
        let bytes = encode(&plan);
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.contains("\"format_version\":6,"), "{text}");
        assert!(
            text.contains("\"origin\":{\"line\":3,\"file\":1}"),
            "{text}"
        );
        assert_eq!(decode(Path::new("p.json"), &bytes).unwrap(), plan);
        // A line of the first file keeps the bytes it had before several files were allowed.
        assert!(!String::from_utf8(first).unwrap().contains("\"file\""));
    }

    #[test]
    fn a_newer_format_is_refused_by_name() {
        let bytes = String::from_utf8(encode(&sample()))
            .unwrap()
            .replace("\"format_version\":1", "\"format_version\":9");
        let err = decode(Path::new("p.json"), bytes.as_bytes()).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "p.json: plan format version 9 is newer than this mailshift understands (up to 6); use mailshift {} or later",
                env!("CARGO_PKG_VERSION")
            )
        );
    }

    #[test]
    fn steps_that_do_not_hang_together_are_refused() {
        let mut plan = sample();
        plan.steps[0].id = StepId(0);
        let err = decode(Path::new("p.json"), &encode(&plan)).unwrap_err();
        assert!(matches!(err, PlanFileError::Inconsistent { .. }), "{err}");
        let mut plan = sample();
        plan.steps[0].after.push(StepId(1));
        let err = decode(Path::new("p.json"), &encode(&plan)).unwrap_err();
        assert!(err.to_string().contains("waits for step 1"), "{err}");
    }

    #[test]
    fn groups_that_split_a_dependency_or_an_account_are_refused() {
        let two = |second: Step| {
            let mut plan = sample();
            plan.steps.push(Step {
                id: StepId(2),
                ..second
            });
            decode(Path::new("p.json"), &encode(&plan))
        };
        let first = sample().steps[0].clone();
        let other = Step {
            account_id: "id-2".into(),
            from: "bo@old.example".into(),
            to: "bo@new.example".into(),
            ..first.clone()
        };
        // One group: a dependency and an account each keep theirs.
        assert!(
            two(Step {
                after: [StepId(1)].into_iter().collect(),
                ..other.clone()
            })
            .is_ok()
        );
        assert!(
            two(Step {
                group: 2,
                ..other.clone()
            })
            .is_ok()
        );
        let err = two(Step {
            group: 2,
            after: [StepId(1)].into_iter().collect(),
            ..other
        })
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("step 2 waits for step 1, which is in another group"),
            "{err}"
        );
        let err = two(Step { group: 2, ..first }).unwrap_err();
        assert!(
            err.to_string()
                .contains("steps 1 and 2 both write account id-1, in different groups"),
            "{err}"
        );
    }

    #[test]
    fn other_json_is_not_a_plan() {
        for bytes in [&b"{}"[..], b"[1,2]", b"\xff\xfe", b""] {
            let err = decode(Path::new("p.json"), bytes).unwrap_err();
            assert!(matches!(err, PlanFileError::NotAPlan { .. }), "{err}");
        }
        let other = br#"{"format":"terraform","format_version":1,"tool_version":"1","content_sha256":"","plan":{}}"#;
        assert!(
            decode(Path::new("p.json"), other)
                .unwrap_err()
                .to_string()
                .contains("\"terraform\"")
        );
    }
}
