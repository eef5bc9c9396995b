//! The planner's unit tests: small orgs and wishes, and the plan each must give.
use super::*;
use crate::input::Target;
use crate::ledger::Ledger;
use crate::model::Email;
use crate::model::Status;
use crate::org::testing::org;
use crate::plan::StepId;

fn rows(rows: &[(&str, &str)]) -> Vec<TargetRow> {
    rows.iter()
        .enumerate()
        .map(|(i, (id, target))| TargetRow {
            file: 0,
            line: i as u64 + 2,
            account_id: Some((*id).to_owned()),
            current_email: None,
            target: Target::parse(target),
        })
        .collect()
}

fn plan(org: &Org, rows: &[TargetRow]) -> Computed {
    plan_with(org, rows, &Access::default())
}

fn plan_with(org: &Org, rows: &[TargetRow], access: &Access) -> Computed {
    compute(&Request {
        org,
        rows,
        rules: &[],
        verified_domains: None,
        access,
    })
}

fn scim(ids: &[&str]) -> Access {
    Access {
        denied: ids
            .iter()
            .map(|a| ((*a).to_owned(), crate::plan::access::SCIM.to_owned()))
            .collect(),
        ..Access::default()
    }
}

fn stays_because(c: &Computed) -> Vec<(String, Option<String>)> {
    c.blocked
        .iter()
        .map(|b| match &b.reason {
            BlockReason::HolderStays { because, .. } => {
                (b.account_id.clone().unwrap_or_default(), because.clone())
            }
            other => (
                b.account_id.clone().unwrap_or_default(),
                Some(other.code().into()),
            ),
        })
        .collect()
}

#[test]
fn a_scim_linked_holder_is_unlinked_then_freed_only_with_the_flag() {
    let o = org(&[("a", "a@old.example"), ("b", "ann@new.example")]);
    let r = rows(&[("a", "ann@new.example")]);
    let blocked = plan_with(&o, &r, &scim(&["b"]));
    assert!(blocked.steps.is_empty());
    let why = stays_because(&blocked);
    assert_eq!(why.len(), 1);
    assert!(
        why[0].1.as_deref().unwrap().contains("--allow-scim-unlink"),
        "{why:?}"
    );

    let access = Access {
        allow_scim_unlink: true,
        ..scim(&["b"])
    };
    let c = plan_with(&o, &r, &access);
    assert_eq!(
        lines(&c),
        [
            "1 Unlink b ann@new.example->ann@new.example []",
            "2 Free b ann@new.example->ann_FREE@new.example [1]",
            "3 Rename a a@old.example->ann@new.example [2]",
        ]
    );
    assert!(c.blocked.is_empty());
    assert_eq!(c.summary.unlinks, 1);
    run_in_order(&o, &c);
}

#[test]
fn a_provisioned_mover_gets_its_address_freed_and_goes_to_the_idp_list() {
    // p's email is owned by the IdP; b holds what p wants; m wants p's current address.
    let o = org(&[
        ("p", "p@old.example"),
        ("b", "pat@new.example"),
        ("m", "m@old.example"),
    ]);
    let r = rows(&[("p", "pat@new.example"), ("m", "p@old.example")]);
    let c = plan_with(&o, &r, &scim(&["p"]));
    assert_eq!(
        lines(&c),
        ["1 Free b pat@new.example->pat_FREE@new.example []"]
    );
    assert_eq!(c.idp.len(), 1);
    let moved = &c.idp[0];
    assert_eq!(
        (
            moved.account_id.as_str(),
            moved.target.as_str(),
            &moved.after_steps[..]
        ),
        ("p", "pat@new.example", &[StepId(1)][..])
    );
    assert_eq!(moved.source, "externalDirectory.scim");
    let why = stays_because(&c);
    assert_eq!(why.len(), 1);
    assert_eq!(why[0].0, "m");
    assert!(
        why[0]
            .1
            .as_deref()
            .unwrap()
            .contains("identity provider owns"),
        "{why:?}"
    );
    assert_eq!(c.summary.idp_changes, 1);
}

