//! What a run's failures have in common — the same API answer, the same target domain, the same
//! kind of step — so that a safety stop names the likely cause instead of leaving the operator to
//! read fifty rows. Pure over the plan and the journal's records.

use super::kind_text;
use crate::journal::Record;
use crate::plan::{Plan, Step, StepKind};
use hashbrown::HashMap;

/// One failed step and the API's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure<'a> {
    pub step: &'a Step,
    pub status: Option<u16>,
    pub key: Option<&'a str>,
    pub message: &'a str,
}

/// The failures the journal records since its last `run` record: those of the run just ended.
pub fn failures_of_last_run<'a>(plan: &'a Plan, records: &'a [Record]) -> Vec<Failure<'a>> {
    let start = records
        .iter()
        .rposition(|r| matches!(r, Record::Run { .. }))
        .map_or(0, |i| i + 1);
    records[start..]
        .iter()
        .filter_map(|r| match r {
            Record::Failed {
                step,
                status,
                key,
                message,
                ..
            } => Some(Failure {
                step: plan.steps.get(step.index())?,
                status: *status,
                key: key.as_deref(),
                message,
            }),
            _ => None,
        })
        .collect()
}

/// A share of the failures counts as "in common" from this fraction up.
const COMMON: f64 = 0.8;

/// Sentences naming what most failures share, then what to do about it. Empty when nothing did.
pub fn common_cause(failures: &[Failure<'_>]) -> Vec<String> {
    let total = failures.len();
    if total == 0 {
        return Vec::new();
    }
    let mut lines = Vec::new();
    let of = |n: usize| {
        if n == total {
            format!("all {total}")
        } else {
            format!("{n} of {total}")
        }
    };
    if let Some((answer, n)) = most_common(failures, answer_of) {
        let example = failures
            .iter()
            .find(|f| answer_of(f) == answer)
            .map(|f| f.message)
            .unwrap_or_default();
        lines.push(format!(
            "{} got the same answer: {answer} ({example})",
            of(n)
        ));
        if let Some(hint) = hint(&answer) {
            lines.push(hint.to_owned());
        }
    }
    if let Some((domain, n)) = most_common(failures, |f| domain_of(&f.step.to).to_owned()) {
        lines.push(format!("{} were moving to an address on {domain}", of(n)));
    }
    // Most steps are renames; only a free or temporary step in common says something.
    if let Some((kind, n)) = most_common(failures, |f| f.step.kind)
        && kind != StepKind::Rename
    {
        lines.push(format!("{} were {} steps", of(n), kind_text(kind)));
    }
    lines
}

/// The value most failures share, if at least `COMMON` of them (and two, unless there is one).
fn most_common<'a, K: std::hash::Hash + Eq + Clone>(
    failures: &[Failure<'a>],
    key: impl Fn(&Failure<'a>) -> K,
) -> Option<(K, usize)> {
    let mut counts: HashMap<K, usize> = HashMap::new();
    for f in failures {
        *counts.entry(key(f)).or_default() += 1;
    }
    let (k, n) = counts.into_iter().max_by_key(|(_, n)| *n)?;
    let total = failures.len();
    (n as f64 >= COMMON * total as f64 && (n >= 2 || total == 1)).then_some((k, n))
}

fn answer_of(f: &Failure<'_>) -> String {
    let status = f.status.map(|s| format!("HTTP {s}"));
    match (status, f.key) {
        (Some(s), Some(k)) => format!("{s} {k}"),
        (Some(s), None) => s,
        (None, Some(k)) => k.to_owned(),
        (None, None) => "no answer".to_owned(),
    }
}

/// What to do about a common answer, for the answers whose cause is known.
fn hint(answer: &str) -> Option<&'static str> {
    let key = answer.rsplit(' ').next().unwrap_or(answer);
    Some(match key {
        "forbidden.unclaimedDomain" => {
            "Verify the domain in admin.atlassian.com (Settings > Domains), or plan again with --verified-domains so these changes are blocked instead."
        }
        "externalDirectory.scim" => {
            "These accounts' addresses are owned by the identity provider: change them there (SCIM), or plan again with --org-id so that they go on the IdP checklist and their addresses are freed first."
        }
        "email.taken" => {
            "Addresses the plan expected to be free are held by accounts it did not know: plan again from a fresh export."
        }
        "accountNotFound" => {
            "The accounts are not in this org (or were deleted): check --api-url and the key, or plan again from a fresh export."
        }
        _ if answer.starts_with("HTTP 403") => {
            "The API key may lack the right to change emails (email.set), belong to another org, or have been created with scopes (the user management API refuses such a key on every call: create one without scopes under admin.atlassian.com > Settings > API keys)."
        }
        _ => return None,
    })
}

fn domain_of(address: &str) -> &str {
    address.rsplit_once('@').map_or("", |(_, d)| d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::StepId;

    fn step(id: u32, kind: StepKind, to: &str) -> Step {
        Step {
            id: StepId(id),
            group: id,
            kind,
            account_id: format!("acc-{id}").into(),
            name: "".into(),
            status: crate::model::Status::Active,
            product_access: false,
            from: format!("u{id}@old.example").into(),
            to: to.into(),
            after: crate::plan::After::default(),
            origin: None,
        }
    }

    fn failure<'a>(step: &'a Step, status: u16, key: &'a str) -> Failure<'a> {
        Failure {
            step,
            status: Some(status),
            key: Some(key),
            message: "the target's domain new.example is not a verified domain of the org",
        }
    }

    #[test]
    fn one_answer_and_one_domain_are_named_with_what_to_do() {
        let steps: Vec<Step> = (1..=6)
            .map(|i| step(i, StepKind::Rename, &format!("u{i}@new.example")))
            .collect();
        let failures: Vec<Failure> = steps
            .iter()
            .map(|s| failure(s, 403, "forbidden.unclaimedDomain"))
            .collect();
        let lines = common_cause(&failures);
        assert_eq!(
            lines,
            vec![
                "all 6 got the same answer: HTTP 403 forbidden.unclaimedDomain (the target's domain new.example is not a verified domain of the org)".to_owned(),
                "Verify the domain in admin.atlassian.com (Settings > Domains), or plan again with --verified-domains so these changes are blocked instead.".to_owned(),
                "all 6 were moving to an address on new.example".to_owned(),
            ]
        );
    }

    #[test]
    fn a_mixed_bag_names_only_what_most_share() {
        let steps = [
            step(1, StepKind::Free, "a_FREE@x.example"),
            step(2, StepKind::Free, "b_FREE@y.example"),
            step(3, StepKind::Free, "c_FREE@z.example"),
            step(4, StepKind::Free, "d_FREE@w.example"),
            step(5, StepKind::Free, "e_FREE@v.example"),
        ];
        let keys = ["k1", "k2", "k3", "k1", "k2"];
        let failures: Vec<Failure> = steps
            .iter()
            .zip(keys)
            .map(|(s, k)| failure(s, 400, k))
            .collect();
        // No answer and no domain reaches 80%; the kind does.
        assert_eq!(common_cause(&failures), vec!["all 5 were free steps"]);
        // A generic 403 gets the rights hint; four of five is common enough.
        let mut failures: Vec<Failure> = steps
            .iter()
            .map(|s| failure(s, 403, "forbidden.action"))
            .collect();
        failures[4].status = Some(400);
        let lines = common_cause(&failures);
        assert!(lines[0].starts_with("4 of 5 got the same answer: HTTP 403 forbidden.action"));
        assert!(lines[1].contains("email.set"), "{lines:?}");
    }

    #[test]
    fn only_the_last_runs_failures_are_taken() {
        let steps = vec![
            step(1, StepKind::Rename, "a@n"),
            step(2, StepKind::Rename, "b@n"),
        ];
        let plan = crate::plan::plan_of(steps);
        let failed = |step| Record::Failed {
            step: StepId(step),
            status: Some(400),
            key: None,
            message: "m".into(),
            attempts: 1,
            at: String::new(),
        };
        let run = |run| Record::Run {
            run,
            pid: 1,
            at: String::new(),
            scope: None,
            api: None,
            org: None,
        };
        let records = vec![run(1), failed(1), run(2), failed(2), failed(99)];
        let got = failures_of_last_run(&plan, &records);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].step.id, 2);
    }
}
