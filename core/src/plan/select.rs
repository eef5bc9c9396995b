//! Which steps a pilot run takes (`apply --limit`, `--only`, `--exclude`): pure over the plan's
//! steps and the journal's states. The unit is a dependency group — steps joined by `after` or by
//! sharing an account — so a free and the rename that needs it, or a cycle's steps, run together
//! or not at all, and a pilot never leaves an account parked on a temporary address.

use crate::journal::StepState;
use crate::model::email_key;
use crate::plan::{Groups, Plan, Step, StepId};
use hashbrown::HashMap;
use std::path::PathBuf;

/// One account named in an `--only`/`--exclude` file: an account ID or an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub line: u64,
    pub text: String,
}

/// An `--only`/`--exclude` file, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountList {
    pub path: PathBuf,
    pub entries: Vec<Entry>,
}

/// One account per line; blank lines and lines starting with `#` are left out, as are
/// surrounding spaces and a byte-order mark.
pub fn parse_list(text: &str) -> Vec<Entry> {
    text.trim_start_matches('\u{feff}')
        .lines()
        .enumerate()
        .map(|(i, l)| (i as u64 + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
        .map(|(line, l)| Entry {
            line,
            text: l.to_owned(),
        })
        .collect()
}

/// What the operator asked this run to take.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// At most this many steps (whole groups; at least the first group).
    pub limit: Option<usize>,
    pub only: Option<AccountList>,
    pub exclude: Option<AccountList>,
}

impl Selection {
    /// The whole plan: no pilot.
    pub fn is_all(&self) -> bool {
        self.limit.is_none() && self.only.is_none() && self.exclude.is_none()
    }

    /// The flags as the journal and `status` show them, e.g. `--limit 5 --only pilot.txt`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(n) = self.limit {
            parts.push(format!("--limit {n}"));
        }
        for (flag, list) in [("--only", &self.only), ("--exclude", &self.exclude)] {
            if let Some(list) = list {
                parts.push(format!("{flag} {}", list.path.display()));
            }
        }
        parts.join(" ")
    }
}

/// A line of an `--only`/`--exclude` list that names no account a step moves, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unnamed {
    pub line: u64,
    pub entry: String,
    pub why: String,
}

/// What a line that matches no step is, when the plan does not tell more.
const NO_STEP: &str = "is not an account ID or address of any step in the plan (a typo?)";

/// A selection that cannot be used as given.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SelectError {
    /// Lines of `--only`/`--exclude` match no account a step moves: a typo there would
    /// silently run (or spare) the wrong accounts. Every such line at once, each with why.
    #[error(
        "{}: {} no account that a step of the plan moves; fix or remove {}:{}",
        path.display(),
        if lines.len() == 1 { "a line names".to_owned() } else { format!("{} lines name", lines.len()) },
        if lines.len() == 1 { "it" } else { "them" },
        each_line(path, lines)
    )]
    NoMatch { path: PathBuf, lines: Vec<Unnamed> },
}

/// Each unnamed line on a line of its own, with its place and reason.
fn each_line(path: &std::path::Path, lines: &[Unnamed]) -> String {
    use std::fmt::Write as _;
    lines.iter().fold(String::new(), |mut text, u| {
        let _ = write!(
            text,
            "\n  {}:{}: {:?} {}",
            path.display(),
            u.line,
            u.entry,
            u.why
        );
        text
    })
}

impl SelectError {
    /// The same error, each line's reason taken from what the plan says of that account: blocked
    /// (with its reason: the operator's own account among them), owned by the identity provider,
    /// already at its target, or a row with no Atlassian account.
    #[must_use]
    pub fn explained(self, plan: &Plan) -> SelectError {
        let SelectError::NoMatch { path, mut lines } = self;
        for u in &mut lines {
            if let Some(why) = why_not_moved(plan, &u.entry) {
                u.why = why;
            }
        }
        SelectError::NoMatch { path, lines }
    }
}