#[test]
fn idp_changes_are_ordered_after_the_steps_and_changes_they_wait_for() {
    // p1 wants p2's address, p2 wants a's, a (open) moves to a fresh address.
    let o = org(&[
        ("p1", "one@x.example"),
        ("p2", "two@x.example"),
        ("a", "three@x.example"),
    ]);
    let r = rows(&[
        ("p1", "two@x.example"),
        ("p2", "three@x.example"),
        ("a", "four@x.example"),
    ]);
    let c = plan_with(&o, &r, &scim(&["p1", "p2"]));
    assert_eq!(lines(&c), ["1 Rename a three@x.example->four@x.example []"]);
    let order: Vec<_> = c
        .idp
        .iter()
        .map(|m| {
            (
                m.order,
                m.account_id.as_str(),
                m.after_steps.clone(),
                m.after_idp.clone(),
            )
        })
        .collect();
    assert_eq!(
        order,
        [
            (1, "p2", vec![StepId(1)], vec![]),
            (2, "p1", vec![], vec![1])
        ]
    );

    // The same two wanting each other's address: no IdP order can do it.
    let o = org(&[("p1", "one@x.example"), ("p2", "two@x.example")]);
    let r = rows(&[("p1", "two@x.example"), ("p2", "one@x.example")]);
    let c = plan_with(&o, &r, &scim(&["p1", "p2"]));
    assert!(c.idp.is_empty() && c.steps.is_empty());
    let codes: Vec<_> = c.blocked.iter().map(|b| b.reason.code()).collect();
    assert_eq!(codes, ["idp_cycle", "idp_cycle"]);
}

#[test]
fn the_operators_own_account_is_left_alone_without_allow_self() {
    let o = org(&[("me", "me@old.example"), ("a", "a@old.example")]);
    let r = rows(&[("me", "me@new.example"), ("a", "me@old.example")]);
    let access = Access {
        operator: Some("me".into()),
        ..Access::default()
    };
    let c = plan_with(&o, &r, &access);
    assert!(c.steps.is_empty());
    let codes: Vec<_> = c.blocked.iter().map(|b| b.reason.code()).collect();
    assert_eq!(codes, ["own_account", "holder_stays"]);
    let allowed = Access {
        allow_self: true,
        ..access
    };
    assert_eq!(plan_with(&o, &r, &allowed).steps.len(), 2);
    // As a bystander holder, the operator is not freed either.
    let r = rows(&[("a", "me@old.example")]);
    let access = Access {
        operator: Some("me".into()),
        ..Access::default()
    };
    let c = plan_with(&o, &r, &access);
    assert!(c.steps.is_empty());
    assert!(
        stays_because(&c)[0]
            .1
            .as_deref()
            .unwrap()
            .contains("--allow-self")
    );
}

#[test]
fn accounts_the_api_will_not_write_are_blocked_with_its_reason() {
    let o = org(&[("x", "x@old.example")]);
    let r = rows(&[("x", "x@new.example")]);
    let access = Access {
        denied: [("x".to_owned(), "administrative".to_owned())]
            .into_iter()
            .collect(),
        ..Access::default()
    };
    let c = plan_with(&o, &r, &access);
    assert!(c.steps.is_empty());
    assert_eq!(
        c.blocked[0].reason,
        BlockReason::NotPermitted {
            reason: "administrative".into()
        }
    );
}

/// Each step as `kind account from->to after`.
fn lines(c: &Computed) -> Vec<String> {
    c.steps
        .iter()
        .map(|s| {
            format!(
                "{} {:?} {} {}->{} {:?}",
                s.id, s.kind, s.account_id, s.from, s.to, s.after
            )
        })
        .collect()
}

fn run_in_order(org: &Org, c: &Computed) -> Ledger {
    let mut ledger = Ledger::from_org(org);
    for s in &c.steps {
        ledger.apply(&s.account_id, &s.from, &s.to).unwrap();
    }
    ledger
}

#[test]
fn simple_rename_is_one_step() {
    let o = org(&[("a", "ann@old.example")]);
    let c = plan(&o, &rows(&[("a", "Ann@new.example")]));
    assert_eq!(
        lines(&c),
        ["1 Rename a ann@old.example->Ann@new.example []"]
    );
    assert_eq!(c.steps[0].origin, Some(Origin::line(2)));
}

