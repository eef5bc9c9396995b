//! The API key never leaves the environment it came from: after plan, apply (with server errors,
//! 429s, a failed step and `-v` logging), status, verify and rollback, and after a run with a
//! key the server refuses, no file the runs wrote, no output and no argv holds either key. The
//! files that hold names and addresses are 0600, and a loose one is warned about.
#![cfg(unix)]

mod support;

use mailshift::sim::faults::FaultConfig;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::Duration;
use support::*;

/// A key the simulator does not accept, to exercise the refused-key path.
const WRONG_KEY: &str = "wrong-key-9b3e11";

struct Seen {
    outputs: Vec<(String, Vec<u8>)>,
    argvs: Vec<Vec<u8>>,
}

impl Seen {
    /// Runs the binary with `key` in the environment, reading its argv from /proc while it runs.
    fn run(&mut self, dir: &Path, key: &str, args: &[String]) -> Output {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let child = command(dir, &args)
            .env("ATLASSIAN_API_KEY", key)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Not yet reaped, so the entry is there even if the process has ended (then empty).
        // Empty while the exec is still being set up, and once the process has ended: look
        // again for a moment.
        let mut argv = Vec::new();
        for _ in 0..50 {
            argv = std::fs::read(format!("/proc/{}/cmdline", child.id())).unwrap();
            if !argv.is_empty() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        if !argv.is_empty() {
            let passed: Vec<&str> = std::iter::once(env!("CARGO_BIN_EXE_mailshift"))
                .chain(args.iter().copied())
                .collect();
            assert_eq!(argv, format!("{}\0", passed.join("\0")).into_bytes());
        }
        self.argvs.push(argv);
        let out = child.wait_with_output().unwrap();
        let name = args.join(" ");
        self.outputs
            .push((format!("stdout of {name}"), out.stdout.clone()));
        self.outputs
            .push((format!("stderr of {name}"), out.stderr.clone()));
        out
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

#[test]
fn no_file_output_or_argv_holds_the_key_and_private_files_are_0600() {
    let dir = tempfile::tempdir().unwrap();
    let (accounts, targets) = generated_org(Shapes {
        renames: 60,
        frees: 5,
        chains: 3,
        swaps: 3,
        cycles: 2,
    });
    std::fs::write(dir.path().join("accounts.csv"), &accounts).unwrap();
    std::fs::write(dir.path().join("targets.csv"), &targets).unwrap();
    let clean = || SimSetup {
        verified: vec!["old.example".into(), "new.example".into()],
        // r7's target is held outside the org: that step fails with the holder named.
        external: vec!["r7@new.example".into()],
        ..SimSetup::default()
    };
    let mut sim = serve(dir.path(), clean());
    let mut seen = Seen {
        outputs: Vec::new(),
        argvs: Vec::new(),
    };
    let live = |url: &str, args: &[&str]| -> Vec<String> {
        let mut all: Vec<String> = args.iter().map(std::string::ToString::to_string).collect();
        all.extend(["--api-url", url, "--org-id", "org-1"].map(String::from));
        all
    };
    let offline = |args: &[&str]| -> Vec<String> {
        args.iter().map(std::string::ToString::to_string).collect()
    };

    let out = seen.run(
        dir.path(),
        KEY,
        &live(
            &sim.url(),
            &[
                "-v",
                "plan",
                "--accounts",
                "accounts.csv",
                "--targets",
                "targets.csv",
                "--out",
                "plan.json",
                "--format",
                "markdown",
                "--rate",
                "1000",
            ],
        ),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    // The applies meet server errors, dropped connections, writes that land but answer 5xx,
    // and 429s with and without Retry-After.
    sim = sim.restart(SimSetup {
        rate: Some((200.0, 20)),
        faults: FaultConfig {
            error_share: 0.1,
            ambiguous_share: 0.1,
            drop_share: 0.02,
            retry_after_share: 0.5,
            latency: Duration::from_millis(1),
            ..FaultConfig::default()
        },
        ..clean()
    });
    let url = sim.url();
    let refused = seen.run(
        dir.path(),
        WRONG_KEY,
        &live(&url, &["apply", "plan.json", "--yes", "--rate", "100"]),
    );
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused.stderr).contains("the API key was refused (401)"),
        "{}",
        text(&refused.stderr)
    );
    let apply = [
        "-v",
        "apply",
        "plan.json",
        "--yes",
        "--backoff-ms",
        "10",
        "--timeout",
        "2",
        "--settle",
        "0",
        "--rate",
        "500",
        "--report",
        "report.csv",
    ];
    let out = seen.run(dir.path(), KEY, &live(&url, &apply));
    let log = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "one step fails: {log}");
    assert!(log.contains("r7@new.example"), "{log}");
    assert!(log.contains("retry"), "-v logged no retry: {log}");

    sim = sim.restart(clean());
    let url = sim.url();
    for args in [
        offline(&["status", "plan.json"]),
        offline(&["status", "plan.json", "--json"]),
        live(&url, &["-v", "verify", "plan.json", "--recheck-delay", "0"]),
        live(
            &url,
            &["verify", "plan.json", "--json", "--recheck-delay", "0"],
        ),
        live(&url, &["rollback", "plan.json", "--out", "rollback.json"]),
    ] {
        let out = seen.run(dir.path(), KEY, &args);
        assert!(
            matches!(out.status.code(), Some(0 | 3)),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }

    let mut written = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name == "accounts.csv" || name == "targets.csv" {
            continue;
        }
        // The plan locks (the tests' MAILSHIFT_LOCK_DIR is in the test's directory): a 0700
        // directory of 0600 files, which hold no key either.
        if name == ".plan-locks" {
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700, "{name} is {mode:o}");
            for lock in std::fs::read_dir(&path).unwrap() {
                let lock = lock.unwrap().path();
                let mode = std::fs::metadata(&lock).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{} is {mode:o}", lock.display());
                seen.outputs
                    .push(("plan lock".into(), std::fs::read(&lock).unwrap()));
            }
            continue;
        }
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{name} is {mode:o}");
        seen.outputs
            .push((name.clone(), std::fs::read(&path).unwrap()));
        written.push(name);
    }
    written.sort();
    assert_eq!(
        written,
        [
            "plan.json",
            "plan.json.journal",
            "plan.json.journal.plan",
            "plan.json.pace",
            "report.csv",
            "rollback.json"
        ]
    );
    assert_eq!(seen.argvs.len(), 8, "argv read from /proc for every run");
    assert!(
        seen.argvs.iter().any(|a| !a.is_empty()),
        "every run ended before its argv could be read"
    );
    for (what, bytes) in seen
        .outputs
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .chain(seen.argvs.iter().map(|a| ("argv", a.as_slice())))
    {
        for key in [KEY, WRONG_KEY] {
            assert!(!contains(bytes, key), "{what} holds the key {key}");
        }
    }