/// Why no step moves the account `entry` names, as far as the plan knows it.
fn why_not_moved(plan: &Plan, entry: &str) -> Option<String> {
    let key = email_key(entry);
    let names = |id: Option<&str>, addresses: &[&str]| {
        id == Some(entry) || addresses.iter().any(|a| email_key(a) == key)
    };
    if let Some(b) = plan.blocked.iter().find(|b| {
        names(
            b.account_id.as_deref(),
            &[b.current.as_deref().unwrap_or(""), &b.target],
        )
    }) {
        return Some(format!(
            "is blocked in the plan, so no step moves it: {}",
            b.reason.describe()
        ));
    }
    if let Some(m) = plan
        .idp
        .iter()
        .find(|m| names(Some(&m.account_id), &[&m.current, &m.target]))
    {
        return Some(format!(
            "is changed in the identity provider, not by the plan (IdP change {} of the checklist)",
            m.order
        ));
    }
    if let Some(u) = plan
        .unchanged
        .iter()
        .find(|u| names(Some(&u.account_id), &[&u.current, &u.target]))
    {
        return Some(format!(
            "is already at its target {}: nothing to do",
            u.target
        ));
    }
    plan.no_account
        .iter()
        .find(|b| {
            names(
                b.account_id.as_deref(),
                &[b.current.as_deref().unwrap_or(""), &b.target],
            )
        })
        .map(|_| "is a row of the target list with no Atlassian account".to_owned())
}

/// The steps this run may start, and what stays for later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// By step index: this run may start (or settle) the step.
    pub chosen: Vec<bool>,
    /// Unfinished steps and their groups this run takes.
    pub steps: usize,
    pub groups: usize,
    /// Unfinished steps and groups left for a later run.
    pub left_steps: usize,
    pub left_groups: usize,
    /// `--limit` was smaller than the first group, which is taken whole: its size.
    pub first_group_over_limit: Option<usize>,
    /// Groups an earlier run left in flight, taken whatever the selection: their writes may
    /// have landed, and only this run's check can tell.
    pub settled_anyway: usize,
}

/// Which steps this run takes. Groups with nothing left to do are passed over; `--only` keeps
/// the groups that touch a listed account, `--exclude` drops them, and `--limit` then takes
/// groups in plan order while they fit (the first one always, whole). `groups`: the steps'
/// group index, built once from the plan by whoever runs it.
pub fn choose(
    steps: &[Step],
    groups: &Groups,
    states: &[StepState],
    selection: &Selection,
) -> Result<Choice, SelectError> {
    let group_of: Vec<usize> = (0..steps.len())
        .map(|i| groups.index_of(StepId::of_index(i)).unwrap_or(0))
        .collect();
    let only = selection
        .only
        .as_ref()
        .map(|l| named_groups(steps, &group_of, groups.len(), l))
        .transpose()?;
    let exclude = selection
        .exclude
        .as_ref()
        .map(|l| named_groups(steps, &group_of, groups.len(), l))
        .transpose()?;
    let state = |i: u32| states.get(i as usize).unwrap_or(&StepState::Pending);
    let mut choice = Choice {
        chosen: vec![false; steps.len()],
        steps: 0,
        groups: 0,
        left_steps: 0,
        left_groups: 0,
        first_group_over_limit: None,
        settled_anyway: 0,
    };
    let open: Vec<Open> = groups
        .iter()
        .enumerate()
        .filter_map(|(g, members)| {
            // Only what is left matters to the scheduler and to the counts.
            let members: Vec<u32> = members
                .iter()
                .map(|id| id.index() as u32)
                .filter(|&i| !state(i).is_final())
                .collect();
            let unfinished = members.len();
            let in_flight = members
                .iter()
                .any(|&i| matches!(state(i), StepState::InFlight { retried: false, .. }));
            let wanted =
                only.as_ref().is_none_or(|o| o[g]) && !exclude.as_ref().is_some_and(|e| e[g]);
            (unfinished > 0).then_some(Open {
                members,
                unfinished,
                in_flight,
                wanted,
            })
        })
        .collect();
    // First what an earlier run left in flight, whatever the lists say; it counts against
    // the limit like any other step.
    for g in open.iter().filter(|g| g.in_flight) {
        choice.settled_anyway += usize::from(!g.wanted);
        choice.take(g);
    }
    let mut limit_reached = false;
    for g in open.iter().filter(|g| !g.in_flight) {
        let fits = selection
            .limit
            .is_none_or(|limit| choice.steps + g.unfinished <= limit);
        if g.wanted && !limit_reached && (fits || choice.steps == 0) {
            if !fits {
                choice.first_group_over_limit = Some(g.unfinished);
            }
            choice.take(g);
        } else {
            // Plan order: once a group does not fit, a later, smaller one does not jump ahead.
            limit_reached |= g.wanted;
            choice.left_steps += g.unfinished;
            choice.left_groups += 1;
        }
    }
    Ok(choice)
}