#[test]
fn holder_not_moving_is_freed_first() {
    let o = org(&[("a", "abc123@x.example"), ("h", "ann.lee@x.example")]);
    let c = plan(&o, &rows(&[("a", "ann.lee@x.example")]));
    assert_eq!(
        lines(&c),
        [
            "1 Free h ann.lee@x.example->ann.lee_FREE@x.example []",
            "2 Rename a abc123@x.example->ann.lee@x.example [1]",
        ]
    );
    assert!(c.steps[0].flagged(), "an active holder loses an address");
    run_in_order(&o, &c);
}

#[test]
fn free_placeholder_skips_taken_and_wanted_names() {
    let o = org(&[
        ("a", "a@x.example"),
        ("h", "bob@x.example"),
        ("t1", "bob_FREE@x.example"),
        ("b", "b@x.example"),
    ]);
    let c = plan(
        &o,
        &rows(&[("a", "bob@x.example"), ("b", "bob_free2@x.example")]),
    );
    assert_eq!(&*c.steps[0].to, "bob_FREE3@x.example");
    run_in_order(&o, &c);
}

#[test]
fn chain_runs_from_its_end_without_temporaries() {
    let o = org(&[
        ("a", "a@x.example"),
        ("b", "b@x.example"),
        ("c", "c@x.example"),
    ]);
    let c = plan(
        &o,
        &rows(&[
            ("a", "b@x.example"),
            ("b", "c@x.example"),
            ("c", "d@x.example"),
        ]),
    );
    assert_eq!(
        lines(&c),
        [
            "1 Rename c c@x.example->d@x.example []",
            "2 Rename b b@x.example->c@x.example [1]",
            "3 Rename a a@x.example->b@x.example [2]",
        ]
    );
    assert_eq!((c.summary.chains, c.summary.temporaries), (1, 0));
}

#[test]
fn swap_uses_one_temporary() {
    let o = org(&[("a", "a@x.example"), ("b", "b@x.example")]);
    let c = plan(&o, &rows(&[("a", "b@x.example"), ("b", "a@x.example")]));
    assert_eq!(
        lines(&c),
        [
            "1 Temporary a a@x.example->a_MOVING@x.example []",
            "2 Rename b b@x.example->a@x.example [1]",
            "3 Rename a a_MOVING@x.example->b@x.example [1, 2]",
        ]
    );
    assert_eq!((c.summary.cycles, c.summary.writes), (1, 3));
    run_in_order(&o, &c);
}

#[test]
fn three_cycle_uses_one_temporary_and_four_writes() {
    let o = org(&[
        ("a", "a@x.example"),
        ("b", "b@x.example"),
        ("c", "c@x.example"),
    ]);
    let c = plan(
        &o,
        &rows(&[
            ("b", "c@x.example"),
            ("c", "a@x.example"),
            ("a", "b@x.example"),
        ]),
    );
    assert_eq!(
        lines(&c),
        [
            "1 Temporary b b@x.example->b_MOVING@x.example []",
            "2 Rename a a@x.example->b@x.example [1]",
            "3 Rename c c@x.example->a@x.example [2]",
            "4 Rename b b_MOVING@x.example->c@x.example [1, 3]",
        ]
    );
    run_in_order(&o, &c);
}

#[test]
fn duplicate_targets_block_every_claimant_and_cascade() {
    let o = org(&[
        ("a", "a@x.example"),
        ("b", "b@x.example"),
        ("c", "c@x.example"),
    ]);
    // a and b both want z; c wants a's address, but a stays, so c is blocked too.
    let c = plan(
        &o,
        &rows(&[
            ("a", "z@x.example"),
            ("b", "Z@x.example"),
            ("c", "a@x.example"),
        ]),
    );
    assert!(c.steps.is_empty());
    let reasons: Vec<_> = c.blocked.iter().map(|b| b.reason.clone()).collect();
    assert_eq!(
        reasons,
        [
            BlockReason::DuplicateTarget {
                others: vec!["b".into()]
            },
            BlockReason::DuplicateTarget {
                others: vec!["a".into()]
            },
            BlockReason::HolderStays {
                holder: "a".into(),
                holder_email: "a@x.example".into(),
                because: None,
            },
        ]
    );
}

