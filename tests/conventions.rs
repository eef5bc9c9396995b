//! The command-line conventions scripts and admins rely on: `--json` on plan, apply, status and
//! verify; `--quiet` and `-v`; a closed pipe is not an error; shell completions.

mod support;

use serde_json::Value;
use std::io::Read;
use std::process::Stdio;
use support::*;

fn json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            text(&out.stdout),
            text(&out.stderr)
        )
    })
}

#[test]
fn apply_status_and_verify_speak_json_with_nothing_else_on_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let (accounts, targets) = generated_org(Shapes::renames(30));
    plan_in(dir.path(), &accounts, &targets);
    let sim = serve(dir.path(), both_verified());
    let url = sim.url();

    let status = mailshift(dir.path(), &["status", "plan.json", "--json"]);
    assert_eq!(status.status.code(), Some(0));
    let before = json(&status);
    assert_eq!(before["journal_exists"], false);
    assert_eq!(before["counts"]["not_started"], 30);
    assert_eq!(before["steps"].as_array().unwrap().len(), 30);

    let out = mailshift(
        dir.path(),
        &fast(&url, &["--json", "--no-permission-check"]),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let applied = json(&out);
    assert_eq!(applied["version"], 1);
    assert_eq!(applied["ended"], "finished");
    assert_eq!(applied["counts"]["done"], 30);
    assert_eq!(applied["sent"]["writes"], 30);
    assert!(
        applied["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["outcome"] == "done")
    );

    let after = json(&mailshift(dir.path(), &["status", "plan.json", "--json"]));
    assert_eq!(after["journal_exists"], true);
    assert_eq!(after["runs"], 1);
    assert_eq!(after["counts"]["done"], 30);

    // One account moved back behind the plan's back: verify names it, in JSON too.
    let plan = read_plan(&dir.path().join("plan.json"));
    let moved = &plan.steps[0];
    sim.set_email(&moved.account_id, "someone.else@old.example");
    let out = mailshift(
        dir.path(),
        &[
            "verify",
            "plan.json",
            "--api-url",
            &url,
            "--org-id",
            "org-1",
            "--rechecks",
            "0",
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let verified = json(&out);
    assert_eq!(verified["checked"], 30);
    assert_eq!(verified["at_planned_address"], 29);
    let wrong = &verified["wrong"][0];
    assert_eq!(wrong["account_id"], &*moved.account_id);
    assert_eq!(wrong["expected"], &*moved.to);
    assert_eq!(wrong["found"], "someone.else@old.example");
    assert_eq!(wrong["journal"], "step 1 done");
}

#[test]
fn plan_json_is_the_plan_itself() {
    let dir = tempfile::tempdir().unwrap();
    let (accounts, targets) = generated_org(Shapes::renames(5));
    plan_in(dir.path(), &accounts, &targets);
    let args = |extra: &[&'static str]| [&PLAN[..], extra].concat();
    let short = mailshift(dir.path(), &args(&["--json"]));
    let long = mailshift(dir.path(), &args(&["--format", "json"]));
    assert_eq!(short.status.code(), Some(0));
    assert_eq!(short.stdout, long.stdout);
    assert_eq!(json(&short)["steps"].as_array().unwrap().len(), 5);
    let both = mailshift(dir.path(), &args(&["--json", "--format", "csv"]));
    assert_eq!(both.status.code(), Some(1), "--json and --format conflict");
}

#[test]
fn quiet_keeps_results_and_drops_progress_notes() {
    let dir = tempfile::tempdir().unwrap();
    let (accounts, targets) = generated_org(Shapes::renames(5));
    plan_in(dir.path(), &accounts, &targets);
    let args = [&PLAN[..], &["--out", "again.json"]].concat();
    let normal = mailshift(dir.path(), &args);
    let quiet = mailshift(dir.path(), &[&["-q"][..], &args].concat());
    assert!(text(&normal.stderr).contains("plan written to again.json"));
    assert_eq!(text(&quiet.stderr), "", "quiet says nothing on stderr");
    assert_eq!(normal.stdout, quiet.stdout, "the review is a result");
    assert_eq!(quiet.status.code(), Some(0));
    let both = mailshift(dir.path(), &[&["-q", "-v"][..], &args].concat());
    assert_eq!(both.status.code(), Some(1));
}

#[test]
fn verbose_apply_logs_every_step_without_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let (accounts, targets) = generated_org(Shapes::renames(8));
    plan_in(dir.path(), &accounts, &targets);
    let sim = serve(dir.path(), both_verified());
    let url = sim.url();
    let out = mailshift(
        dir.path(),
        &[&["-v"][..], &fast(&url, &["--no-permission-check"])].concat(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    let plan = read_plan(&dir.path().join("plan.json"));
    for step in &plan.steps {
        let line = format!(
            "step {} {} {} -> {}: done",
            step.id, step.account_id, step.from, step.to
        );
        assert!(stderr.contains(&line), "missing {line:?} in\n{stderr}");
    }
    assert!(!stderr.contains(KEY) && !text(&out.stdout).contains(KEY));
}

#[test]
fn a_reader_that_stops_early_is_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let (accounts, targets) = generated_org(Shapes::renames(3000));
    plan_in(dir.path(), &accounts, &targets);
    for args in [
        &["status", "plan.json"][..],
        &["status", "plan.json", "--json"][..],
        &PLAN[..],
        &["completions", "zsh"][..],
    ] {
        let mut child = command(dir.path(), args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Read a little, then hang up, as `| head -c 100` does.
        let mut first = [0u8; 100];
        child.stdout.take().unwrap().read_exact(&mut first).unwrap();
        let out = child.wait_with_output().unwrap();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("error") && !stderr.contains("panicked"),
            "{args:?}: {stderr}"
        );
        // A reader gone before the first write: short outputs meet the closed pipe too (above,
        // they may fit in the pipe before the test hangs up).
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = command(dir.path(), args)
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = text(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}, closed pipe: {stderr}"
        );
        assert!(
            !stderr.contains("error") && !stderr.contains("panicked"),
            "{args:?}, closed pipe: {stderr}"
        );
    }
}

#[test]
fn completions_cover_every_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = mailshift(dir.path(), &["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let script = text(&out.stdout);
        for sub in ["plan", "rehearse", "apply", "status", "verify", "rollback"] {
            assert!(script.contains(sub), "{shell} completes {sub}");
        }
    }
    assert!(
        text(&mailshift(dir.path(), &["completions", "bash"]).stdout).contains("--retry-failed")
    );
}
