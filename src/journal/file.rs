//! The journal file: created 0600, locked for the length of a run, appended to by one thread
//! that writes records in batches and fsyncs each batch before acknowledging any record in it
//! (a group commit), so that a record is durable before the executor acts on it.

use mailshift_core::journal::{
    FORMAT, FORMAT_VERSION, Header, JournalError, Parsed, Record, parse,
};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;

/// Whether an `apply` holds the journal's lock right now.
pub fn is_locked(path: &Path) -> bool {
    File::open(path).is_ok_and(|f| matches!(f.try_lock_shared(), Err(TryLockError::WouldBlock)))
}

/// Keeps a copy of the plan beside the journal (`plan_copy_path`, mode 0600), so that the
/// journal is enough for an undo if the plan file is lost or written over. Written when there
/// is none, or when the one there differs from the plan's bytes; never otherwise.
pub fn keep_plan_copy(journal: &Path, plan_bytes: &[u8]) -> Result<(), JournalError> {
    let copy = mailshift_core::journal::plan_copy_path(journal);
    if std::fs::read(&copy).is_ok_and(|b| b == plan_bytes) {
        return Ok(());
    }
    crate::private_file::write(&copy, |out| out.write_all(plan_bytes)).map_err(|e| {
        JournalError::Write {
            path: copy.clone(),
            kind: e.kind(),
            detail: format!("cannot keep the copy of the plan an undo needs: {e}"),
        }
    })
}

/// A journal opened for a run.
pub struct Opened {
    pub writer: JournalWriter,
    /// What earlier runs recorded (nothing for a new journal).
    pub parsed: Parsed,
    pub created: bool,
}

/// Opens (or creates) the journal for the plan with `plan_sha256`, takes its lock, cuts off a
/// torn last line, and starts the writer. `now` stamps a new header.
pub fn open(
    path: &Path,
    plan_sha256: &str,
    steps: u32,
    sync: bool,
    now: &str,
) -> Result<Opened, JournalError> {
    let open_error = |source| JournalError::Open {
        path: path.to_owned(),
        source,
    };
    let mut options = OpenOptions::new();
    options.read(true).append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(open_error)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            return Err(JournalError::Locked {
                path: path.to_owned(),
            });
        }
        Err(TryLockError::Error(e)) => return Err(open_error(e)),
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(open_error)?;
    let write_error = |e: io::Error| JournalError::Write {
        path: path.to_owned(),
        kind: e.kind(),
        detail: e.to_string(),
    };
    let created = is_unfinished_header(&bytes);
    let parsed = if created {
        let header = Header {
            format: FORMAT.into(),
            format_version: FORMAT_VERSION,
            tool_version: env!("CARGO_PKG_VERSION").into(),
            plan_sha256: plan_sha256.into(),
            steps,
            at: now.into(),
        };
        let mut line = serde_json::to_vec(&header).map_err(|e| write_error(e.into()))?;
        line.push(b'\n');
        file.set_len(0).map_err(write_error)?;
        file.write_all(&line).map_err(write_error)?;
        file.sync_all().map_err(write_error)?;
        sync_parent(path);
        Parsed {
            header,
            records: Vec::new(),
            complete_len: line.len() as u64,
            torn: false,
        }
    } else {
        let parsed = parse(path, &bytes)?;
        if parsed.header.plan_sha256 != plan_sha256 {
            return Err(JournalError::OtherPlan {
                path: path.to_owned(),
                journal: parsed.header.plan_sha256,
                plan: plan_sha256.into(),
            });
        }
        if parsed.torn {
            file.set_len(parsed.complete_len).map_err(write_error)?;
            file.sync_all().map_err(write_error)?;
        }
        parsed
    };
    Ok(Opened {
        writer: JournalWriter::start(file, path.to_owned(), sync),
        parsed,
        created,
    })
}

/// An empty file, or one whose only content is the start of a header that a crash cut short:
/// nothing was sent before the header was on disk, so it is safe to start afresh.
fn is_unfinished_header(bytes: &[u8]) -> bool {
    const START: &[u8] = b"{\"format\":\"mailshift-journal\"";
    !bytes.contains(&b'\n') && {
        let n = bytes.len().min(START.len());
        bytes[..n] == START[..n]
    }
}

/// Reads a journal without locking it (for `status` and reports).
pub fn read(path: &Path) -> Result<Parsed, JournalError> {
    let bytes = std::fs::read(path).map_err(|source| JournalError::Open {
        path: path.to_owned(),
        source,
    })?;
    parse(path, &bytes)
}

/// Reads a journal that must belong to the plan whose content hash is `plan_sha256`.
pub fn read_for(path: &Path, plan_sha256: &str) -> Result<Parsed, JournalError> {
    let parsed = read(path)?;
    if parsed.header.plan_sha256 != plan_sha256 {
        return Err(JournalError::OtherPlan {
            path: path.to_owned(),
            journal: parsed.header.plan_sha256,
            plan: plan_sha256.to_owned(),
        });
    }
    Ok(parsed)
}

