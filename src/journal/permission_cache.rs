//! The permission reads `apply` made for a plan, kept beside it (`PLAN.permissions`, mode 0600)
//! as they come in, so that a second try of a plan made from files does not read 5,000 accounts
//! again. A line per account; the first line names the plan by its content hash, and a file for
//! another plan is started afresh. Reads older than [`TTL`] are read again, since who may be
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
}

#[derive(Serialize, Deserialize)]
struct Line {
    account_id: String,
    /// `allowed`, `missing`, or the API's reason key for a denial.
    answer: String,
    /// Seconds since the Unix epoch.
    at: u64,
}

fn answer_text(p: &Permission) -> &str {
    match p {
        Permission::Allowed => "allowed",
        Permission::NoAccount => "missing",
        Permission::Denied(key) => key,
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

/// The reads in `bytes` that belong to `plan_sha256` and are younger than [`TTL`] at `now`;
/// a line that cannot be read (the last one, cut short by a crash) is left out.
pub fn parse(bytes: &[u8], plan_sha256: &str, now: SystemTime) -> Cache {
    let mut lines = bytes.split(|&b| b == b'\n');
    let header: Option<Header> = lines.next().and_then(|l| serde_json::from_slice(l).ok());
    let ours = header.is_some_and(|h| h.format == FORMAT && h.plan_sha256 == plan_sha256);
    if !ours {
        return Cache::default();
    }
    let oldest = seconds(now).saturating_sub(TTL.as_secs());
    let mut found = HashMap::new();
    for line in lines.filter_map(|l| serde_json::from_slice::<Line>(l).ok()) {
        if line.at < oldest {
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
pub fn load(path: &Path, plan_sha256: &str, now: SystemTime) -> Cache {
    std::fs::read(path).map_or_else(|_| Cache::default(), |b| parse(&b, plan_sha256, now))
}

/// Appends reads as they come in.
pub struct CacheWriter {
    file: std::fs::File,
}

impl CacheWriter {
    /// Opens the cache for appending when `ours` (as [`load`] found it), or starts it afresh.
    pub fn open(path: &Path, plan_sha256: &str, ours: bool) -> io::Result<CacheWriter> {
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
                plan_sha256: plan_sha256.to_owned(),
            };
            let mut text = serde_json::to_vec(&header)?;
            text.push(b'\n');
            file.write_all(&text)?;
        }
        Ok(CacheWriter { file })
    }

    pub fn add(&mut self, account_id: &str, p: &Permission, now: SystemTime) -> io::Result<()> {
        let line = Line {
            account_id: account_id.to_owned(),
            answer: answer_text(p).to_owned(),
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

    fn file(sha: &str, lines: &[(&str, &str, u64)]) -> Vec<u8> {
        let mut text =
            format!("{{\"format\":\"{FORMAT}\",\"version\":1,\"plan_sha256\":\"{sha}\"}}\n");
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
        let found = parse(&bytes, "abc", now).reads;
        assert_eq!(found.len(), 3);
        assert_eq!(found["a"], Permission::Allowed);
        assert_eq!(
            found["b"],
            Permission::Denied("externalDirectory.scim".into())
        );
        assert_eq!(found["c"], Permission::NoAccount);
        assert!(parse(&bytes, "another plan", now).reads.is_empty());
        // A last line cut short by a crash is left out, the rest kept.
        let mut cut = bytes.clone();
        cut.extend_from_slice(b"{\"account_id\":\"d\",\"ans");
        assert_eq!(parse(&cut, "abc", now).reads.len(), 3);
    }

    #[test]
    fn a_cache_is_appended_to_for_its_plan_and_restarted_for_another() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_for(&dir.path().join("plan.json"));
        let now = SystemTime::now();
        let open = |sha: &str| CacheWriter::open(&path, sha, load(&path, sha, now).ours).unwrap();
        let mut w = open("abc");
        w.add("a", &Permission::Allowed, now).unwrap();
        drop(w);
        let mut w = open("abc");
        w.add("b", &Permission::NoAccount, now).unwrap();
        drop(w);
        assert_eq!(load(&path, "abc", now).reads.len(), 2);
        drop(open("xyz"));
        assert!(load(&path, "abc", now).reads.is_empty());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
