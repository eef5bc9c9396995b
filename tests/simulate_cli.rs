//! `mailshift simulate` as an admin runs it: it prints where and how to connect, serves until
//! Ctrl-C, and dumps the final accounts.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

#[tokio::test]
async fn serves_until_ctrl_c_and_dumps_the_final_accounts() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/accounts.csv");
    let mut child = Command::new(env!("CARGO_BIN_EXE_mailshift"))
        .current_dir(dir.path())
        .args(["simulate", "--accounts"])
        .arg(&fixture)
        .args(["--seed", "3", "--dump-on-exit", "after.csv"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let done = line.starts_with("Press Ctrl-C");
        printed.push(line);
        if done {
            break;
        }
    }
    let url = printed[0].rsplit(" at ").next().unwrap().to_owned();
    assert!(
        url.starts_with("http://127.0.0.1:"),
        "loopback by default: {url}"
    );
    let key = printed[1].split_whitespace().nth(2).unwrap().to_owned();
    assert!(printed[0].contains("21 accounts"), "{printed:?}");
    assert_eq!(
        printed[3],
        "  seed:    3   (--seed 3 repeats this run's faults)"
    );

    let ann = "712020:5b10a284-4c20-4165-80ed-e21a00000001";
    let status = reqwest::Client::new()
        .put(format!("{url}/users/{ann}/manage/email"))
        .bearer_auth(&key)
        .json(&serde_json::json!({"email": "ann.lee@companyb.example"}))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status.as_u16(), 204);

    // SAFETY: signalling our own child process.
    assert_eq!(
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) },
        0
    );
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("stopped after 1 requests (1 writes, 0 answered 429, 0 concurrent writes on one account)"), "{stderr}");

    let dump = dir.path().join("after.csv");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&dump).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let text = std::fs::read_to_string(&dump).unwrap();
    assert!(text.starts_with("User id,User name,email,User status\n"));
    assert!(text.contains(&format!("{ann},Ann Lee,ann.lee@companyb.example,Active\n")));
    // The dump is itself an export mailshift reads.
    let org = mailshift::input::parse_accounts(&dump, text.as_bytes())
        .unwrap()
        .org;
    assert_eq!(org.len(), 21);
}
