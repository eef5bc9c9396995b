//! One `apply` per plan content at a time on this machine, whatever journal it names: a lock
//! file keyed by the plan's content hash, in a directory every run of this user agrees on. A
//! second run of the same plan (a copy in another folder, another `--journal`) would send every
//! step twice; it is refused, naming the journal of the run that holds the lock.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};

/// Why the plan lock cannot be taken.
#[derive(Debug, thiserror::Error)]
pub enum PlanLockError {
    /// Another `apply` of the same plan content is running.
    #[error(
        "another mailshift apply of this plan is running (process {pid}, journal {journal}): two runs of one plan would send every step twice. Let it finish or stop it first; to resume, use that journal"
    )]
    Busy { pid: String, journal: String },
    /// The lock file cannot be made or locked.
    #[error("{}: cannot take the plan's lock: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// Held for the length of a run; dropping it releases the lock.
#[derive(Debug)]
pub struct PlanLock {
    _file: File,
}

/// Where plan locks live: `$XDG_RUNTIME_DIR` (per user, on a local file system), else the
/// temporary directory.
pub fn lock_dir(runtime_dir: Option<&Path>) -> PathBuf {
    runtime_dir
        .map_or_else(std::env::temp_dir, Path::to_path_buf)
        .join("mailshift-plan-locks")
}

/// Takes the lock of the plan with `plan_sha256` in `dir`, recording `journal` and this
/// process in it for a second run's message.
pub fn take(dir: &Path, plan_sha256: &str, journal: &Path) -> Result<PlanLock, PlanLockError> {
    let path = dir.join(format!("{plan_sha256}.lock"));
    let io_error = |source| PlanLockError::Io {
        path: path.clone(),
        source,
    };
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(io_error)?;
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&path).map_err(io_error)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            // The holder writes who it is right after taking the lock: give it a moment.
            let mut holder = String::new();
            for _ in 0..50 {
                holder.clear();
                let _ = file.rewind();
                let _ = file.read_to_string(&mut holder);
                if holder.ends_with('\n') && holder.lines().count() >= 2 {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            let mut lines = holder.lines();
            let pid = lines.next().unwrap_or("unknown").to_owned();
            let journal = lines.next().unwrap_or("(not recorded)").to_owned();
            return Err(PlanLockError::Busy { pid, journal });
        }
        Err(TryLockError::Error(e)) => return Err(io_error(e)),
    }
    let journal = std::path::absolute(journal).unwrap_or_else(|_| journal.to_owned());
    let record = format!("{}\n{}\n", std::process::id(), journal.display());
    file.set_len(0).map_err(io_error)?;
    file.rewind().map_err(io_error)?;
    file.write_all(record.as_bytes()).map_err(io_error)?;
    file.flush().map_err(io_error)?;
    Ok(PlanLock { _file: file })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_run_of_the_same_plan_is_refused_naming_the_first_journal() {
        let dir = tempfile::tempdir().unwrap();
        let first = take(dir.path(), "abc", Path::new("/runs/one/plan.json.journal")).unwrap();
        match take(dir.path(), "abc", Path::new("/runs/two/j2")) {
            Err(PlanLockError::Busy { journal, pid }) => {
                assert_eq!(journal, "/runs/one/plan.json.journal");
                assert_eq!(pid, std::process::id().to_string());
            }
            other => panic!("{other:?}"),
        }
        // Another plan is not held back, and the lock ends with the run.
        let other = take(dir.path(), "def", Path::new("/runs/two/j2"));
        assert!(other.is_ok());
        drop(first);
        assert!(take(dir.path(), "abc", Path::new("/runs/two/j2")).is_ok());
    }
}