#[test]
fn blocked_holder_blocks_the_whole_chain_behind_it() {
    let o = org(&[
        ("a", "a@x.example"),
        ("b", "b@x.example"),
        ("c", "c@x.example"),
    ]);
    let verified = BTreeSet::from(["x.example".to_owned()]);
    let r = rows(&[
        ("a", "b@x.example"),
        ("b", "c@x.example"),
        ("c", "c@elsewhere.example"),
    ]);
    let c = compute(&Request {
        org: &o,
        rows: &r,
        rules: &[],
        verified_domains: Some(&verified),
        access: &Access::default(),
    });
    assert!(c.steps.is_empty());
    let codes: Vec<_> = c.blocked.iter().map(|b| b.reason.code()).collect();
    assert_eq!(codes, ["holder_stays", "holder_stays", "unverified_domain"]);
}

#[test]
fn rows_that_cannot_be_matched_are_blocked_or_listed_with_their_line() {
    let o = org(&[("a", "a@x.example"), ("b", "b@x.example")]);
    let r = vec![
        TargetRow {
            file: 0,
            line: 2,
            account_id: Some("zz".into()),
            current_email: None,
            target: Target::parse("q@x.example"),
        },
        TargetRow {
            file: 0,
            line: 3,
            account_id: None,
            current_email: None,
            target: Target::parse("q@x.example"),
        },
        TargetRow {
            file: 0,
            line: 4,
            account_id: Some("a".into()),
            current_email: Some("b@x.example".into()),
            target: Target::parse("q@x.example"),
        },
        TargetRow {
            file: 0,
            line: 5,
            account_id: None,
            current_email: Some("B@X.example".into()),
            target: Target::parse("not an address"),
        },
        TargetRow {
            file: 0,
            line: 6,
            account_id: None,
            current_email: Some("nobody@x.example".into()),
            target: Target::parse("q@x.example"),
        },
    ];
    let c = plan(&o, &r);
    let codes = |list: &[Blocked]| -> Vec<(Origin, &'static str)> {
        list.iter()
            .map(|b| (b.origin.clone(), b.reason.code()))
            .collect()
    };
    assert_eq!(
        codes(&c.blocked),
        [
            (Origin::line(3), "no_account_named"),
            (Origin::line(4), "ambiguous_account"),
            (Origin::line(5), "invalid_address"),
        ]
    );
    // Rows naming nobody in the org are their own list, not blocked wishes.
    assert_eq!(
        codes(&c.no_account),
        [
            (Origin::line(2), "unknown_account"),
            (Origin::line(6), "unknown_account"),
        ]
    );
    assert_eq!((c.summary.blocked, c.summary.no_account), (3, 2));
    assert_eq!(
        c.blocked[2].account_id.as_deref(),
        Some("b"),
        "matched by address, case-insensitively"
    );
}

#[test]
fn conflicting_rows_block_the_account_but_repeats_merge() {
    let o = org(&[("a", "a@x.example"), ("b", "b@x.example")]);
    let c = plan(
        &o,
        &rows(&[
            ("a", "p@x.example"),
            ("a", "q@x.example"),
            ("b", "r@x.example"),
            ("b", "r@x.example"),
        ]),
    );
    assert_eq!(lines(&c), ["1 Rename b b@x.example->r@x.example []"]);
    assert_eq!(c.blocked.len(), 2);
    assert_eq!(
        c.blocked[0].reason,
        BlockReason::ConflictingRows {
            lines: vec![2, 3],
            files: vec![]
        }
    );
}

#[test]
fn target_equal_to_current_is_unchanged_not_written() {
    let o = org(&[("a", "Ann@x.example"), ("b", "b@x.example")]);
    let c = plan(&o, &rows(&[("a", "ann@x.example"), ("b", "b@x.example")]));
    assert!(c.steps.is_empty() && c.blocked.is_empty());
    assert_eq!(c.unchanged.len(), 2);
    assert!(c.unchanged[0].case_only);
    assert!(!c.unchanged[1].case_only);
}

