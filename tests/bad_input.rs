//! Bad input, in CI: the interesting inputs the fuzzers found (`tests/bad_input/corpus/`) and
//! property tests that generate damaged exports, target lists, plans and journals, each held to
//! `checks.rs`: read, or refused with a typed error naming the file and the line; never a panic.
//! `PROPTEST_CASES=100000 cargo test --release --test bad_input` runs them for longer.

#[path = "bad_input/checks.rs"]
mod checks;
mod support;

use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use support::*;

fn corpus(kind: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/bad_input/corpus")
        .join(kind);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect()
}

/// The well-formed files of the corpus (made by rehearsals), which the property tests damage.
fn seeds(kind: &str) -> Vec<Vec<u8>> {
    corpus(kind)
        .into_iter()
        .filter(|(p, _)| {
            p.file_stem()
                .is_some_and(|s| s.to_string_lossy().starts_with("rehearsal"))
        })
        .map(|(_, b)| b)
        .collect()
}

#[test]
fn every_corpus_entry_is_read_or_refused_with_its_place() {
    type Check = fn(&[u8]);
    let kinds: [(&str, Check); 5] = [
        ("accounts", checks::accounts),
        ("targets", checks::targets),
        ("plan", checks::plan),
        ("plan_content", checks::plan_content),
        ("journal", |b| checks::journal(b, 16)),
    ];
    for (kind, check) in kinds {
        let entries = corpus(kind);
        assert!(!entries.is_empty(), "no {kind} corpus");
        for (path, bytes) in entries {
            eprintln!("{}", path.display());
            check(&bytes);
        }
    }
}

/// Insert, delete, replace or cut at random places: how files get damaged by hand and by tools.
fn edits() -> impl Strategy<Value = Vec<(Index, u8, u8)>> {
    let byte = prop_oneof![
        Just(b'"'),
        Just(b','),
        Just(b'\n'),
        Just(b'\r'),
        Just(b'{'),
        Just(b'}'),
        Just(b'@'),
        Just(0u8),
        Just(0xFFu8),
        Just(0xEFu8),
        any::<u8>(),
    ];
    prop::collection::vec((any::<Index>(), 0u8..4, byte), 0..5)
}

fn apply_edits(mut bytes: Vec<u8>, edits: &[(Index, u8, u8)]) -> Vec<u8> {
    for (at, op, byte) in edits {
        let i = at.index(bytes.len() + 1);
        match op {
            0 => bytes.insert(i, *byte),
            1 if i < bytes.len() => {
                bytes.remove(i);
            }
            2 if i < bytes.len() => bytes[i] = *byte,
            3 => bytes.truncate(i),
            _ => {}
        }
    }
    bytes
}

const ACCOUNT_HEADERS: [&str; 4] = [
    "User id,User name,email,User status,Added to org,Org role",
    "\u{feff}Name,Email,Atlassian ID,Status,Last active date [UTC],Claimed,Jira",
    "Name,Email,Status,Last active date [UTC],Jira,Confluence",
    "Email,Email,User id",
];

const TARGET_HEADERS: [&str; 5] = [
    "account_id,current_email,target_email",
    "account_id,target_email",
    "current_email,new_email",
    "User id,mail",
    "email,target_email,account_id",
];

fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z.]{0,6}@(old|new)\\.example",
        "[a-z]{1,4}@[a-z]{0,3}",
        "[0-9]{6}:[0-9a-f-]{4,12}",
        "acc-[0-9]{1,2}",
        "(Active|Deactivated|Suspended|Pending|)",
        "\"[ -~]{0,8}\"",
        "[ -~]{0,10}",
        "\\PC{0,6}",
    ]
}

fn csv_file(headers: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
    let rows = prop::collection::vec(prop::collection::vec(cell(), 0..9), 0..12);
    let ending = prop_oneof![Just("\n"), Just("\r\n"), Just("\r")];
    (prop::sample::select(headers), rows, ending, edits()).prop_map(
        |(header, rows, ending, edits)| {
            let mut text = format!("{header}{ending}");
            for row in rows {
                text.push_str(&row.join(","));
                text.push_str(ending);
            }
            apply_edits(text.into_bytes(), &edits)
        },
    )
}

