//! One `apply` per plan content at a time for this user, whatever journal it names: a lock file
//! keyed by the plan's content hash, in a directory every session of the user agrees on. A
//! second run of the same plan (a copy in another folder, another `--journal`) would send every
//! step twice; it is refused, naming the journal of the run that holds the lock.
//!
//! The directory comes from the password database (the user's home), not from variables a login
//! shell sets and cron, `sudo` or a systemd unit do not; it must belong to the user and be
//! writable by nobody else, and the lock file is opened without following a symbolic link, so
//! another local user can neither split the lock nor point it at a file of the operator's.

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
    /// The lock's directory or file is not this user's alone: another user could split the
    /// lock or turn it against a file of theirs.
    #[error("{}: refusing the plan's lock: {why}. Remove it, or set MAILSHIFT_LOCK_DIR to a directory of your own (mode 0700) in every session that applies this plan", path.display())]
    Unsafe { path: PathBuf, why: String },
    /// No home directory is known for this user.
    #[error(
        "cannot tell where this user's plan locks live (no home directory in the password database nor HOME); set MAILSHIFT_LOCK_DIR to a directory of your own"
    )]
    NoHome,
}

/// Held for the length of a run; dropping it releases the lock.
#[derive(Debug)]
pub struct PlanLock {
    _file: File,
}