#[test]
fn rewrite_rule_moves_a_domain_and_rows_win_over_it() {
    let o = org(&[
        ("a", "Ann@Old.example"),
        ("b", "bob@old.example"),
        ("c", "cy@other.example"),
    ]);
    let rule = DomainRule::parse("old.example=New.example").unwrap();
    let r = rows(&[("b", "robert@New.example")]);
    let c = compute(&Request {
        org: &o,
        rows: &r,
        rules: std::slice::from_ref(&rule),
        verified_domains: None,
        access: &Access::default(),
    });
    assert_eq!(
        lines(&c),
        [
            "1 Rename b bob@old.example->robert@New.example []",
            "2 Rename a Ann@Old.example->Ann@New.example []",
        ]
    );
    assert_eq!(
        c.steps[1].origin,
        Some(Origin::Rule("old.example=New.example".into()))
    );
}

#[test]
fn a_row_wins_over_a_rule_for_the_same_address_and_the_rules_wish_names_it() {
    // Lee left: the rule would give lee@old.example lee@new.example, which the IdP gave Lea.
    let o = org(&[
        ("lee", "lee@old.example"),
        ("lea", "lea.k@old.example"),
        ("max", "max@old.example"),
        ("mo", "m.o@old.example"),
        ("mia", "mia@other.example"),
    ]);
    let rule = DomainRule::parse("old.example=new.example").unwrap();
    // Two rows for one address still block each other; a rule never blocks a row.
    let r = rows(&[
        ("lea", "lee@new.example"),
        ("mo", "max@new.example"),
        ("mia", "max@new.example"),
    ]);
    let c = compute(&Request {
        org: &o,
        rows: &r,
        rules: std::slice::from_ref(&rule),
        verified_domains: None,
        access: &Access::default(),
    });
    let moved: Vec<&str> = c.steps.iter().map(|s| &*s.account_id).collect();
    assert_eq!(moved, ["lea"], "{:?}", c.blocked);
    let reasons: Vec<(Option<&str>, &BlockReason)> = c
        .blocked
        .iter()
        .map(|b| (b.account_id.as_deref(), &b.reason))
        .collect();
    assert_eq!(
        reasons,
        [
            (
                Some("mo"),
                &BlockReason::DuplicateTarget {
                    others: vec!["mia".into()]
                }
            ),
            (
                Some("mia"),
                &BlockReason::DuplicateTarget {
                    others: vec!["mo".into()]
                }
            ),
            (
                Some("lee"),
                &BlockReason::DuplicateTarget {
                    others: vec!["lea (line 2: a row wins over a rule)".into()]
                }
            ),
            (
                Some("max"),
                &BlockReason::DuplicateTarget {
                    others: vec![
                        "mo (line 3: a row wins over a rule)".into(),
                        "mia (line 4: a row wins over a rule)".into()
                    ]
                }
            ),
        ]
    );
}

#[test]
fn sign_outs_count_touched_accounts_that_can_sign_in() {
    let mut accounts = vec![];
    for (i, (id, status)) in [
        ("a", Status::Active),
        ("b", Status::Deactivated),
        ("c", Status::Active),
    ]
    .into_iter()
    .enumerate()
    {
        accounts.push(Account {
            id: Some(id.into()),
            name: "".into(),
            email: Email::lenient(&format!("{id}@x.example")),
            status,
            product_access: false,
            line: i as u64 + 2,
        });
    }
    let o = Org::new(accounts).unwrap();
    // a and b swap (a touched twice), c untouched.
    let c = plan(&o, &rows(&[("a", "b@x.example"), ("b", "a@x.example")]));
    assert_eq!((c.summary.accounts_touched, c.summary.signed_out), (2, 1));
}

#[test]
fn an_address_a_row_with_no_account_wants_is_not_given_to_another_account() {
    // Line 2: a copy-paste slip gives a the new address meant for person b; line 3: b's own
    // row, for b who has no Atlassian account yet.
    let o = org(&[("a", "a@x.example")]);
    let r = vec![
        TargetRow {
            file: 0,
            line: 2,
            account_id: Some("a".into()),
            current_email: None,
            target: Target::parse("b.new@x.example"),
        },
        TargetRow {
            file: 0,
            line: 3,
            account_id: None,
            current_email: Some("b@old.example".into()),
            target: Target::parse("B.New@x.example"),
        },
    ];
    let c = plan(&o, &r);
    assert!(c.steps.is_empty(), "{:?}", c.steps);
    assert_eq!(
        c.blocked
            .iter()
            .map(|b| (b.origin.clone(), b.reason.clone()))
            .collect::<Vec<_>>(),
        [(
            Origin::line(2),
            BlockReason::DuplicateTarget {
                others: vec!["line 3 (no Atlassian account yet)".into()]
            }
        )]
    );
    // b's row is still listed as one with no account.
    assert_eq!(c.no_account.len(), 1);
}