fn record() -> impl Strategy<Value = Value> {
    let step = prop_oneof![3 => 1u32..17, 1 => any::<u32>()];
    let text = "\\PC{0,8}";
    prop_oneof![
        (any::<u32>(), any::<u32>())
            .prop_map(|(run, pid)| json!({"t":"run","run":run,"pid":pid,"at":"t"})),
        (step.clone(), 0u32..5)
            .prop_map(|(s, a)| json!({"t":"intent","step":s,"attempt":a,"at":"t"})),
        (step.clone(), prop::option::of(any::<u16>())).prop_map(
            |(s, status)| json!({"t":"done","step":s,"status":status,"attempts":1,"at":"t"})
        ),
        (step.clone(), text, prop::option::of(text)).prop_map(
            |(s, m, k)| json!({"t":"failed","step":s,"key":k,"message":m,"attempts":2,"at":"t"})
        ),
        (step.clone(), step.clone())
            .prop_map(|(s, b)| json!({"t":"skipped","step":s,"because":b,"at":"t"})),
        step.clone()
            .prop_map(|s| json!({"t":"not_applied","step":s,"at":"t"})),
        Just(json!({"t":"later_kind","step":1})),
    ]
}

fn journal_file() -> impl Strategy<Value = Vec<u8>> {
    let header = (0u32..4, prop::sample::select(vec!["mailshift-journal", "other"])).prop_map(
        |(version, format)| {
            json!({"format":format,"format_version":version,"tool_version":"0.1.0","plan_sha256":"ab","steps":16,"at":"t"})
        },
    );
    (
        header,
        prop::collection::vec(record(), 0..30),
        any::<Index>(),
        edits(),
    )
        .prop_map(|(header, records, tear, edits)| {
            let mut bytes = Vec::new();
            for line in std::iter::once(header).chain(records) {
                serde_json::to_writer(&mut bytes, &line).unwrap();
                bytes.push(b'\n');
            }
            // Sometimes a crash cut the last line short.
            let last_line_start = bytes[..bytes.len() - 1]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1);
            if tear.index(4) == 0 {
                let cut = last_line_start + tear.index(bytes.len() - last_line_start);
                bytes.truncate(cut);
            }
            apply_edits(bytes, &edits)
        })
}

/// Every leaf of a JSON value, as a JSON pointer.
fn leaves(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => map.iter().for_each(|(k, v)| {
            leaves(
                v,
                format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                out,
            );
        }),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .for_each(|(i, v)| leaves(v, format!("{at}/{i}"), out)),
        _ => out.push(at),
    }
}

/// A value to put in place of a leaf: usually one of the leaf's own type (which still parses,
/// so the plan's meaning is what gets tested), sometimes anything at all.
fn leaf() -> impl Strategy<Value = Leaf> {
    let number = prop_oneof![
        (0u64..40).prop_map(|n| json!(n)),
        any::<u32>().prop_map(|n| json!(n)),
        Just(json!(u64::MAX)),
        Just(json!(-1)),
        Just(json!(1.5e30)),
    ];
    let text = prop_oneof![
        "\\PC{0,10}".prop_map(Value::String),
        "[a-z]{1,3}@(old|new|companya|companyb)\\.example".prop_map(Value::String),
        "712020:5b10a284-4c20-4165-80ed-e21a0000000[0-9]".prop_map(Value::String),
        Just(json!("")),
    ];
    let anything = prop_oneof![
        Just(Value::Null),
        Just(json!(true)),
        Just(json!([])),
        Just(json!({})),
        Just(json!([1, 2])),
    ];
    (number, text, anything, 0u8..4).prop_map(|(number, text, anything, pick)| Leaf {
        number,
        text,
        anything,
        keep_type: pick != 0,
    })
}

#[derive(Debug, Clone)]
struct Leaf {
    number: Value,
    text: Value,
    anything: Value,
    keep_type: bool,
}

impl Leaf {
    fn replacing(self, old: &Value) -> Value {
        match old {
            Value::Number(_) if self.keep_type => self.number,
            Value::String(_) if self.keep_type => self.text,
            _ if self.keep_type => self.anything,
            _ => [self.number, self.text, self.anything]
                .into_iter()
                .find(|v| std::mem::discriminant(v) != std::mem::discriminant(old))
                .unwrap_or(Value::Null),
        }
    }
}

