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
    keep_freed_memory();
    no_transparent_huge_pages();
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

/// mimalloc's `mi_option_purge_delay` (its place in `mi_option_e`, which the binding does not
/// name; the test below checks it by its documented default).
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Memory freed stays with the process for reuse instead of going back to the system a second
/// later, mimalloc's default. `plan` frees and allocates again hundreds of MB as it goes (the
/// files read, tables that grow, the plan file's chunks); given back, each page must be faulted
/// in and zeroed again, which on a virtual machine can cost more than the work. On the bench's
/// mixed 1M-account org (9 runs each, in turn) the median went from 1.190 s to 1.154 s, the
/// fastest from 1.034 s to 1.016 s and the slowest from 1.988 s to 1.268 s; peak memory 757-759
/// MiB, was 747-757.
fn keep_freed_memory() {
    // SAFETY: sets one of mimalloc's options; it takes any value, -1 meaning never.
    unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, -1) }
}

/// No transparent huge pages for this process: mimalloc asks the kernel for them
/// (`MADV_HUGEPAGE`), and where the kernel compacts memory to find them on the fault itself
/// (`defrag` set to `madvise`, the usual default), the first touch of each 2 MiB waits on it.
/// On the bench's mixed 1M-account org (20 runs in turn with a build without it), `plan` took
/// a median 1.949 s, 0.843 s of it in the kernel (1.786 s at worst); without them, 1.569 s and
/// 0.433 s.
fn no_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: sets a flag of this process; no pointer is passed. Where the kernel refuses, the
    // process runs as before.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_is_given_no_transparent_huge_pages() {
        no_transparent_huge_pages();
        // SAFETY: reads a flag of this process; no pointer is passed.
        assert_eq!(
            unsafe { libc::prctl(libc::PR_GET_THP_DISABLE, 0, 0, 0, 0) },
            1
        );
    }

    #[test]
    fn freed_memory_is_kept_by_the_option_mimalloc_documents_for_it() {
        // SAFETY: reads and sets mimalloc's options, which any thread may do.
        unsafe {
            // Its default (1,000 ms in mimalloc 3) says the index names the purge delay.
            assert_eq!(libmimalloc_sys::mi_option_get(PURGE_DELAY), 1000);
            keep_freed_memory();
            assert_eq!(libmimalloc_sys::mi_option_get(PURGE_DELAY), -1);
        }
    }
}