/// Leaves out of the run the whole groups of these steps (accounts that drifted, say); returns
/// how many groups were dropped.
pub fn drop_groups(groups: &Groups, choice: &mut Choice, step_ids: &[StepId]) -> usize {
    let hit_ids: hashbrown::HashSet<StepId> = step_ids.iter().copied().collect();
    let mut dropped = 0;
    for members in groups.iter() {
        let hit = members
            .iter()
            .any(|&id| hit_ids.contains(&id) && choice.chosen[id.index()]);
        if !hit {
            continue;
        }
        dropped += 1;
        let mut unfinished = 0;
        for &id in members {
            if choice.chosen[id.index()] {
                choice.chosen[id.index()] = false;
                unfinished += 1;
            }
        }
        choice.steps -= unfinished;
        choice.groups -= 1;
        choice.left_steps += unfinished;
        choice.left_groups += 1;
    }
    dropped
}

/// A group with something left to do.
struct Open {
    members: Vec<u32>,
    unfinished: usize,
    in_flight: bool,
    /// Kept by `--only` and not dropped by `--exclude`.
    wanted: bool,
}

impl Choice {
    fn take(&mut self, g: &Open) {
        self.steps += g.unfinished;
        self.groups += 1;
        for &i in &g.members {
            self.chosen[i as usize] = true;
        }
    }
}