#[test]
fn an_internationalised_domain_is_verified_whichever_spelling_either_side_uses() {
    let o = org(&[("a", "a@old.example"), ("b", "b@old.example")]);
    let r = rows(&[("a", "a@bücher.example"), ("b", "b@xn--bcher-kva.example")]);
    // --verified-domains as the config keeps it: the IDNA key, however it was typed.
    let verified = BTreeSet::from([crate::model::domain_key("BÜCHER.example")]);
    let c = compute(&Request {
        org: &o,
        rows: &r,
        rules: &[],
        verified_domains: Some(&verified),
        access: &Access::default(),
    });
    assert!(c.blocked.is_empty(), "{:?}", c.blocked);
    assert_eq!(c.steps.len(), 2);
}

#[test]
fn a_target_whose_user_part_is_not_ascii_is_blocked_unless_allowed() {
    // The KELVIN SIGN looks like K and its Unicode lower case is the ASCII k: blocked, it frees
    // nobody (kim@x.example's holder stays).
    let o = org(&[
        ("a", "a@old.example"),
        ("b", "b@old.example"),
        ("k", "kim@x.example"),
    ]);
    let r = rows(&[("a", "t.strasseë@x.example"), ("b", "\u{212A}im@x.example")]);
    let c = plan(&o, &r);
    assert!(c.steps.is_empty(), "{:?}", c.steps);
    let codes: Vec<_> = c.blocked.iter().map(|b| b.reason.code()).collect();
    assert_eq!(codes, ["non_ascii_local_part", "non_ascii_local_part"]);
    // Allowed, the plain one is planned.
    let allowed = Access {
        allow_non_ascii_local: true,
        ..Access::default()
    };
    let c = plan_with(&o, &r[..1], &allowed);
    assert!(c.blocked.is_empty(), "{:?}", c.blocked);
    assert_eq!(c.steps.len(), 1);
    // Allowed, the KELVIN SIGN is still not the letter k: b is renamed (the review names it a
    // look-alike) and kim@x.example's holder is not freed.
    let c = plan_with(&o, &r, &allowed);
    assert!(c.blocked.is_empty(), "{:?}", c.blocked);
    let moved: Vec<(&str, &str)> = c.steps.iter().map(|s| (&*s.account_id, &*s.to)).collect();
    assert_eq!(
        moved,
        [("a", "t.strasseë@x.example"), ("b", "\u{212A}im@x.example")]
    );
}

#[test]
fn a_row_whose_account_already_has_its_target_is_met_not_without_account() {
    // Line 2: the export was taken after ann moved; line 3: bob's row, but another row moves
    // the holder of bob's target, so it is someone else; line 4: an ID that matches nobody
    // says who is meant, and it is not the holder.
    let o = org(&[
        ("a", "ann@new.example"),
        ("c", "bob@new.example"),
        ("d", "dee@new.example"),
    ]);
    let row = |line, id: Option<&str>, current: &str, target: &str| TargetRow {
        file: 0,
        line,
        account_id: id.map(str::to_owned),
        current_email: Some(current.to_owned()),
        target: Target::parse(target),
    };
    let r = vec![
        row(2, None, "ann@old.example", "Ann@new.example"),
        row(3, None, "bob@old.example", "bob@new.example"),
        row(4, Some("zz"), "dee@old.example", "dee@new.example"),
        row(5, Some("c"), "bob@new.example", "carl@new.example"),
    ];
    let c = plan(&o, &r);
    assert_eq!(c.unchanged.len(), 1, "{:?}", c.unchanged);
    let met = &c.unchanged[0];
    assert_eq!(
        (met.origin.clone(), met.account_id.as_str()),
        (Origin::line(2), "a")
    );
    assert_eq!(met.row_current.as_deref(), Some("ann@old.example"));
    let unmatched: Vec<Origin> = c.no_account.iter().map(|b| b.origin.clone()).collect();
    assert_eq!(unmatched, [Origin::line(3), Origin::line(4)]);
    assert_eq!(
        lines(&c),
        ["1 Rename c bob@new.example->carl@new.example []"]
    );
}

