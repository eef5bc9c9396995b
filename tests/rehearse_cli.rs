//! `mailshift rehearse` as an admin runs it on the bundled fixtures: the whole migration against
//! the in-process simulator, with faults, ending in a verdict and the files to look at.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Output};

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// `mailshift rehearse` of the fixtures in `dir`, with no simulated latency.
fn fixtures_rehearsal(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mailshift"));
    command
        .current_dir(dir)
        .arg("rehearse")
        .arg("--accounts")
        .arg(fixture("accounts.csv"))
        .arg("--targets")
        .arg(fixture("targets.csv"))
        .args([
            "--verified-domains",
            "companya.example,companyb.example",
            "--latency-ms",
            "0",
            "--jitter-ms",
            "0",
        ]);
    command
}

fn rehearse(dir: &Path, extra: &[&str]) -> Output {
    fixtures_rehearsal(dir)
        .args(["--rate", "200", "--apply-rate", "200", "--backoff-ms", "20"])
        .args(extra)
        .output()
        .unwrap()
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Account ID -> email, from the simulated org as the rehearsal left it.
fn accounts_after(dir: &Path) -> HashMap<String, String> {
    let mut reader = csv::Reader::from_path(dir.join("rehearsal/accounts-after.csv")).unwrap();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[0].to_owned(), r[2].to_owned())
        })
        .collect()
}

#[test]
fn a_rehearsal_under_faults_ends_with_every_planned_account_at_its_target() {
    let dir = tempfile::tempdir().unwrap();
    let out = rehearse(
        dir.path(),
        &[
            "--error-share",
            "0.2",
            "--ambiguous-share",
            "0.1",
            "--seed",
            "5",
        ],
    );
    let (stdout, stderr) = text(&out);
    // 2: applied and verified, but the fixtures' bad rows are blocked on purpose.
    assert_eq!(out.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("verdict      every planned change landed and verified"),
        "{stdout}"
    );
    assert!(stdout.contains("Blocked, not planned"), "{stdout}");
    assert!(stdout.contains("users signed out     13"), "{stdout}");
    let faults = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("faults met"))
        .unwrap();
    let errors: u64 = faults.split_whitespace().nth(2).unwrap().parse().unwrap();
    assert!(errors > 0, "the rehearsal met no fault at 20%: {faults}");

    let plan: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("rehearsal/plan.json")).unwrap())
            .unwrap();
    let after = accounts_after(dir.path());
    let renames: Vec<_> = plan["plan"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == "rename")
        .collect();
    assert_eq!(renames.len(), 12);
    for step in renames {
        let id = step["account_id"].as_str().unwrap();
        assert_eq!(after[id], step["to"].as_str().unwrap(), "{id}");
    }
    #[cfg(unix)]
    for name in [
        "plan.json",
        "plan.json.journal",
        "report.csv",
        "accounts-after.csv",
    ] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("rehearsal").join(name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{name}");
    }
}

#[test]
fn a_holder_the_plan_cannot_see_fails_the_rehearsal_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let out = rehearse(
        dir.path(),
        &["--external-holder", "ann.lee@companyb.example"],
    );
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("ann.lee@companyb.example is held by an account outside this org"),
        "{stdout}"
    );
    assert!(stdout.contains("verdict      not ready"), "{stdout}");
    assert!(stdout.contains("15 of 16 done, 1 failed"), "{stdout}");
}

#[test]
fn a_second_rehearsal_in_the_same_place_starts_over() {
    let dir = tempfile::tempdir().unwrap();
    let clean = [
        "--error-share",
        "0",
        "--drop-share",
        "0",
        "--ambiguous-share",
        "0",
    ];
    let first = rehearse(dir.path(), &clean);
    assert_eq!(first.status.code(), Some(2), "{:?}", text(&first));
    let second = rehearse(dir.path(), &clean);
    let (stdout, stderr) = text(&second);
    assert_eq!(second.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(!stderr.contains("Resuming"), "{stderr}");
    assert!(stdout.contains("16 of 16 done"), "{stdout}");
    // Every step sent once: nothing was taken as done from the first rehearsal's journal.
    assert!(stdout.contains("this run sent 16 writes"), "{stdout}");
}

/// Starts a rehearsal of the fixtures, presses Ctrl-C once stdout shows `heading` (and a little
/// more), and returns what it said.
fn interrupted_at(heading: &str, extra: &[&str]) -> (Output, String) {
    interrupted_after(heading, std::time::Duration::from_millis(1500), extra)
}

/// `interrupted_at`, pressing Ctrl-C `after` the heading.
fn interrupted_after(
    heading: &str,
    after: std::time::Duration,
    extra: &[&str],
) -> (Output, String) {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    let mut child = fixtures_rehearsal(dir.path())
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, heard) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line.clone());
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while let Ok(line) = heard.recv_timeout(deadline - std::time::Instant::now()) {
        if line.starts_with(heading) {
            break;
        }
    }
    std::thread::sleep(after);
    // SAFETY: sends SIGINT to our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let out = child.wait_with_output().unwrap();
    (out, reader.join().unwrap())
}

