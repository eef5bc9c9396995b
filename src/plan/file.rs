//! The plan file on disk: read whole, and written atomically with mode 0600 because it holds
//! names and addresses. The format (encode, decode, the version rules) is
//! `mailshift_core::plan::file`.

use mailshift_core::plan::Plan;
pub use mailshift_core::plan::file::*;
use std::path::Path;

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

/// Writes the plan to `path` whole or not at all, mode 0600. Returns the content hash.
pub fn write(path: &Path, plan: &Plan) -> Result<String, PlanFileError> {
    crate::private_file::write(path, |out| write_to(plan, out)).map_err(|source| {
        PlanFileError::Write {
            path: path.to_owned(),
            source,
        }
    })
}
