//! The pace an `apply` run learnt, kept beside its plan (`PLAN.pace`, mode 0600), so that the
//! next run against the same API and org starts at it instead of low: the admin's `--rate` is a
//! ceiling, not a starting point. A file for another API or org, from the future, older than
//! [`TTL`], or unreadable is no start (the run starts low, as with none); the file is written
//! whole at the end of each run, so a crash leaves the last one. The key is not recorded, not
//! even hashed: another key's budget may be smaller, and then the first 429s cut the pace as
//! they would from any start.

use serde::{Deserialize, Serialize};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

pub const FORMAT: &str = "mailshift-pace";
/// How long a learnt pace is trusted: budgets change rarely, but they do.
pub const TTL: Duration = Duration::from_secs(7 * 24 * 3600);
/// How far ahead of this machine's clock a file's time may be.
const CLOCK_SKEW: u64 = 60;

/// Where the learnt pace of `plan` lives.
pub fn path_for(plan: &Path) -> PathBuf {
    let mut name = plan.as_os_str().to_owned();
    name.push(".pace");
    PathBuf::from(name)
}

#[derive(Debug, Serialize, Deserialize)]
struct Learnt {
    format: String,
    version: u32,
    api: String,
    org: String,
    /// Requests per second the server took without a burst of 429s.
    rate: f64,
    /// Seconds since the Unix epoch.
    at: u64,
}

fn seconds(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The rate in `bytes`, if it was learnt at `api` and `org` within [`TTL`] of `now`.
pub fn parse(bytes: &[u8], api: &str, org: &str, now: SystemTime) -> Option<f64> {
    let l: Learnt = serde_json::from_slice(bytes).ok()?;
    let fresh = l.at.saturating_add(TTL.as_secs()) >= seconds(now)
        && l.at <= seconds(now).saturating_add(CLOCK_SKEW);
    let here = l.format == FORMAT
        && l.version == 1
        && mailshift_core::journal::same_api(&l.api, api)
        && l.org == org;
    (fresh && here && l.rate.is_finite() && l.rate > 0.0).then_some(l.rate)
}

/// The rate kept beside the plan at `path` for `api` and `org`; none if there is no such file.
pub fn load(path: &Path, api: &str, org: &str, now: SystemTime) -> Option<f64> {
    std::fs::read(path)
        .ok()
        .and_then(|b| parse(&b, api, org, now))
}

/// Keeps `rate` for the next run, replacing what was there.
pub fn save(path: &Path, api: &str, org: &str, rate: f64, now: SystemTime) -> io::Result<()> {
    let learnt = Learnt {
        format: FORMAT.to_owned(),
        version: 1,
        api: api.to_owned(),
        org: org.to_owned(),
        rate,
        at: seconds(now),
    };
    crate::private_file::write(path, |w| {
        serde_json::to_writer(&mut *w, &learnt)?;
        w.write_all(b"\n")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const API: &str = "https://api.atlassian.com";

    #[test]
    fn a_pace_is_kept_for_its_api_and_org_and_a_week() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_for(&dir.path().join("plan.json"));
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        assert_eq!(load(&path, API, "org-1", now), None, "no file, no start");
        save(&path, API, "org-1", 97.5, now).unwrap();
        assert_eq!(load(&path, API, "org-1", now), Some(97.5));
        assert_eq!(load(&path, "http://127.0.0.1:4000", "org-1", now), None);
        assert_eq!(load(&path, API, "org-2", now), None);
        let later = now + TTL + Duration::from_secs(1);
        assert_eq!(load(&path, API, "org-1", later), None, "too old");
        let earlier = now - Duration::from_secs(3600);
        assert_eq!(load(&path, API, "org-1", earlier), None, "from the future");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_file_that_is_not_a_pace_is_no_start() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        let at = 1_000_000_000;
        let text = |rate: &str| {
            format!(
                "{{\"format\":\"{FORMAT}\",\"version\":1,\"api\":\"{API}\",\"org\":\"o\",\"rate\":{rate},\"at\":{at}}}"
            )
        };
        assert_eq!(parse(text("40").as_bytes(), API, "o", now), Some(40.0));
        for bad in ["0", "-5", "1e999"] {
            assert_eq!(parse(text(bad).as_bytes(), API, "o", now), None, "{bad}");
        }
        assert_eq!(parse(b"{\"format\":", API, "o", now), None);
        let v2 = text("40").replace("\"version\":1", "\"version\":2");
        assert_eq!(parse(v2.as_bytes(), API, "o", now), None);
    }
}
