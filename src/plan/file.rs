//! The plan file on disk: read whole, and written atomically with mode 0600 because it holds
//! names and addresses. The format (encode, decode, the version rules) is
//! `mailshift_core::plan::format`.

use mailshift_core::plan::Plan;
pub use mailshift_core::plan::format::*;
use std::path::Path;

/// What record of a run `path` holds, if any, in words.
fn record_at(path: &Path) -> Option<String> {
    use mailshift_core::journal::{FORMAT, default_path};
    let journal = default_path(path);
    if path.exists() && journal.exists() {
        return Some(format!(
            "it is a plan whose journal {} records its runs",
            journal.display()
        ));
    }
    let name = path.file_name()?.to_string_lossy();
    if name.ends_with(".journal.plan") {
        return Some("it is a journal's copy of its plan".into());
    }
    let mut head = [0u8; 64];
    let read = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
        .ok()?;
    let head = String::from_utf8_lossy(&head[..read]);
    head.contains(&format!("\"format\":\"{FORMAT}\""))
        .then(|| "it is a mailshift journal".into())
}

pub fn read(path: &Path) -> Result<Plan, PlanFileError> {
    read_hashed(path).map(|(plan, _)| plan)
}

/// `read`, also returning the content hash.
pub fn read_hashed(path: &Path) -> Result<(Plan, String), PlanFileError> {
    let bytes = std::fs::read(path).map_err(|source| PlanFileError::Read {
        path: path.to_owned(),
        source,
    })?;
    decode_hashed(path, &bytes)
}

/// Writes the plan to `path` whole or not at all, mode 0600. Returns the content hash. Never
/// over the record of a run: a plan with a journal beside it, a journal, or a journal's copy of
/// its plan.
pub fn write(path: &Path, plan: &Plan) -> Result<String, PlanFileError> {
    if let Some(what) = record_at(path) {
        return Err(PlanFileError::WouldReplaceRecord {
            path: path.to_owned(),
            what,
        });
    }
    crate::private_file::write(path, |out| write_to(plan, out)).map_err(|source| {
        PlanFileError::Write {
            path: path.to_owned(),
            source,
        }
    })
}
