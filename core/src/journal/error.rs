//! Why a journal cannot be used: the one error type of the journal, shared by the pure replay and
//! the file that the binary keeps.

use std::io;
use std::path::PathBuf;

/// Why a journal cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// The journal cannot be created, read or locked.
    #[error("{}: cannot open the journal: {source}", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Another `apply` holds the journal's lock.
    #[error("{}: another mailshift apply is running with this journal (it is locked); let it finish or stop it first", path.display())]
    Locked { path: PathBuf },
    /// The file is not a mailshift journal.
    #[error("{}: not a mailshift journal: {detail}", path.display())]
    NotAJournal { path: PathBuf, detail: String },
    /// Written by a newer mailshift.
    #[error("{}: journal format version {found} is newer than this mailshift understands (up to {supported})", path.display())]
    NewerFormat {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    /// A line other than the last cannot be read: the file was edited or damaged.
    #[error("{}:{line}: the journal is damaged: {detail}", path.display())]
    Damaged {
        path: PathBuf,
        line: usize,
        detail: String,
    },
    /// The journal was made for another plan.
    #[error("{}: this journal belongs to another plan (its plan SHA-256 is {journal}, this plan's is {plan}); give the plan it was made for, or choose another --journal for this one", path.display())]
    OtherPlan {
        path: PathBuf,
        journal: String,
        plan: String,
    },
    /// The journal's runs wrote to another API or org: what it calls done was done there.
    #[error("{}: this journal records a run against {} (org {}), and this run is against {} (org {}); its steps were done there, not here. Give this run a journal of its own with --journal FILE (keep this one for that API), or give the API and org it was made with", path.display(), there.api, there.org, here.api, here.org)]
    OtherPlace {
        path: PathBuf,
        there: super::place::Place,
        here: super::place::Place,
    },
    /// Appending or syncing failed (disk full, directory gone, I/O error). No write is sent to
    /// the API without its record on disk, so the run stops.
    #[error("{}: cannot write the journal: {detail}; no further changes are sent. Fix the cause (free space, permissions), then run the same command again to resume", path.display())]
    Write {
        path: PathBuf,
        kind: io::ErrorKind,
        detail: String,
    },
}
