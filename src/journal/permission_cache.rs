//! The permission reads `apply` made for a plan, kept beside it (`PLAN.permissions`, mode 0600)
//! as they come in, so that a second try of a plan made from files does not read 5,000 accounts
//! again. A line per account; the first line names the plan by its content hash and the API and
//! org the reads were made at (what a rehearsal's simulator allows says nothing of the real
//! org), and a file for another plan, API or org is started afresh. A line dated in the future
//! (a wrong clock, or an edit) is not trusted. Reads older than [`TTL`] are read again, since who may be
//! written changes (an account linked to SCIM meanwhile); a refused write still fails its step.
//! Losing lines costs only reads again, so the file is flushed, not synced.

use hashbrown::HashMap;
use mailshift_core::live::manage::Permission;
use serde::{Deserialize, Serialize};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

pub const FORMAT: &str = "mailshift-permissions";
/// How long a permission read is trusted.
pub const TTL: Duration = Duration::from_secs(24 * 3600);

/// Where the cache of `plan` lives.
pub fn path_for(plan: &Path) -> PathBuf {
    let mut name = plan.as_os_str().to_owned();
    name.push(".permissions");
    PathBuf::from(name)
}

#[derive(Serialize, Deserialize)]
struct Header {
    format: String,
    version: u32,
    plan_sha256: String,
    /// Where the reads were made; a file without them (written before they were recorded) is
    /// started afresh.
    #[serde(default)]
    api: Option<String>,
    #[serde(default)]
    org: Option<String>,
}

/// Whose reads a cache holds: one plan's, at one API and org.
#[derive(Debug, Clone, Copy)]
pub struct Owner<'a> {
    pub plan_sha256: &'a str,
    pub api: &'a str,
    pub org: &'a str,
}

impl Owner<'_> {
    fn owns(&self, h: &Header) -> bool {
        h.format == FORMAT
            && h.plan_sha256 == self.plan_sha256
            && h.api
                .as_deref()
                .is_some_and(|api| mailshift_core::journal::same_api(api, self.api))
            && h.org.as_deref() == Some(self.org)
    }
}

/// How far ahead of this machine's clock a read's time may be before it is not trusted.
const CLOCK_SKEW: u64 = 60;

#[derive(Serialize, Deserialize)]
struct Line {
    account_id: String,
    /// `allowed`, `missing`, or the API's reason key for a denial.
    answer: String,
    /// Seconds since the Unix epoch.
    at: u64,
}

/// The answer as kept; `None` for a refusal of the account, which the admin may mend between
/// two tries (a verification mail answered, a domain claimed), so it is read again.
fn answer_text(p: &Permission) -> Option<&str> {
    match p {
        Permission::Allowed => Some("allowed"),
        Permission::NoAccount => Some("missing"),
        Permission::Denied(key) => Some(key),
        Permission::Refused { .. } => None,
    }
}