/// A rehearsal's plan content with a few values changed, as a hand edit would, re-hashed so
/// that it gets past the hash check.
fn edited_plan_content() -> impl Strategy<Value = Vec<u8>> {
    prop::sample::select(seeds("plan_content")).prop_flat_map(|seed| {
        let content: Value = serde_json::from_slice(&seed).unwrap();
        let mut pointers = Vec::new();
        leaves(&content, String::new(), &mut pointers);
        prop::collection::vec((prop::sample::select(pointers), leaf()), 1..4).prop_map(
            move |changes| {
                let mut edited = content.clone();
                for (pointer, leaf) in changes {
                    if let Some(slot) = edited.pointer_mut(&pointer) {
                        *slot = leaf.replacing(slot);
                    }
                }
                serde_json::to_vec(&edited).unwrap()
            },
        )
    })
}

proptest! {
    #[test]
    fn damaged_accounts_exports(bytes in csv_file(&ACCOUNT_HEADERS)) {
        checks::accounts(&bytes);
    }

    #[test]
    fn damaged_target_lists(bytes in csv_file(&TARGET_HEADERS)) {
        checks::targets(&bytes);
    }

    #[test]
    fn damaged_journals(bytes in journal_file()) {
        checks::journal(&bytes, 16);
    }

    #[test]
    fn damaged_plan_files(plan in prop::sample::select(seeds("plan")), edits in edits()) {
        checks::plan(&apply_edits(plan, &edits));
    }

    #[test]
    fn hand_edited_and_rehashed_plans(content in edited_plan_content()) {
        checks::plan_content(&content);
    }
}

/// `apply` of a plan edited by hand or written by a newer mailshift: refused before anything is
/// sent or journaled, with the file and the way out named.
#[test]
fn apply_refuses_an_edited_plan_and_a_newer_one_before_sending_anything() {
    let dir = tempfile::tempdir().unwrap();
    let (accounts, targets) = generated_org(Shapes::renames(3));
    let plan_path = plan_in(dir.path(), &accounts, &targets);
    let original = std::fs::read_to_string(&plan_path).unwrap();
    let sim = serve(dir.path(), both_verified());
    let url = sim.url();
    let cases = [
        (
            original.replacen("r1@new.example", "r1@elsewhere.example", 1),
            "plan.json: the plan's content does not match its recorded SHA-256",
        ),
        (
            original.replacen("\"format_version\":1", "\"format_version\":9", 1),
            "plan.json: plan format version 9 is newer than this mailshift understands (up to 6); use mailshift 0.1.0 or later",
        ),
    ];
    for (edited, expected) in cases {
        assert_ne!(edited, original);
        std::fs::write(&plan_path, edited).unwrap();
        let out = mailshift(dir.path(), &fast(&url, &[]));
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(expected), "{stderr}");
        assert!(!dir.path().join("plan.json.journal").exists());
        assert!(sim.server.write_log().is_empty());
    }
}

/// `apply --expect-sha256`: the run executes the plan a reviewer approved, or nothing.
#[test]
fn apply_runs_only_the_plan_whose_hash_was_approved() {
    let dir = tempfile::tempdir().unwrap();
    let (accounts, targets) = generated_org(Shapes::renames(3));
    let plan_path = plan_in(dir.path(), &accounts, &targets);
    let bytes = std::fs::read_to_string(&plan_path).unwrap();
    let approved = bytes
        .rsplit_once("\"content_sha256\":\"")
        .and_then(|(_, rest)| rest.get(..64))
        .unwrap()
        .to_owned();
    let other = "0".repeat(64);
    let sim = serve(dir.path(), both_verified());
    let url = sim.url();
    let out = mailshift(dir.path(), &fast(&url, &["--expect-sha256", &other]));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "plan.json: not applied: its content sha256 is {approved}, not the {other} that --expect-sha256 asks for"
        )),
        "{stderr}"
    );
    assert!(sim.server.write_log().is_empty());
    assert!(!dir.path().join("plan.json.journal").exists());
    let out = mailshift(dir.path(), &fast(&url, &["--expect-sha256", "not-a-hash"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("--expect-sha256 \"not-a-hash\": expected the 64 hex digits")
    );
    let out = mailshift(
        dir.path(),
        &fast(&url, &["--expect-sha256", &approved.to_uppercase()]),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(sim.server.write_log().len(), 3);
}