/// Who is left behind, with more domains than the short list searches: each of twelve old
/// domains is left by one account and kept by another (one of them in other letter case), and
/// an account moved onto an old domain counts too.
#[test]
fn who_is_left_behind_is_found_on_every_domain_of_a_many_domain_org() {
    let mut accounts: Vec<(String, String)> = Vec::new();
    let mut wishes: Vec<(String, String)> = Vec::new();
    for d in 0..12 {
        accounts.push((format!("m{d}"), format!("m{d}@old{d}.example")));
        wishes.push((format!("m{d}"), format!("m{d}@new{d}.example")));
        let kept = if d == 3 {
            format!("k{d}@OLD{d}.Example")
        } else {
            format!("k{d}@old{d}.example")
        };
        accounts.push((format!("k{d}"), kept));
    }
    // Onto an old domain, spelt in other case, from one no rename leaves: left behind there.
    accounts.push(("x".into(), "x@elsewhere.example".into()));
    wishes.push(("x".into(), "x@OLD7.Example".into()));
    let pairs: Vec<(&str, &str)> = accounts
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let o = org(&pairs);
    let wished: Vec<(&str, &str)> = wishes
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let c = plan(&o, &rows(&wished));
    let left: Vec<(&str, &str)> = c
        .left_behind
        .iter()
        .map(|l| (l.account_id.as_str(), l.email.as_str()))
        .collect();
    let mut expected: Vec<(String, String)> = (0..12)
        .map(|d| {
            let kept = if d == 3 {
                format!("k{d}@OLD{d}.Example")
            } else {
                format!("k{d}@old{d}.example")
            };
            (format!("k{d}"), kept)
        })
        .collect();
    expected.push(("x".into(), "x@OLD7.Example".into()));
    let expected: Vec<(&str, &str)> = expected
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    assert_eq!(left, expected);
}

#[test]
fn claims_decided_in_halves_meet_their_rivals_across_the_halves() {
    // Over 10,000 claims, so each half is decided on its own core.
    let n = 12_000;
    let accounts: Vec<(String, String)> = (0..n)
        .map(|i| (format!("a{i}"), format!("a{i}@old.example")))
        .collect();
    let refs: Vec<(&str, &str)> = accounts
        .iter()
        .map(|(id, email)| (id.as_str(), email.as_str()))
        .collect();
    let org = org(&refs);
    let wishes: Vec<(String, String)> = (0..n)
        .map(|i| {
            let target = match i {
                100 | 11_000 => "both@new.example".to_owned(),
                11_500 => "a11500@old.example".to_owned(),
                _ => format!("a{i}@new.example"),
            };
            (format!("a{i}"), target)
        })
        .collect();
    let wish_refs: Vec<(&str, &str)> = wishes
        .iter()
        .map(|(id, target)| (id.as_str(), target.as_str()))
        .collect();
    let p = plan(&org, &rows(&wish_refs));
    let blocked: Vec<(Option<&str>, &BlockReason)> = p
        .blocked
        .iter()
        .map(|b| (b.account_id.as_deref(), &b.reason))
        .collect();
    let rival = |id: &str| BlockReason::DuplicateTarget {
        others: vec![id.to_owned()],
    };
    assert_eq!(
        blocked,
        [
            (Some("a100"), &rival("a11000")),
            (Some("a11000"), &rival("a100"))
        ]
    );
    let unchanged: Vec<&str> = p.unchanged.iter().map(|u| u.account_id.as_str()).collect();
    assert_eq!(unchanged, ["a11500"]);
    assert_eq!(p.steps.len(), n - 3);
    assert!(
        p.steps
            .iter()
            .all(|s| s.to == format!("{}@new.example", s.account_id).into())
    );
}
