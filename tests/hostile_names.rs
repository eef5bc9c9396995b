//! Display names are edited by their owners: a name that clears the screen, hides the lines
//! after it, reorders a line, fakes a line of its own, runs as a spreadsheet formula or loads an
//! image in the change ticket must be inert text in every output mailshift writes: the review
//! (table, Markdown, CSV), the IdP checklist, the people list, the report, `status` and `verify`.

mod support;

use std::path::Path;
use support::*;

/// Account, name: each name attacks one place.
const HOSTILE: [(&str, &str); 8] = [
    ("acc-esc", "Ann\u{1b}[2J\u{1b}[8m"),
    (
        "acc-osc",
        "\u{1b}]8;;http://t.example/\u{7}Bea\u{1b}]8;;\u{7}",
    ),
    ("acc-formula", "=HYPERLINK(\"http://t.example/x\",\"Cy\")"),
    (
        "acc-md",
        "![x](http://t.example/p.png)<img src=x>[Dee](http://t.example)",
    ),
    ("acc-bidi", "Eve\u{202e}exe.txt"),
    ("acc-line", "Fay\n  step 99  rename  all good"),
    ("acc-c1", "Gus\u{9b}31m\u{8}\u{7f}"),
    ("acc-holder", "-2+3"),
];

/// Accounts whose email the IdP owns: the plan leaves them to the IdP checklist.
const IDP_OWNED: [&str; 2] = ["acc-osc", "acc-formula"];

/// Every account renames from old to new; acc-esc wants the holder's address, so the holder is
/// freed (a decision the review names both people in).
fn org(dir: &Path) {
    let mut accounts = csv::Writer::from_path(dir.join("accounts.csv")).unwrap();
    let mut targets = csv::Writer::from_path(dir.join("targets.csv")).unwrap();
    accounts
        .write_record(["User id", "User name", "email", "User status"])
        .unwrap();
    targets
        .write_record(["account_id", "target_email"])
        .unwrap();
    for (id, name) in HOSTILE {
        let user = id.trim_start_matches("acc-");
        let (current, target) = if id == "acc-holder" {
            ("esc@new.example".to_owned(), None)
        } else {
            (
                format!("{user}@old.example"),
                Some(format!("{user}@new.example")),
            )
        };
        accounts
            .write_record([id, name, current.as_str(), "Active"])
            .unwrap();
        if let Some(t) = target {
            targets.write_record([id, t.as_str()]).unwrap();
        }
    }
    accounts.flush().unwrap();
    targets.flush().unwrap();
}

/// Characters that act on a terminal or reorder a line; line breaks and tabs are layout.
fn acting(text: &str) -> Vec<char> {
    text.chars()
        .filter(|&c| {
            (c.is_control() && c != '\n' && c != '\t')
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .collect()
}

/// What is not inert in one output, in words; empty when all is well.
fn inert_text(place: &str, text: &str) -> Vec<String> {
    let mut wrong = Vec::new();
    let acts = acting(text);
    if !acts.is_empty() {
        wrong.push(format!("{place}: raw {acts:?}"));
    }
    if text.lines().any(|l| l.trim_start().starts_with("step 99")) {
        wrong.push(format!("{place}: a name made a line of its own"));
    }
    wrong
}

/// A CSV file: inert text, and no cell a spreadsheet would run.
fn inert_csv(place: &str, text: &str) -> Vec<String> {
    let mut wrong = inert_text(place, text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes());
    for record in reader.records() {
        for cell in &record.unwrap() {
            if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
                wrong.push(format!("{place}: a formula cell {cell:?}"));
            }
            if cell.contains('\n') {
                wrong.push(format!("{place}: a cell of two lines {cell:?}"));
            }
        }
    }
    wrong
}

/// The ticket: no image, link or HTML made of a name.
fn inert_markdown(text: &str) -> Vec<String> {
    let mut wrong = inert_text("markdown", text);
    for raw in ["[x](", "[Dee]("] {
        if text.contains(raw) {
            wrong.push(format!("markdown: {raw}"));
        }
    }
    if text.matches("<img").count() != text.matches("\\<img").count() {
        wrong.push("markdown: raw HTML".into());
    }
    wrong
}

/// A name is shown, escaped, not dropped.
fn shows(wrong: &mut Vec<String>, place: &str, text: &str, shown: &str) {
    if !text.contains(shown) {
        wrong.push(format!("{place}: {shown:?} not shown"));
    }
}

#[test]
fn hostile_names_are_inert_in_every_output() {
    let dir = tempfile::tempdir().unwrap();
    org(dir.path());
    let sim = serve(
        dir.path(),
        SimSetup {
            scim: IDP_OWNED.iter().map(|&id| id.to_owned()).collect(),
            ..both_verified()
        },
    );
    let url = sim.url();
    let mut wrong = Vec::new();
    let mut plan = |format: &str| {
        let out = mailshift(
            dir.path(),
            &[
                "plan",
                "--api-url",
                &url,
                "--org-id",
                "org-1",
                "--accounts",
                "accounts.csv",
                "--targets",
                "targets.csv",
                "--idp-checklist",
                "idp.csv",
                "--people",
                "people.csv",
                "--out",
                "plan.json",
                "--format",
                format,
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        wrong.extend(inert_text(
            &format!("plan --format {format}, standard error"),
            &text(&out.stderr),
        ));
        text(&out.stdout)
    };
    let table = plan("table");
    let markdown = plan("markdown");
    let review_csv = plan("csv");
    wrong.extend(inert_text("table", &table));
    // The names are there, shown, not dropped.
    shows(&mut wrong, "table", &table, "Ann\\u{1b}[2J\\u{1b}[8m");
    shows(&mut wrong, "table", &table, "Bea");
    wrong.extend(inert_markdown(&markdown));
    shows(&mut wrong, "markdown", &markdown, "Ann\\\\u{1b}");
    wrong.extend(inert_csv("review csv", &review_csv));
    let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();
    let checklist = read("idp.csv");
    shows(&mut wrong, "checklist", &checklist, "Bea");
    wrong.extend(inert_csv("IdP checklist", &checklist));
    wrong.extend(inert_csv("people list", &read("people.csv")));

    let out = mailshift(dir.path(), &fast(&url, &["--report", "report.csv"]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    wrong.extend(inert_text("apply's summary", &text(&out.stdout)));
    wrong.extend(inert_text("apply's standard error", &text(&out.stderr)));
    wrong.extend(inert_csv("report", &read("report.csv")));

    let out = mailshift(dir.path(), &["status", "plan.json"]);
    wrong.extend(inert_text("status", &text(&out.stdout)));

    // Every account moved by the plan is put back behind its back: verify names each one.
    for (id, _) in HOSTILE.iter().filter(|(id, _)| !IDP_OWNED.contains(id)) {
        let user = id.trim_start_matches("acc-");
        sim.set_email(id, &format!("{user}.back@old.example"));
    }
    let out = mailshift(
        dir.path(),
        &[
            "verify",
            "plan.json",
            "--api-url",
            &url,
            "--org-id",
            "org-1",
        ],
    );
    let said = text(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{said}{}", text(&out.stderr));
    shows(&mut wrong, "said", &said, "acc-esc (Ann\\u{1b}[2J");
    shows(&mut wrong, "said", &said, "acc-bidi (Eve\\u{202e}exe.txt)");
    wrong.extend(inert_text("verify", &said));
    wrong.extend(inert_text("verify's standard error", &text(&out.stderr)));
    assert_eq!(wrong, Vec::<String>::new());
}
