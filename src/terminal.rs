//! How much mailshift says on the terminal, set once from `--quiet`/`--verbose`, and the one way
//! to write to standard output that treats a reader gone away (`| head`) as the end of output,
//! not an error. Progress notes go to standard error; results to standard output. Text on
//! either passes through `mailshift_core::inert`, so no name or server body acts on the terminal.

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
        say_args(args);
    }
}

/// Writes a line to standard error whatever the verbosity, with every character that acts on a
/// terminal escaped but line breaks and tabs; a closed standard error is ignored.
pub fn say_args(args: std::fmt::Arguments<'_>) {
    let text = args.to_string();
    let _ = writeln!(
        io::stderr().lock(),
        "{}",
        mailshift_core::inert::lines(&text)
    );
}

/// `say!("...", args)`: a line on standard error, shown even with `--quiet`.
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::terminal::say_args(format_args!($($arg)*))
    };
}
pub(crate) use say;

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
    let text = args.to_string();
    let text = mailshift_core::inert::lines(&text);
    let _ = writeln!(anstream::stderr().lock(), "{style}warning:{style:#} {text}");
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
    let text = error.to_string();
    let _ = writeln!(
        anstream::stderr().lock(),
        "mailshift: {style}error:{style:#} {}",
        mailshift_core::inert::lines(&text)
    );
}

/// Standard output failed for a reason other than a closed pipe.
#[derive(Debug, thiserror::Error)]
#[error("cannot write to standard output: {0}")]
pub struct OutputError(#[source] pub io::Error);

/// Writes text results through `fill` to standard output, buffered; a closed pipe ends the
/// output quietly, any other failure is an error. Whatever a renderer let through, no
/// character that acts on a terminal reaches it: line breaks and tabs pass, the rest is shown
/// escaped (`\u{1b}`).
pub fn print(fill: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<(), OutputError> {
    write_out(|stdout| {
        let mut out = io::BufWriter::with_capacity(1 << 16, Inert::new(stdout));
        fill(&mut out).and_then(|()| out.flush())
    })
}

/// Writes JSON, CSV or a script to standard output as `fill` makes it: those formats escape
/// their own text, and a terminal escape would change their content.
pub fn print_data(fill: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<(), OutputError> {
    write_out(|stdout| {
        let mut out = io::BufWriter::with_capacity(1 << 16, stdout);
        fill(&mut out).and_then(|()| out.flush())
    })
}

fn write_out(
    fill: impl FnOnce(io::StdoutLock<'static>) -> io::Result<()>,
) -> Result<(), OutputError> {
    match fill(io::stdout().lock()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(OutputError(e)),
        _ => Ok(()),
    }
}

/// A writer that passes text on with every character that acts on a terminal escaped, except
/// line breaks and tabs. A character split between two writes waits for its last bytes.
pub struct Inert<W: Write> {
    inner: W,
    tail: Vec<u8>,
}

impl<W: Write> Inert<W> {
    pub fn new(inner: W) -> Self {
        Inert {
            inner,
            tail: Vec::new(),
        }
    }
}

impl<W: Write> Inert<W> {
    /// Writes the text of `bytes` escaped; returns how many bytes at its end are a character
    /// cut short, to wait for.
    fn pass(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let mut rest = bytes;
        loop {
            match std::str::from_utf8(rest) {
                Ok(text) => {
                    self.inner
                        .write_all(mailshift_core::inert::lines(text).as_bytes())?;
                    return Ok(0);
                }
                Err(e) => {
                    let (valid, after) = rest.split_at(e.valid_up_to());
                    let text = std::str::from_utf8(valid).unwrap_or_default();
                    self.inner
                        .write_all(mailshift_core::inert::lines(text).as_bytes())?;
                    // A character cut short: its last bytes come with the next write.
                    let Some(n) = e.error_len() else {
                        return Ok(after.len());
                    };
                    // Not UTF-8: shown as the replacement character, never raw.
                    self.inner.write_all("\u{fffd}".as_bytes())?;
                    rest = &after[n..];
                }
            }
        }
    }
}

impl<W: Write> Write for Inert<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // Text goes through as it comes; only a character cut short between two writes is
        // kept, and joined to the next write.
        let mut held = std::mem::take(&mut self.tail);
        let bytes = if held.is_empty() {
            buf
        } else {
            held.extend_from_slice(buf);
            &held
        };
        let cut = self.pass(bytes)?;
        self.tail = bytes[bytes.len() - cut..].to_vec();
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.tail.is_empty() {
            self.inner.write_all("\u{fffd}".as_bytes())?;
            self.tail.clear();
        }
        self.inner.flush()
    }
}

/// One line of results on standard output, as `print` writes it.
pub fn line(text: &str) -> Result<(), OutputError> {
    print(|out| writeln!(out, "{text}"))
}

#[cfg(test)]
mod tests {
    use super::Inert;
    use std::io::Write;

    #[test]
    fn the_last_net_escapes_what_acts_and_waits_for_a_split_character() {
        let mut out = Inert::new(Vec::new());
        let text = "Zoë\u{1b}[2J\u{202e}\n\tok";
        let bytes = text.as_bytes();
        // Cut inside the two bytes of `ë`.
        out.write_all(&bytes[..3]).unwrap();
        out.write_all(&bytes[3..]).unwrap();
        out.write_all(b"\xff!").unwrap();
        out.flush().unwrap();
        let written = String::from_utf8(out.inner).unwrap();
        assert_eq!(written, "Zoë\\u{1b}[2J\\u{202e}\n\tok\u{fffd}!");
    }
}
