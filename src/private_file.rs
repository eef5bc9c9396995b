//! Files that hold names and addresses (plans, journals, reports, dumps): written whole or not at
//! all, mode 0600, and a warning when one is open to other users.

use std::io::{self, BufWriter, Write};
use std::path::Path;

/// Writes through `fill` into a temporary file beside `path`, created 0600, synced, then renamed
/// over `path`. If anything fails, the temporary file is removed and `path` is untouched.
pub fn write<T>(path: &Path, fill: impl FnOnce(&mut dyn Write) -> io::Result<T>) -> io::Result<T> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".mailshift-");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o600));
    }
    let tmp = builder.tempfile_in(dir)?;
    let mut out = BufWriter::with_capacity(1 << 20, tmp);
    let value = fill(&mut out)?;
    let tmp = out
        .into_inner()
        .map_err(std::io::IntoInnerError::into_error)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    // The rename is durable only once the directory is; failing that is not worth failing the run.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(value)
}

/// The file's permission bits when users other than its owner may read or write it; files that
/// hold names and addresses should be 0600.
pub fn loose_mode(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
        (mode & 0o077 != 0).then_some(mode)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// Plans and journals hold names and addresses: the warning to give when the file is open to
/// others, if it is. The caller says it.
pub fn loose_warning(path: &Path) -> Option<String> {
    warning_holding(path, "names and addresses")
}

/// The warning to give when the API key's file can be read by other users of the machine.
pub fn key_loose_warning(path: &Path) -> Option<String> {
    warning_holding(
        path,
        "the API key, which can change every address in the org",
    )
}

fn warning_holding(path: &Path, holds: &str) -> Option<String> {
    loose_mode(path).map(|mode| {
        format!(
            "{} can be read by other users (mode {mode:o}) and holds {holds}; run chmod 600 on it",
            path.display()
        )
    })
}

/// Makes a directory for such files (and its parents), 0700 when it is new.
pub fn create_dir(path: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(path)
}