/// A new file's name is durable only once its directory is.
fn sync_parent(path: &Path) {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

type Ack = tokio::sync::oneshot::Sender<Result<(), (io::ErrorKind, String)>>;

struct Pending {
    line: Vec<u8>,
    ack: Ack,
}

/// Appends records from any task; each `append` returns once its record is on disk.
pub struct JournalWriter {
    path: PathBuf,
    queue: Option<mpsc::Sender<Pending>>,
    thread: Option<JoinHandle<()>>,
}

impl JournalWriter {
    fn start(file: File, path: PathBuf, sync: bool) -> JournalWriter {
        let (queue, received) = mpsc::channel::<Pending>();
        let thread = std::thread::spawn(move || commit_loop(file, received, sync));
        JournalWriter {
            path,
            queue: Some(queue),
            thread: Some(thread),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `record` and waits until it is durable (fsynced, unless syncing is off).
    pub async fn append(&self, record: &Record) -> Result<(), JournalError> {
        let (ack, acked) = tokio::sync::oneshot::channel();
        let error = |kind, detail| JournalError::Write {
            path: self.path.clone(),
            kind,
            detail,
        };
        let mut line =
            serde_json::to_vec(record).map_err(|e| error(io::ErrorKind::Other, e.to_string()))?;
        line.push(b'\n');
        let stopped = || {
            error(
                io::ErrorKind::BrokenPipe,
                "the journal writer stopped".into(),
            )
        };
        let queue = self.queue.as_ref().ok_or_else(stopped)?;
        queue.send(Pending { line, ack }).map_err(|_| stopped())?;
        match acked.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err((kind, detail))) => Err(error(kind, detail)),
            Err(_) => Err(stopped()),
        }
    }

    /// Waits for every record sent so far to be written, and releases the lock (as dropping does).
    pub fn close(self) {
        drop(self);
    }
}

impl Drop for JournalWriter {
    fn drop(&mut self) {
        self.queue.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Takes every record that is waiting, writes them in one go, syncs once, then acknowledges
/// them all. After the first failure nothing more is written: a later write could land after a
/// partial line, which would damage the file in the middle instead of at its end.
fn commit_loop(mut file: File, received: mpsc::Receiver<Pending>, sync: bool) {
    let mut failed: Option<(io::ErrorKind, String)> = None;
    let mut batch = Vec::new();
    let mut buf = Vec::new();
    while let Ok(first) = received.recv() {
        batch.push(first);
        while let Ok(more) = received.try_recv() {
            batch.push(more);
        }
        if failed.is_none() {
            buf.clear();
            for p in &batch {
                buf.extend_from_slice(&p.line);
            }
            let written = file
                .write_all(&buf)
                .and_then(|()| if sync { file.sync_data() } else { Ok(()) });
            if let Err(e) = written {
                failed = Some((e.kind(), e.to_string()));
            }
        }
        for p in batch.drain(..) {
            let _ = p.ack.send(match &failed {
                None => Ok(()),
                Some((kind, detail)) => Err((*kind, detail.clone())),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::replay;

    fn intent(step: u32) -> Record {
        Record::Intent {
            step: crate::plan::StepId(step),
            attempt: 1,
            at: "t".into(),
        }
    }

    #[tokio::test]
    async fn records_survive_reopening_and_the_lock_excludes_a_second_run() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.json.journal");
        let first = open(&path, "abc", 3, true, "t0").unwrap();
        assert!(first.created);
        assert_eq!(crate::private_file::loose_mode(&path), None);
        first.writer.append(&intent(2)).await.unwrap();
        let err = open(&path, "abc", 3, true, "t1").err().unwrap();
        assert!(matches!(err, JournalError::Locked { .. }), "{err}");
        first.writer.close();

        let again = open(&path, "abc", 3, true, "t1").unwrap();
        assert!(!again.created);
        assert_eq!(again.parsed.header.at, "t0");
        assert_eq!(again.parsed.records, vec![intent(2)]);
        let states = replay(&path, 3, &again.parsed.records, false).unwrap();
        assert!(matches!(
            states[1],
            crate::journal::StepState::InFlight {
                attempt: 1,
                retried: false,
                ..
            }
        ));
    }

    #[test]
    fn a_journal_of_another_plan_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        open(&path, "abc", 3, false, "t").unwrap().writer.close();
        let err = open(&path, "def", 3, false, "t").err().unwrap();
        assert!(matches!(err, JournalError::OtherPlan { .. }), "{err}");
        assert!(err.to_string().contains("belongs to another plan"));
    }

    #[tokio::test]
    async fn a_torn_tail_is_cut_before_appending() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let first = open(&path, "abc", 3, false, "t").unwrap();
        first.writer.append(&intent(1)).await.unwrap();
        first.writer.close();
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"t\":\"done\",\"st").unwrap();
        drop(f);
        let again = open(&path, "abc", 3, false, "t").unwrap();
        assert!(again.parsed.torn);
        again.writer.append(&intent(3)).await.unwrap();
        again.writer.close();
        let parsed = read(&path).unwrap();
        assert!(!parsed.torn);
        assert_eq!(parsed.records, vec![intent(1), intent(3)]);
    }

    #[cfg(unix)]
    #[test]
    fn the_journal_is_private_and_a_loose_one_is_noticed() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        open(&path, "abc", 1, false, "t").unwrap().writer.close();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(crate::private_file::loose_mode(&path), Some(0o644));
    }
}
