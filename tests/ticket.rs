//! The ticket an approver signs: the Markdown review stays small when the identity provider
//! owns many accounts, every review format names the plan's content hash first, and
//! `mailshift review PLAN` renders from the file alone exactly what `plan` printed.

mod support;

use support::*;

/// 5,000 renames, 240 of them IdP-owned (the 50,000 with 2,400, scaled down).
const ACCOUNTS: usize = 5000;
const IDP_OWNED: usize = 240;

#[test]
fn the_ticket_stays_small_names_its_hash_and_renders_again_from_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (accounts, targets) = generated_org(Shapes::renames(ACCOUNTS));
    std::fs::write(dir.path().join("accounts.csv"), &accounts).unwrap();
    std::fs::write(dir.path().join("targets.csv"), &targets).unwrap();
    let sim = serve(
        dir.path(),
        SimSetup {
            scim: (0..IDP_OWNED).map(|i| format!("acc-r{}", i * 20)).collect(),
            ..both_verified()
        },
    );
    let url = sim.url();
    let out = mailshift(
        dir.path(),
        &[
            "plan",
            "--api-url",
            &url,
            "--org-id",
            "org-1",
            "--rate",
            "5000",
            "--accounts",
            "accounts.csv",
            "--targets",
            "targets.csv",
            "--out",
            "plan.json",
            "--format",
            "markdown",
        ],
    );
    let said = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{said}");
    let printed = out.stdout;
    let plan = read_plan(&dir.path().join("plan.json"));
    assert_eq!(plan.idp.len(), IDP_OWNED);
    let sha = said
        .split("content sha256 ")
        .nth(1)
        .and_then(|rest| rest.get(..64))
        .unwrap_or_else(|| panic!("no content sha256 in {said}"));

    let md = String::from_utf8(printed.clone()).unwrap();
    assert!(md.len() <= 20_000, "{} bytes", md.len());
    assert!(
        md.contains("more: `mailshift plan ... --idp-checklist FILE`"),
        "{md}"
    );

    // From the file alone: the very bytes `plan` printed, and the hash first in every format.
    let again = mailshift(dir.path(), &["review", "plan.json", "--format", "markdown"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    assert!(
        again.stdout == printed,
        "review differs from what plan printed"
    );
    for format in ["table", "markdown", "csv", "json"] {
        let out = mailshift(dir.path(), &["review", "plan.json", "--format", format]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let head: String = text(&out.stdout)
            .lines()
            .take(3)
            .collect::<Vec<_>>()
            .join("\n");
        assert!(head.contains(sha), "{format}: {head}");
    }
    // The JSON review is still the plan.
    let json = mailshift(dir.path(), &["review", "plan.json", "--format", "json"]);
    let reread: mailshift::plan::Plan = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(reread, plan);
}
