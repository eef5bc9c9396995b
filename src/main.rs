//! Parse, run, map the result to an exit code: nothing else lives here.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    ignore_file_size_signal();
    let cli = match mailshift::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // Exit code 2 means "plan written with blocked items", so usage errors are plain errors.
            return ExitCode::from(u8::from(e.use_stderr()));
        }
    };
    let result = mailshift::run(cli);
    if let Err(e) = &result {
        mailshift::terminal::error(e);
    }
    ExitCode::from(mailshift::exit_code(&result))
}

/// A write past the file-size limit (`ulimit -f`) would kill the process with SIGXFSZ and no
/// word; ignored, the write fails with EFBIG and the journal's error says what happened.
fn ignore_file_size_signal() {
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to SIG_IGN before any thread starts.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}