/// Where this user's plan locks live: `MAILSHIFT_LOCK_DIR` when given (tests, and hosts whose
/// users share a home), else `.local/state/mailshift/plan-locks` in the home directory the
/// password database gives the effective user, else in `$HOME`. `var` looks up a variable.
pub fn lock_dir(var: &dyn Fn(&str) -> Option<String>) -> Result<PathBuf, PlanLockError> {
    if let Some(dir) = var("MAILSHIFT_LOCK_DIR").filter(|d| !d.trim().is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    let home = password_home()
        .or_else(|| {
            var("HOME")
                .filter(|h| !h.trim().is_empty())
                .map(PathBuf::from)
        })
        .ok_or(PlanLockError::NoHome)?;
    Ok(home.join(".local/state/mailshift/plan-locks"))
}

/// The effective user's home directory in the password database.
#[cfg(unix)]
fn password_home() -> Option<PathBuf> {
    use std::ffi::CStr;
    use std::os::unix::ffi::OsStrExt;
    let mut buf = vec![0u8; 16 * 1024];
    // SAFETY: a zeroed passwd is a valid out-parameter; getpwuid_r writes into `entry` and
    // `buf` (of the length given) and sets `found` to `entry` or null.
    unsafe {
        let mut entry: libc::passwd = std::mem::zeroed();
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        let rc = libc::getpwuid_r(
            libc::geteuid(),
            &raw mut entry,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &raw mut found,
        );
        if rc != 0 || found.is_null() || entry.pw_dir.is_null() {
            return None;
        }
        let dir = CStr::from_ptr(entry.pw_dir).to_bytes();
        (!dir.is_empty()).then(|| PathBuf::from(std::ffi::OsStr::from_bytes(dir)))
    }
}

#[cfg(not(unix))]
fn password_home() -> Option<PathBuf> {
    None
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
    check_owned(dir, true)?;
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    }
    let mut file = options.open(&path).map_err(|source| {
        if source.raw_os_error() == Some(libc::ELOOP) {
            PlanLockError::Unsafe {
                path: path.clone(),
                why: "it is a symbolic link".into(),
            }
        } else {
            io_error(source)
        }
    })?;
    check_owned(&path, false)?;
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

/// The directory (or file) at `path` is this user's and nobody else may write it; a directory
/// is not a symbolic link.
#[cfg(unix)]
fn check_owned(path: &Path, directory: bool) -> Result<(), PlanLockError> {
    use std::os::unix::fs::MetadataExt;
    let unsafe_because = |why: String| PlanLockError::Unsafe {
        path: path.to_owned(),
        why,
    };
    let meta = std::fs::symlink_metadata(path).map_err(|source| PlanLockError::Io {
        path: path.to_owned(),
        source,
    })?;
    if meta.file_type().is_symlink() {
        return Err(unsafe_because("it is a symbolic link".into()));
    }
    if directory != meta.is_dir() || (!directory && !meta.is_file()) {
        return Err(unsafe_because(if directory {
            "it is not a directory".into()
        } else {
            "it is not a plain file".into()
        }));
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me {
        return Err(unsafe_because(format!(
            "it belongs to {}, not to you ({})",
            user_name(meta.uid()),
            user_name(me)
        )));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(unsafe_because(format!(
            "others may write it (mode {:o})",
            meta.mode() & 0o7777
        )));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_owned(_path: &Path, _directory: bool) -> Result<(), PlanLockError> {
    Ok(())
}

/// A user's name from the password database, else `uid N`.
#[cfg(unix)]
fn user_name(uid: u32) -> String {
    use std::ffi::CStr;
    let mut buf = vec![0u8; 16 * 1024];
    // SAFETY: as in `password_home`.
    let name = unsafe {
        let mut entry: libc::passwd = std::mem::zeroed();
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        let rc = libc::getpwuid_r(
            uid,
            &raw mut entry,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &raw mut found,
        );
        (rc == 0 && !found.is_null() && !entry.pw_name.is_null())
            .then(|| CStr::from_ptr(entry.pw_name).to_string_lossy().into_owned())
    };
    name.map_or_else(|| format!("uid {uid}"), |n| format!("{n} (uid {uid})"))
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

    #[test]
    fn every_session_of_the_user_agrees_on_the_lock_directory() {
        // A login shell sets XDG_RUNTIME_DIR and TMPDIR; cron and sudo do not.
        let login = |name: &str| match name {
            "XDG_RUNTIME_DIR" => Some("/run/user/1000".to_owned()),
            "TMPDIR" => Some("/tmp/session-x".to_owned()),
            "HOME" => Some("/home/somebody".to_owned()),
            _ => None,
        };
        let cron = |name: &str| (name == "HOME").then(|| "/home/somebody".to_owned());
        let bare = |_: &str| None;
        let dir = lock_dir(&login).unwrap();
        assert_eq!(lock_dir(&cron).unwrap(), dir);
        if password_home().is_some() {
            assert_eq!(lock_dir(&bare).unwrap(), dir);
        }
        assert!(
            !dir.starts_with("/run/user") && !dir.starts_with("/tmp"),
            "{dir:?}"
        );
        let given = |name: &str| (name == "MAILSHIFT_LOCK_DIR").then(|| "/srv/locks".to_owned());
        assert_eq!(lock_dir(&given).unwrap(), PathBuf::from("/srv/locks"));
    }

    #[cfg(unix)]
    #[test]
    fn a_directory_others_may_write_is_refused_and_a_symlinked_lock_is_never_followed() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let shared = dir.path().join("shared");
        std::fs::create_dir(&shared).unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
        match take(&shared, "abc", Path::new("j")) {
            Err(PlanLockError::Unsafe { why, .. }) => assert!(why.contains("777"), "{why}"),
            other => panic!("{other:?}"),
        }
        // Someone points the lock file at a file of the operator's: it is not opened, let
        // alone truncated.
        let mine = dir.path().join("mine");
        std::fs::create_dir(&mine).unwrap();
        let precious = dir.path().join("precious.txt");
        std::fs::write(&precious, "keep me").unwrap();
        std::os::unix::fs::symlink(&precious, mine.join("abc.lock")).unwrap();
        match take(&mine, "abc", Path::new("j")) {
            Err(PlanLockError::Unsafe { why, .. }) => assert!(why.contains("symbolic"), "{why}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(std::fs::read_to_string(&precious).unwrap(), "keep me");
        // A symlinked directory is refused too.
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&mine, &link).unwrap();
        assert!(matches!(
            take(&link, "def", Path::new("j")),
            Err(PlanLockError::Unsafe { .. })
        ));
    }
}
