//! Which groups a resume still owes a settle re-read: a group one of whose steps had a write
//! with an uncertain outcome is read again once done (`exec::retry::after_settle`), since that
//! write may land after the steps that followed it. A run stopped (Ctrl-C, `kill -9`) between
//! the group's end and that read leaves every step done and the read not made; the journal
//! shows it, and the next run makes it before anything counts as done.

use super::record::Record;
use crate::model::StepId;
use hashbrown::HashMap;
use std::time::SystemTime;

/// A group owed a settle re-read, and when its last write was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owed {
    pub group: u32,
    /// The time of the group's latest intent, if the journal's time can be read: the write
    /// may be under way until the request timeout has passed since.
    pub last_sent: Option<SystemTime>,
}

/// The groups of `records` with an uncertain write and no `settled` record since, in order of
/// their group number. `group_of` gives a step's group (`None` for a step not in the plan).
///
/// An attempt is uncertain when its intent is followed by another intent of the step (it was
/// sent again: its outcome was not known), by a `done` learnt by reading the account (no
/// answer said so), or by nothing at all (a dead run's write). A failure or skip in the group
/// after it settles the debt: the step is reported already, and `--retry-failed` reads it.
pub fn owed_settles(records: &[Record], group_of: &dyn Fn(StepId) -> Option<u32>) -> Vec<Owed> {
    let mut open: HashMap<StepId, bool> = HashMap::new();
    let mut owed: HashMap<u32, Option<SystemTime>> = HashMap::new();
    let mut last_sent: HashMap<u32, Option<SystemTime>> = HashMap::new();
    for record in records {
        match record {
            Record::Intent { step, at, .. } => {
                let group = group_of(*step);
                if let Some(g) = group {
                    last_sent.insert(g, humantime::parse_rfc3339_weak(at).ok());
                }
                if open.insert(*step, true) == Some(true) {
                    owe(group, &mut owed, &last_sent);
                }
            }
            Record::Done { step, status, .. } => {
                if open.remove(step) == Some(true) && status.is_none() {
                    owe(group_of(*step), &mut owed, &last_sent);
                }
            }
            Record::NotApplied { step, .. } => {
                open.remove(step);
            }
            Record::Failed { step, .. } | Record::Skipped { step, .. } => {
                open.remove(step);
                if let Some(g) = group_of(*step) {
                    owed.remove(&g);
                }
            }
            Record::Settled { group, .. } => {
                owed.remove(group);
            }
            Record::Run { .. } => {}
        }
    }
    // A dead run's write, never answered.
    for (step, still) in open {
        if still {
            owe(group_of(step), &mut owed, &last_sent);
        }
    }
    let mut out: Vec<Owed> = owed
        .into_iter()
        .map(|(group, last_sent)| Owed { group, last_sent })
        .collect();
    out.sort_unstable_by_key(|o| o.group);
    out
}

/// Marks `group` owed, with the time of its latest intent.
fn owe(
    group: Option<u32>,
    owed: &mut HashMap<u32, Option<SystemTime>>,
    last_sent: &HashMap<u32, Option<SystemTime>>,
) {
    if let Some(g) = group {
        owed.insert(g, last_sent.get(&g).copied().flatten());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intent(step: u32) -> Record {
        Record::Intent {
            step: StepId(step),
            attempt: 1,
            at: "2026-12-01T10:00:00Z".into(),
        }
    }

    fn done(step: u32, status: Option<u16>) -> Record {
        Record::Done {
            step: StepId(step),
            status,
            attempts: 1,
            at: String::new(),
        }
    }

    fn settled(group: u32) -> Record {
        Record::Settled {
            group,
            at: String::new(),
        }
    }

    /// Steps 1–3 are group 1 (a swap), 4 is group 2.
    fn group_of(step: StepId) -> Option<u32> {
        match step.0 {
            1..=3 => Some(1),
            4 => Some(2),
            _ => None,
        }
    }

    fn groups(records: &[Record]) -> Vec<u32> {
        owed_settles(records, &group_of)
            .into_iter()
            .map(|o| o.group)
            .collect()
    }

    #[test]
    fn a_group_with_an_uncertain_write_is_owed_a_settle_until_it_is_settled() {
        // Every step answered 204: nothing is owed.
        let clean = [intent(1), done(1, Some(204)), intent(4), done(4, Some(204))];
        assert!(groups(&clean).is_empty());
        // Step 1 sent twice (its first answer said nothing), then the group done.
        let resent = [
            intent(1),
            intent(1),
            done(1, Some(204)),
            intent(2),
            done(2, Some(204)),
            intent(3),
            done(3, Some(204)),
        ];
        assert_eq!(groups(&resent), vec![1]);
        let mut then_settled = resent.to_vec();
        then_settled.push(settled(1));
        assert!(groups(&then_settled).is_empty());
        // Done learnt by reading the account (a resume's check), and a dead run's write.
        assert_eq!(groups(&[intent(2), done(2, None)]), vec![1]);
        assert_eq!(groups(&[intent(4)]), vec![2]);
        // A 429 between two intents is no uncertainty.
        let limited = [
            intent(4),
            Record::NotApplied {
                step: StepId(4),
                at: String::new(),
            },
            intent(4),
            done(4, Some(204)),
        ];
        assert!(groups(&limited).is_empty());
        // A failure in the group settles the debt: it is reported already.
        let failed = [
            intent(1),
            intent(1),
            Record::Failed {
                step: StepId(1),
                status: None,
                key: Some("lateWrite".into()),
                message: String::new(),
                attempts: 2,
                at: String::new(),
            },
        ];
        assert!(groups(&failed).is_empty());
        // The last intent's time is kept, for when the write can no longer be under way.
        let owed = owed_settles(&[intent(4)], &group_of);
        assert!(owed[0].last_sent.is_some());
    }
}