    // Someone loosened the files: every command that reads them says so.
    for name in ["plan.json", "plan.json.journal"] {
        let path = dir.path().join(name);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    for args in [
        offline(&["status", "plan.json"]),
        live(&url, &["verify", "plan.json", "--recheck-delay", "0"]),
        live(&url, &["rollback", "plan.json", "--out", "rollback.json"]),
        live(&url, &["apply", "plan.json", "--yes", "--rate", "500"]),
    ] {
        let out = seen.run(dir.path(), KEY, &args);
        let stderr = text(&out.stderr);
        for name in ["plan.json ", "plan.json.journal "] {
            assert!(
                stderr.contains(&format!(
                    "warning: {name}can be read by other users (mode 644)"
                )),
                "{} did not warn about {name}: {stderr}",
                args[0]
            );
        }
    }
}

#[test]
fn a_key_file_others_can_read_is_warned_about_and_a_private_one_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let (accounts, targets) = generated_org(Shapes::renames(2));
    plan_in(dir.path(), &accounts, &targets);
    let key_file = dir.path().join("key.txt");
    std::fs::write(&key_file, format!("{KEY}\n")).unwrap();
    let status = |mode: u32| {
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(mode)).unwrap();
        // verify reads the key before anything else; no server is needed to see the warning.
        let out = command(
            dir.path(),
            &[
                "verify",
                "plan.json",
                "--api-key-file",
                "key.txt",
                "--org-id",
                "org-1",
                "--api-url",
                "http://127.0.0.1:9",
            ],
        )
        .env_remove("ATLASSIAN_API_KEY")
        .output()
        .unwrap();
        text(&out.stderr)
    };
    let loose = status(0o644);
    assert!(
        loose.contains(
            "warning: key.txt can be read by other users (mode 644) and holds the API key"
        ),
        "{loose}"
    );
    assert!(!loose.contains(KEY), "{loose}");
    let private = status(0o600);
    assert!(!private.contains("key.txt can be read"), "{private}");
}
