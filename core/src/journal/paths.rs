//! Where a plan's records live, by name: the journal beside the plan, and the copy of the plan
//! beside the journal, which an undo reads when the plan file is gone. Names only, no I/O.

use std::path::{Path, PathBuf};

/// `plan.json` → `plan.json.journal`.
pub fn default_path(plan: &Path) -> PathBuf {
    with_suffix(plan, ".journal")
}

/// `plan.json.journal` → `plan.json.journal.plan`: the plan the journal was written for, copied
/// when the journal was first used, and never written again while its content is the same.
pub fn plan_copy_path(journal: &Path) -> PathBuf {
    with_suffix(journal, ".plan")
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}
