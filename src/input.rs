//! The admin's files: parsing is pure and lives in `mailshift_core::input`; here a file is read
//! from disk, once, into the bytes the parsers and the plan's hash share.

pub use mailshift_core::input::*;
use std::path::Path;

/// Reads `path` whole.
pub fn read(path: &Path) -> Result<SourceFile, InputError> {
    let bytes = std::fs::read(path).map_err(|source| InputError::Read {
        path: path.to_owned(),
        source,
    })?;
    Ok(SourceFile {
        path: path.to_owned(),
        bytes,
    })
}