fn seconds(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// What a cache file holds for one plan.
#[derive(Debug, Default)]
pub struct Cache {
    /// The file is this plan's: new reads are appended to it, not started afresh.
    pub ours: bool,
    /// The reads younger than [`TTL`].
    pub reads: HashMap<String, Permission>,
}

/// The reads in `bytes` that belong to `owner` and are younger than [`TTL`] at `now` (and not
/// dated after it); a line that cannot be read (the last one, cut short by a crash) is left out.
pub fn parse(bytes: &[u8], owner: &Owner<'_>, now: SystemTime) -> Cache {
    let mut lines = bytes.split(|&b| b == b'\n');
    let header: Option<Header> = lines.next().and_then(|l| serde_json::from_slice(l).ok());
    let ours = header.is_some_and(|h| owner.owns(&h));
    if !ours {
        return Cache::default();
    }
    let oldest = seconds(now).saturating_sub(TTL.as_secs());
    let newest = seconds(now).saturating_add(CLOCK_SKEW);
    let mut found = HashMap::new();
    for line in lines.filter_map(|l| serde_json::from_slice::<Line>(l).ok()) {
        if line.at < oldest || line.at > newest {
            continue;
        }
        let permission = match line.answer.as_str() {
            "allowed" => Permission::Allowed,
            "missing" => Permission::NoAccount,
            key => Permission::Denied(key.to_owned()),
        };
        found.insert(line.account_id, permission);
    }
    Cache {
        ours: true,
        reads: found,
    }
}

/// Reads the cache of a plan; none (or an unreadable one) is an empty cache.
pub fn load(path: &Path, owner: &Owner<'_>, now: SystemTime) -> Cache {
    std::fs::read(path).map_or_else(|_| Cache::default(), |b| parse(&b, owner, now))
}

/// Appends reads as they come in.
pub struct CacheWriter {
    file: std::fs::File,
}

impl CacheWriter {
    /// Opens the cache for appending when `ours` (as [`load`] found it), or starts it afresh.
    pub fn open(path: &Path, owner: &Owner<'_>, ours: bool) -> io::Result<CacheWriter> {
        let mut options = std::fs::OpenOptions::new();
        options.create(true);
        if ours {
            options.append(true);
        } else {
            options.write(true).truncate(true);
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(path)?;
        if !ours {
            let header = Header {
                format: FORMAT.to_owned(),
                version: 1,
                plan_sha256: owner.plan_sha256.to_owned(),
                api: Some(owner.api.to_owned()),
                org: Some(owner.org.to_owned()),
            };
            let mut text = serde_json::to_vec(&header)?;
            text.push(b'\n');
            file.write_all(&text)?;
        }
        Ok(CacheWriter { file })
    }

    pub fn add(&mut self, account_id: &str, p: &Permission, now: SystemTime) -> io::Result<()> {
        let Some(answer) = answer_text(p) else {
            return Ok(());
        };
        let line = Line {
            account_id: account_id.to_owned(),
            answer: answer.to_owned(),
            at: seconds(now),
        };
        let mut text = serde_json::to_vec(&line)?;
        text.push(b'\n');
        self.file.write_all(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const API: &str = "https://api.atlassian.com";

    fn owner(sha: &str) -> Owner<'_> {
        Owner {
            plan_sha256: sha,
            api: API,
            org: "org-1",
        }
    }

    fn file(sha: &str, lines: &[(&str, &str, u64)]) -> Vec<u8> {
        let mut text = format!(
            "{{\"format\":\"{FORMAT}\",\"version\":1,\"plan_sha256\":\"{sha}\",\"api\":\"{API}\",\"org\":\"org-1\"}}\n"
        );
        for (id, answer, at) in lines {
            text.push_str(&format!(
                "{{\"account_id\":\"{id}\",\"answer\":\"{answer}\",\"at\":{at}}}\n"
            ));
        }
        text.into_bytes()
    }

    #[test]
    fn only_this_plans_recent_reads_are_trusted() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let bytes = file(
            "abc",
            &[
                ("a", "allowed", 999_000),
                ("b", "externalDirectory.scim", 999_500),
                ("c", "missing", 999_900),
                ("old", "allowed", 1_000_000 - TTL.as_secs() - 1),
            ],
        );
        let found = parse(&bytes, &owner("abc"), now).reads;
        assert_eq!(found.len(), 3);
        assert_eq!(found["a"], Permission::Allowed);
        assert_eq!(
            found["b"],
            Permission::Denied("externalDirectory.scim".into())
        );
        assert_eq!(found["c"], Permission::NoAccount);
        assert!(parse(&bytes, &owner("another plan"), now).reads.is_empty());
        // A last line cut short by a crash is left out, the rest kept.
        let mut cut = bytes.clone();
        cut.extend_from_slice(b"{\"account_id\":\"d\",\"ans");
        assert_eq!(parse(&cut, &owner("abc"), now).reads.len(), 3);
    }

    #[test]
    fn a_cache_is_appended_to_for_its_plan_and_restarted_for_another() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_for(&dir.path().join("plan.json"));
        let now = SystemTime::now();
        let open = |sha: &str| {
            CacheWriter::open(&path, &owner(sha), load(&path, &owner(sha), now).ours).unwrap()
        };
        let mut w = open("abc");
        w.add("a", &Permission::Allowed, now).unwrap();
        drop(w);
        let mut w = open("abc");
        w.add("b", &Permission::NoAccount, now).unwrap();
        drop(w);
        assert_eq!(load(&path, &owner("abc"), now).reads.len(), 2);
        drop(open("xyz"));
        assert!(load(&path, &owner("abc"), now).reads.is_empty());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn reads_made_at_another_api_or_org_or_dated_in_the_future_are_not_trusted() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let bytes = file(
            "abc",
            &[("a", "allowed", 999_000), ("far", "allowed", u64::MAX / 2)],
        );
        let here = parse(&bytes, &owner("abc"), now).reads;
        assert_eq!(here.len(), 1, "a read dated in the future is left out");
        let rehearsal = Owner {
            api: "http://127.0.0.1:4000",
            ..owner("abc")
        };
        assert!(parse(&bytes, &rehearsal, now).reads.is_empty());
        let other_org = Owner {
            org: "org-2",
            ..owner("abc")
        };
        assert!(parse(&bytes, &other_org, now).reads.is_empty());
        // A file from before the API and org were recorded is started afresh.
        let old = format!(
            "{{\"format\":\"{FORMAT}\",\"version\":1,\"plan_sha256\":\"abc\"}}\n{{\"account_id\":\"a\",\"answer\":\"allowed\",\"at\":999000}}\n"
        );
        assert!(parse(old.as_bytes(), &owner("abc"), now).reads.is_empty());
    }
}