/// Which groups a list names, by account ID or by an address a step moves from or to.
fn named_groups(
    steps: &[Step],
    group_of: &[usize],
    count: usize,
    list: &AccountList,
) -> Result<Vec<bool>, SelectError> {
    let mut by_key: HashMap<String, usize> = HashMap::with_capacity(steps.len() * 2);
    for (i, s) in steps.iter().enumerate() {
        let g = group_of[i];
        by_key.insert(s.account_id.to_string(), g);
        by_key.insert(email_key(&s.from), g);
        by_key.insert(email_key(&s.to), g);
    }
    let mut named = vec![false; count];
    let mut unnamed = Vec::new();
    for e in &list.entries {
        match by_key
            .get(e.text.as_str())
            .or_else(|| by_key.get(&email_key(&e.text)))
        {
            Some(&g) => named[g] = true,
            None => unnamed.push(Unnamed {
                line: e.line,
                entry: e.text.clone(),
                why: NO_STEP.to_owned(),
            }),
        }
    }
    if unnamed.is_empty() {
        Ok(named)
    } else {
        Err(SelectError::NoMatch {
            path: list.path.clone(),
            lines: unnamed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::step_of as step;

    /// The plan's groups as step indices, groups in plan order, steps in plan order: how
    /// `Groups` reads them, in the shape these tests compare.
    fn groups(steps: &[Step]) -> Vec<Vec<u32>> {
        Groups::of_steps(steps)
            .iter()
            .map(|members| members.iter().map(|id| id.index() as u32).collect())
            .collect()
    }

    /// Group A: a free (1) and the rename that takes the freed address (2). Group B: one
    /// rename (3). Group C: a swap through a temporary address (4, 5, 6). Group D: one rename (7).
    /// Each step carries its group, as the planner writes it.
    fn plan() -> Vec<Step> {
        vec![
            in_group(1, step(1, "holder", "x@old", "x_FREE@old", &[])),
            in_group(1, step(2, "a", "a@old", "x@old", &[1])),
            in_group(2, step(3, "b", "b@old", "b@new", &[])),
            in_group(3, step(4, "c", "c@new", "c_MOVING@new", &[])),
            in_group(3, step(5, "d", "d@new", "c@new", &[4])),
            in_group(3, step(6, "c", "c_MOVING@new", "d@new", &[5, 4])),
            in_group(4, step(7, "e", "e@old", "e@new", &[])),
        ]
    }

    fn in_group(group: u32, step: Step) -> Step {
        Step { group, ..step }
    }

    fn list(lines: &str) -> AccountList {
        AccountList {
            path: "pilot.txt".into(),
            entries: parse_list(lines),
        }
    }

    fn chosen_ids(c: &Choice) -> Vec<u32> {
        (1..=c.chosen.len() as u32)
            .filter(|&id| c.chosen[id as usize - 1])
            .collect()
    }

    fn with_limit(limit: usize) -> Selection {
        Selection {
            limit: Some(limit),
            ..Selection::default()
        }
    }

    #[test]
    fn groups_are_the_plans_own_in_plan_order() {
        assert_eq!(
            groups(&plan()),
            vec![vec![0, 1], vec![2], vec![3, 4, 5], vec![6]]
        );
        // A group whose steps are not next to each other is still one group, at its first step.
        let steps = vec![
            in_group(1, step(1, "a", "a@1", "a@2", &[])),
            in_group(2, step(2, "b", "b@1", "b@2", &[])),
            in_group(1, step(3, "a", "a@2", "a@3", &[])),
        ];
        assert_eq!(groups(&steps), vec![vec![0, 2], vec![1]]);
    }

    #[test]
    fn a_limit_takes_whole_groups_in_plan_order() {
        let steps = plan();
        // 1: the first group has two steps and is taken whole.
        let c = choose(&steps, &Groups::of_steps(&steps), &[], &with_limit(1)).unwrap();
        assert_eq!(chosen_ids(&c), vec![1, 2]);
        assert_eq!(c.first_group_over_limit, Some(2));
        assert_eq!(
            (c.steps, c.groups, c.left_steps, c.left_groups),
            (2, 1, 5, 3)
        );
        // 3: groups A and B fit; the swap would overflow, and the rename after it waits its turn.
        let c = choose(&steps, &Groups::of_steps(&steps), &[], &with_limit(4)).unwrap();
        assert_eq!(chosen_ids(&c), vec![1, 2, 3]);
        assert_eq!(c.first_group_over_limit, None);
        let c = choose(&steps, &Groups::of_steps(&steps), &[], &with_limit(100)).unwrap();
        assert_eq!(chosen_ids(&c), (1..=7).collect::<Vec<_>>());
    }

    #[test]
    fn finished_groups_do_not_count_against_the_limit() {
        let steps = plan();
        let done = StepState::Done {
            status: Some(204),
            attempts: 1,
        };
        let states = vec![
            done.clone(),
            done,
            StepState::Pending,
            StepState::Pending,
            StepState::Pending,
            StepState::Pending,
            StepState::Pending,
        ];
        let c = choose(&steps, &Groups::of_steps(&steps), &states, &with_limit(1)).unwrap();
        assert_eq!(chosen_ids(&c), vec![3]);
        assert_eq!((c.steps, c.left_steps), (1, 4));
    }

    #[test]
    fn only_takes_the_groups_of_the_listed_accounts_by_id_or_address() {
        let steps = plan();
        // "a" needs the holder's free; "D@NEW" (any case) is the swap's other side.
        let selection = Selection {
            only: Some(list("# pilot\n\na\n  D@NEW  \n")),
            ..Selection::default()
        };
        let c = choose(&steps, &Groups::of_steps(&steps), &[], &selection).unwrap();
        assert_eq!(chosen_ids(&c), vec![1, 2, 4, 5, 6]);
        assert_eq!((c.left_steps, c.left_groups), (2, 2));
    }

    #[test]
    fn exclude_spares_whole_groups_and_combines_with_only_and_limit() {
        let steps = plan();
        let selection = Selection {
            exclude: Some(list("x_FREE@old\nc\n")),
            ..Selection::default()
        };
        assert_eq!(
            chosen_ids(&choose(&steps, &Groups::of_steps(&steps), &[], &selection).unwrap()),
            vec![3, 7]
        );
        let selection = Selection {
            limit: Some(1),
            only: Some(list("b\ne@old\nholder\n")),
            exclude: Some(list("holder\n")),
        };
        assert_eq!(
            chosen_ids(&choose(&steps, &Groups::of_steps(&steps), &[], &selection).unwrap()),
            vec![3]
        );
    }

    #[test]
    fn a_line_that_names_no_account_is_refused_with_its_place() {
        let selection = Selection {
            exclude: Some(list("a\n\nnobody@old\n")),
            ..Selection::default()
        };
        assert_eq!(
            choose(&plan(), &Groups::of_steps(&plan()), &[], &selection),
            Err(SelectError::NoMatch {
                path: "pilot.txt".into(),
                lines: vec![Unnamed {
                    line: 3,
                    entry: "nobody@old".into(),
                    why: NO_STEP.into()
                }]
            })
        );
    }

    #[test]
    fn every_line_that_names_no_step_is_refused_at_once_with_its_real_reason() {
        use crate::plan::{BlockReason, Blocked, IdpMove, Origin, Unchanged};
        let mut p = crate::plan::plan_of(plan());
        p.blocked.push(Blocked {
            origin: Origin::line(4),
            account_id: Some("me".into()),
            name: String::new(),
            current: Some("me@old".into()),
            target: "me@new".into(),
            reason: BlockReason::OwnAccount {},
        });
        p.idp.push(IdpMove {
            order: 2,
            origin: Origin::line(5),
            account_id: "pat".into(),
            name: String::new(),
            current: "pat@old".into(),
            target: "pat@new".into(),
            source: "externalDirectory.scim".into(),
            after_steps: vec![],
            after_idp: vec![],
        });
        p.unchanged.push(Unchanged {
            origin: Origin::line(6),
            account_id: "done".into(),
            current: "done@new".into(),
            target: "done@new".into(),
            case_only: false,
            row_current: None,
        });
        let selection = Selection {
            only: Some(list(
                "me
a
pat@old
DONE@new
nobody@old
",
            )),
            ..Selection::default()
        };
        let err = choose(&p.steps, &Groups::of_steps(&p.steps), &[], &selection)
            .unwrap_err()
            .explained(&p);
        let SelectError::NoMatch { lines, .. } = &err;
        let got: Vec<(u64, &str)> = lines.iter().map(|u| (u.line, u.why.as_str())).collect();
        assert_eq!(got.len(), 4, "{err}");
        assert!(got[0].1.starts_with("is blocked in the plan") && got[0].1.contains("--operator"));
        assert_eq!(
            got[1],
            (
                3,
                "is changed in the identity provider, not by the plan (IdP change 2 of the checklist)"
            )
        );
        assert_eq!(
            got[2],
            (4, "is already at its target done@new: nothing to do")
        );
        assert_eq!(got[3], (5, NO_STEP));
        assert!(
            err.to_string()
                .starts_with("pilot.txt: 4 lines name no account"),
            "{err}"
        );
    }

    #[test]
    fn a_group_left_in_flight_is_settled_whatever_the_selection() {
        let steps = plan();
        let mut states = vec![StepState::Pending; 7];
        states[4] = StepState::InFlight {
            attempt: 1,
            sent: None,
            retried: false,
        };
        let selection = Selection {
            limit: Some(1),
            exclude: Some(list("d\n")),
            ..Selection::default()
        };
        let c = choose(&steps, &Groups::of_steps(&steps), &states, &selection).unwrap();
        assert_eq!(chosen_ids(&c), vec![4, 5, 6]);
        assert_eq!(c.settled_anyway, 1);
    }

    #[test]
    fn the_list_parser_keeps_line_numbers_and_drops_comments() {
        assert_eq!(
            parse_list("\u{feff}a\n# no\n\n b@x \r\n"),
            vec![
                Entry {
                    line: 1,
                    text: "a".into()
                },
                Entry {
                    line: 4,
                    text: "b@x".into()
                }
            ]
        );
    }

    #[test]
    fn dropping_a_drifted_step_drops_its_whole_group() {
        let steps = plan();
        let mut c = choose(
            &steps,
            &Groups::of_steps(&steps),
            &[],
            &Selection::default(),
        )
        .unwrap();
        // Step 5 (d takes c's address) drifted: the whole swap stays for later.
        assert_eq!(
            drop_groups(&Groups::of_steps(&steps), &mut c, &[StepId(5)]),
            1
        );
        assert_eq!(chosen_ids(&c), vec![1, 2, 3, 7]);
        assert_eq!(
            (c.steps, c.groups, c.left_steps, c.left_groups),
            (4, 3, 3, 1)
        );
    }
}
