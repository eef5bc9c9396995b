//! Parse, run, map the result to an exit code: nothing else lives here.

use clap::Parser;
use std::process::ExitCode;

/// mimalloc rather than the system's allocator: `plan` allocates millions of small strings (three
/// per account, the steps' addresses). On the bench's mixed 1M-account org it ran 1.52-1.62 s
/// with glibc's malloc and 1.21-1.27 s with this one, at 770-795 MB peak against 768 (5 runs
/// each, in turn); at 300k, 0.36-0.38 s against 0.45-0.49, at 269-290 MB against 234-238.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
