//! The dry run's shell: the renderers are pure and live in `mailshift_core::review`; here the
//! admin's chosen format picks one, and the checklist and the people list are written to disk.

use crate::cli::Format;
use crate::error::Error;
use hashbrown::HashMap;
use mailshift_core::plan::Plan;
pub use mailshift_core::review::*;
use std::io::{self, Write};
use std::path::Path;

/// The plan in the format the admin asked for, each naming the plan's content hash `sha256`
/// first (JSON: a `content_sha256` member before the plan's own).
pub fn render(plan: &Plan, format: Format, sha256: &str, out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Table => table::render(plan, sha256, out),
        Format::Markdown => markdown::render(plan, sha256, out),
        Format::Csv => spreadsheet::render(plan, sha256, out),
        Format::Json => {
            let body = serde_json::to_vec(plan)?;
            write!(out, "{{\"content_sha256\":\"{sha256}\",")?;
            out.write_all(body.get(1..).unwrap_or_default())?;
            out.write_all(b"\n")
        }
    }
}

/// Writes the IdP checklist whole or not at all.
pub fn write_checklist(path: &Path, plan: &Plan) -> Result<(), Error> {
    crate::private_file::write(path, |out| idp::render(plan, out)).map_err(|source| {
        Error::Checklist {
            path: path.to_owned(),
            source,
        }
    })
}

/// Writes the people list whole or not at all.
pub fn write_people(
    path: &Path,
    plan: &Plan,
    changed_at: &HashMap<u32, String>,
) -> Result<(), Error> {
    crate::private_file::write(path, |out| people::render(plan, changed_at, out)).map_err(
        |source| Error::People {
            path: path.to_owned(),
            source,
        },
    )
}
