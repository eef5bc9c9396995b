//! The review of a 5,000-account org as the approver reads it: the first screen of the table
//! names every decision (blocked wishes, flagged frees, temporary addresses) and tallies the
//! plain renames in one line; the Markdown ticket stays small, with the steps in the CSV.
//! Snapshots in `tests/snapshots/` (`SNAPSHOTS=overwrite cargo test` rewrites them).

mod support;

use support::*;

/// A 5,000-account org: 4,900 renames, 17 freed holders (all active, so flagged), 10 chains,
/// 5 swaps, 3 cycles; two accounts whose rows conflict and 30 people without an account.
fn org() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let shapes = Shapes {
        renames: 4900,
        frees: 17,
        chains: 10,
        swaps: 5,
        cycles: 3,
    };
    let (accounts, mut targets) = generated_org(shapes);
    targets.push_str("acc-r1,not-an-address\nacc-r2,r2@new\n");
    for i in 0..30 {
        targets.push_str(&format!("acc-nobody{i},nobody{i}@new.example\n"));
    }
    std::fs::write(dir.path().join("accounts.csv"), accounts).unwrap();
    std::fs::write(dir.path().join("targets.csv"), targets).unwrap();
    dir
}

fn review(dir: &std::path::Path, format: &str) -> String {
    let out = mailshift(
        dir,
        &[
            "plan",
            "--accounts",
            "accounts.csv",
            "--targets",
            "targets.csv",
            "--format",
            format,
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    text(&out.stdout)
}

#[test]
fn the_first_screen_names_every_decision_in_60_lines() {
    let dir = org();
    let table = review(dir.path(), "table");
    let first: Vec<&str> = table.lines().take(60).collect();
    let screen = first.join("\n");
    // Every decision is on it, by name.
    for i in 0..17 {
        assert!(
            screen.contains(&format!(
                "User h{i} [acc-h{i}], active, gives up f{i}@new.example to User f{i} [acc-f{i}]"
            )),
            "free {i}:\n{screen}"
        );
    }
    for id in ["acc-s0a", "acc-s4a", "acc-c0x", "acc-c2x"] {
        assert!(
            screen.contains(&format!("[{id}] parks on")),
            "{id}:\n{screen}"
        );
    }
    assert!(screen.contains("targets.csv:4968: User r1 [acc-r1] -> not-an-address: lines 3, 4968 give this account different targets"), "{screen}");
    assert!(
        screen.contains("No decision needed: 4964 steps"),
        "{screen}"
    );
    // The step list comes after it.
    let steps_at = table
        .lines()
        .position(|l| l == "Steps, in execution order")
        .unwrap();
    assert!(
        steps_at < 60,
        "the step list starts at line {}",
        steps_at + 1
    );
    snapbox::assert_data_eq!(
        table.lines().take(steps_at).collect::<Vec<_>>().join("\n"),
        snapbox::file!["snapshots/front_page_5000.txt"]
    );
}

#[test]
fn the_markdown_ticket_stays_under_20_kb_and_leads_with_the_decisions() {
    let dir = org();
    let md = review(dir.path(), "markdown");
    assert!(md.len() < 20_000, "{} bytes", md.len());
    let decisions = md.find("### Needs a decision").unwrap();
    assert!(decisions < 1500, "{md}");
    assert!(md.contains("attach the CSV review"), "{md}");
    // Raw: the ticket's backslash escapes are its content, not paths to normalise.
    snapbox::assert_data_eq!(md, snapbox::file!["snapshots/ticket_5000.md"].raw());

    // The CSV the ticket points to lists every step, with the decisions marked.
    let csv = review(dir.path(), "csv");
    let flagged = csv.lines().filter(|l| l.ends_with(",flagged free")).count();
    let temporaries = csv
        .lines()
        .filter(|l| l.ends_with(",temporary address"))
        .count();
    assert_eq!((flagged, temporaries), (17, 8));
    assert!(
        csv.lines().nth(1).unwrap().starts_with("plan,")
            && csv.lines().nth(2).unwrap().starts_with("blocked,"),
        "the plan's hash, then blocked rows lead"
    );
    // 4,900 renames less the two whose rows conflict, 2 per free, 3 per chain and swap, 4 per cycle.
    assert_eq!(
        csv.lines().filter(|l| l.starts_with("step,")).count(),
        4898 + 34 + 30 + 15 + 12
    );
}

/// A terminal cannot show a million lines: the table lists the first steps in execution order
/// and counts the rest, which the CSV review and the plan file list in full.
#[test]
fn the_table_lists_the_first_thousand_steps_and_counts_the_rest() {
    let dir = org();
    let table = review(dir.path(), "table");
    let lines: Vec<&str> = table.lines().collect();
    let header = lines
        .iter()
        .position(|l| *l == "Steps, in execution order")
        .unwrap()
        + 1;
    assert!(lines[header].starts_with("STEP "), "{}", lines[header]);
    let rows: Vec<&str> = lines[header + 1..]
        .iter()
        .take_while(|l| l.starts_with(|c: char| c.is_ascii_digit()))
        .copied()
        .collect();
    assert_eq!(rows.len(), 1000);
    assert!(rows[0].starts_with("1 "), "{}", rows[0]);
    assert!(rows[999].starts_with("1000 "), "{}", rows[999]);
    assert_eq!(
        lines[header + 1 + 1000],
        "  ... and 3989 more steps (all of them in --format csv or json, and in the plan file)"
    );
}
