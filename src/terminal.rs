//! How much mailshift says on the terminal, set once from `--quiet`/`--verbose`, and the one way
//! to write to standard output that treats a reader gone away (`| head`) as the end of output,
//! not an error. Progress notes go to standard error; results to standard output.

use std::io::{self, Write};
use std::sync::atomic::{AtomicU8, Ordering};

/// How much is said besides results, warnings and errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// `-q`: results, warnings and errors only.
    Quiet = 0,
    Normal = 1,
    /// `-v`: also every request's outcome during `apply`.
    Verbose = 2,
}

static LEVEL: AtomicU8 = AtomicU8::new(Verbosity::Normal as u8);

/// Set once by `run`, before any command starts.
pub fn set(level: Verbosity) {
    LEVEL.store(level as u8, Ordering::Relaxed);
}

pub fn level() -> Verbosity {
    match LEVEL.load(Ordering::Relaxed) {
        0 => Verbosity::Quiet,
        1 => Verbosity::Normal,
        _ => Verbosity::Verbose,
    }
}

/// Writes a progress note to standard error unless `--quiet`; a closed standard error is ignored.
pub fn note_args(args: std::fmt::Arguments<'_>) {
    if level() > Verbosity::Quiet {
        let _ = writeln!(io::stderr().lock(), "{args}");
    }
}

/// `note!("...", args)`: a progress note, silenced by `--quiet`.
macro_rules! note {
    ($($arg:tt)*) => {
        $crate::terminal::note_args(format_args!($($arg)*))
    };
}
pub(crate) use note;

/// Writes a warning to standard error, whatever the verbosity; "warning:" is yellow on a
/// terminal unless `NO_COLOR` is set (anstream decides).
pub fn warn_args(args: std::fmt::Arguments<'_>) {
    let style = anstyle::AnsiColor::Yellow.on_default().bold();
    let _ = writeln!(anstream::stderr().lock(), "{style}warning:{style:#} {args}");
}

/// `caution!("...", args)`: a warning, shown even with `--quiet`.
macro_rules! caution {
    ($($arg:tt)*) => {
        $crate::terminal::warn_args(format_args!($($arg)*))
    };
}
pub(crate) use caution;

/// Writes the error that ended the command: "error:" in red on a terminal, unless `NO_COLOR`.
pub fn error(error: &dyn std::fmt::Display) {
    let style = anstyle::AnsiColor::Red.on_default().bold();
    let _ = writeln!(
        anstream::stderr().lock(),
        "mailshift: {style}error:{style:#} {error}"
    );
}

/// Standard output failed for a reason other than a closed pipe.
#[derive(Debug, thiserror::Error)]
#[error("cannot write to standard output: {0}")]
pub struct OutputError(#[source] pub io::Error);

/// Writes results through `fill` to standard output, buffered; a closed pipe ends the output
/// quietly, any other failure is an error.
pub fn print(fill: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<(), OutputError> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(1 << 16, stdout.lock());
    match fill(&mut out).and_then(|()| out.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(OutputError(e)),
        _ => Ok(()),
    }
}

/// One line of results on standard output, as `print` writes it.
pub fn line(text: &str) -> Result<(), OutputError> {
    print(|out| writeln!(out, "{text}"))
}