#[test]
fn ctrl_c_while_planning_says_where_the_rehearsal_stopped() {
    // One request a second: planning the fixtures takes about 20 s.
    let (out, said) = interrupted_at("== plan", &["--rate", "1", "--burst", "1"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{said}{stderr}");
    assert!(!said.contains("== apply"), "{said}");
    assert!(
        stderr.contains("rehearsal stopped at Ctrl-C while planning against the simulated org: nothing outside this machine was touched"),
        "{stderr}"
    );
}

#[test]
fn ctrl_c_while_applying_is_apply_s_own_clean_stop() {
    let (out, said) = interrupted_at(
        "== apply",
        &["--rate", "200", "--burst", "200", "--apply-rate", "1"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{said}{stderr}");
    assert!(stderr.contains("Stopping: no new steps"), "{stderr}");
    // The rehearsal ends there: no verify of a half-run apply, no verdict.
    assert!(!said.contains("== verify"), "{said}");
    assert!(
        stderr.contains(
            "rehearsal stopped at Ctrl-C while applying: nothing outside this machine was touched"
        ),
        "{stderr}"
    );
}

/// Ctrl-C the moment the apply heading shows: whatever part of `apply` is under way (its drift
/// check, or the run before it listens for Ctrl-C itself) ends before its first write, and the
/// rehearsal goes no further.
#[test]
fn ctrl_c_the_moment_apply_begins_stops_it() {
    let (out, said) = interrupted_after(
        "== apply",
        std::time::Duration::ZERO,
        &["--rate", "200", "--burst", "200", "--apply-rate", "1"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{said}{stderr}");
    assert!(!said.contains("== verify"), "{said}");
    assert!(!said.contains("this run sent 16 writes"), "{said}");
    assert!(!stderr.contains("while planning"), "{stderr}");
}

/// Seeding at scale takes files: `--scim-linked-file` and `--google-synced-file` (Scenario 4),
/// one ID or address a line. A Google-synced mover goes on the IdP checklist with Google's
/// attribute; a line that names no account is refused with its file and line.
#[test]
fn scim_and_google_synced_accounts_are_seeded_from_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("scim.txt"),
        "# provisioned by Entra\nann.lee@companya.example\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("google.txt"),
        "\n712020:5b10a284-4c20-4165-80ed-e21a00000004\n",
    )
    .unwrap();
    let out = rehearse(
        dir.path(),
        &[
            "--scim-linked-file",
            "scim.txt",
            "--google-synced-file",
            "google.txt",
        ],
    );
    let (stdout, stderr) = text(&out);
    assert!(
        matches!(out.status.code(), Some(0 | 2 | 3)),
        "{stdout}{stderr}"
    );
    let checklist =
        std::fs::read_to_string(dir.path().join("rehearsal/idp-checklist.csv")).unwrap();
    let row = |id: &str| {
        checklist
            .lines()
            .find(|l| l.contains(id))
            .unwrap_or_else(|| panic!("{id} not in {checklist}"))
            .to_owned()
    };
    assert!(
        row("e21a00000004").contains("the user's primary email in Google Workspace"),
        "{checklist}"
    );
    assert!(
        row("e21a00000001").contains("emails[type eq"),
        "{checklist}"
    );

    std::fs::write(
        dir.path().join("google.txt"),
        "# typo\nnobody@companya.example\n",
    )
    .unwrap();
    let out = rehearse(dir.path(), &["--google-synced-file", "google.txt"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("google.txt:2: nobody@companya.example is no account ID or address of the accounts export"),
        "{stderr}"
    );
}

/// `--scim-linked` and `--google-synced` name accounts as their files do: a value that names no
/// account of the export is refused, not left out of the rehearsal without a word.
#[test]
fn a_seed_flag_that_names_no_account_is_refused() {
    for flag in ["--scim-linked", "--google-synced"] {
        let dir = tempfile::tempdir().unwrap();
        let out = rehearse(dir.path(), &[flag, "nobody@companya.example"]);
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(1), "{flag}: {stderr}");
        let said = format!(
            "{flag} nobody@companya.example: no account ID or address of the accounts export"
        );
        assert!(stderr.contains(&said), "{stderr}");
    }
}
