//! Which step may run next: pure bookkeeping over the plan's dependencies. A step runs once every
//! step in its `after` is done, never while another step on the same account is running, and
//! never if a step it needs failed or was skipped (it is skipped, with the step to blame).
//! Among ready steps, plan order wins.

use crate::journal::StepState;
use crate::plan::{Step, StepId};
use hashbrown::HashMap;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// Waiting for steps it needs.
    Waiting,
    /// Its needs are met; queued.
    Ready,
    Running,
    Done,
    /// Failed or skipped.
    Lost,
    /// Left for a later run by a pilot's selection.
    Deferred,
}

#[derive(Debug, Clone)]
pub struct Scheduler {
    slots: Vec<Slot>,
    /// Unfinished steps each step still needs.
    needs: Vec<u32>,
    /// Steps that need each step (by index).
    dependants: Vec<Vec<u32>>,
    account: Vec<u32>,
    busy: Vec<bool>,
    ready: BinaryHeap<Reverse<u32>>,
    /// Ready steps held back because their account is busy, by account.
    held: HashMap<u32, Vec<u32>>,
    unfinished: usize,
}

/// A step that will not run because `because` (a step id) failed or was skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Skip {
    pub step: StepId,
    pub because: StepId,
}

impl Scheduler {
    /// The scheduler for `steps` given what the journal says (`states`, index `id - 1`). Steps
    /// the journal shows in flight are returned as running, to be checked first. The skips are
    /// steps that need a failed or skipped one and are not yet recorded as skipped. `chosen`
    /// (by index; empty for all) is a pilot's selection: other steps are left alone.
    pub fn new(
        steps: &[Step],
        states: &[StepState],
        chosen: &[bool],
    ) -> (Scheduler, Vec<StepId>, Vec<Skip>) {
        let n = steps.len();
        let mut accounts: HashMap<&str, u32> = HashMap::new();
        let account: Vec<u32> = steps
            .iter()
            .map(|s| {
                let next = accounts.len() as u32;
                *accounts.entry(&*s.account_id).or_insert(next)
            })
            .collect();
        let mut dependants = vec![Vec::new(); n];
        let needs = vec![0u32; n];
        let mut slots = vec![Slot::Waiting; n];
        let mut in_flight = Vec::new();
        let mut unfinished = 0;
        for (i, step) in steps.iter().enumerate() {
            slots[i] = match states.get(i) {
                Some(StepState::Done { .. }) => Slot::Done,
                Some(StepState::Failed { .. } | StepState::Skipped { .. }) => Slot::Lost,
                Some(StepState::InFlight { .. }) => {
                    in_flight.push(step.id);
                    unfinished += 1;
                    Slot::Running
                }
                Some(StepState::Pending) | None if chosen.get(i) == Some(&false) => Slot::Deferred,
                Some(StepState::Pending) | None => {
                    unfinished += 1;
                    Slot::Waiting
                }
            };
            for &d in &step.after {
                if let Some(j) = index(d, n) {
                    dependants[j].push(i as u32);
                }
            }
        }
        let mut busy = vec![false; accounts.len()];
        for &id in &in_flight {
            busy[account[id.index()] as usize] = true;
        }
        let mut s = Scheduler {
            slots,
            needs,
            dependants,
            account,
            busy,
            ready: BinaryHeap::new(),
            held: HashMap::new(),
            unfinished,
        };
        let mut skips = Vec::new();
        for (i, step) in steps.iter().enumerate() {
            if s.slots[i] != Slot::Waiting {
                continue;
            }
            let mut lost_need = None;
            for &d in &step.after {
                match index(d, n).map(|j| s.slots[j]) {
                    Some(Slot::Done) | None => {}
                    Some(Slot::Lost) => lost_need = lost_need.or(Some(d)),
                    Some(_) => s.needs[i] += 1,
                }
            }
            if let Some(because) = lost_need {
                s.skip_from(i, because, &mut skips);
            }
        }
        for i in 0..n {
            if s.slots[i] == Slot::Waiting && s.needs[i] == 0 {
                s.slots[i] = Slot::Ready;
                s.ready.push(Reverse(i as u32));
            }
        }
        (s, in_flight, skips)
    }

    /// The next step to run (its id), now marked running with its account busy.
    pub fn next_step(&mut self) -> Option<StepId> {
        while let Some(Reverse(i)) = self.ready.pop() {
            if self.slots[i as usize] != Slot::Ready {
                continue;
            }
            let a = self.account[i as usize];
            if self.busy[a as usize] {
                self.held.entry(a).or_default().push(i);
                continue;
            }
            self.busy[a as usize] = true;
            self.slots[i as usize] = Slot::Running;
            return Some(StepId::of_index(i as usize));
        }
        None
    }

    /// Records that a running step is done; the steps that were waiting only for it become ready.
    pub fn done(&mut self, id: StepId) {
        let Some(i) = self.running(id) else { return };
        self.slots[i] = Slot::Done;
        self.finish(i);
        for k in 0..self.dependants[i].len() {
            let d = self.dependants[i][k] as usize;
            if self.slots[d] == Slot::Waiting {
                self.needs[d] = self.needs[d].saturating_sub(1);
                if self.needs[d] == 0 {
                    self.slots[d] = Slot::Ready;
                    self.ready.push(Reverse(d as u32));
                }
            }
        }
    }

    /// Records that a running step failed; returns every step that now cannot run.
    pub fn failed(&mut self, id: StepId) -> Vec<Skip> {
        let mut skips = Vec::new();
        let Some(i) = self.running(id) else {
            return skips;
        };
        self.slots[i] = Slot::Lost;
        self.finish(i);
        for k in 0..self.dependants[i].len() {
            let d = self.dependants[i][k] as usize;
            self.skip_from(d, id, &mut skips);
        }
        skips
    }

    /// Steps neither done, failed nor skipped.
    pub fn unfinished(&self) -> usize {
        self.unfinished
    }

    fn running(&self, id: StepId) -> Option<usize> {
        let i = index(id, self.slots.len())?;
        (self.slots[i] == Slot::Running).then_some(i)
    }

    /// A step leaves the running set: its account is free, and a held step of that account
    /// goes back to the queue.
    fn finish(&mut self, i: usize) {
        self.unfinished -= 1;
        let a = self.account[i];
        self.busy[a as usize] = false;
        if let Some(held) = self.held.remove(&a) {
            for h in held {
                self.ready.push(Reverse(h));
            }
        }
    }

    /// Skips step `i` and, transitively, everything that needs it.
    fn skip_from(&mut self, i: usize, because: StepId, skips: &mut Vec<Skip>) {
        let mut stack = vec![(i, because)];
        while let Some((i, because)) = stack.pop() {
            if !matches!(self.slots[i], Slot::Waiting | Slot::Ready) {
                continue;
            }
            self.slots[i] = Slot::Lost;
            self.unfinished -= 1;
            let id = StepId::of_index(i);
            skips.push(Skip { step: id, because });
            for &d in &self.dependants[i] {
                stack.push((d as usize, id));
            }
        }
    }
}

fn index(id: StepId, n: usize) -> Option<usize> {
    let i = id.index();
    (i < n).then_some(i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::StepKind;

    fn step(id: u32, account: &str, after: &[u32]) -> Step {
        Step {
            id: StepId(id),
            group: 1,
            kind: StepKind::Rename,
            account_id: account.into(),
            name: "".into(),
            status: crate::model::Status::Active,
            product_access: false,
            from: format!("{account}@old").into(),
            to: format!("{account}@new{id}").into(),
            after: after.iter().copied().map(StepId).collect(),
            origin: None,
        }
    }

    fn drain(s: &mut Scheduler) -> Vec<u32> {
        std::iter::from_fn(|| s.next_step())
            .map(|id| id.0)
            .collect()
    }

    /// A free (1) before the rename that takes its address (2); a swap of b and c through a
    /// temporary address (3: b parks, 4: c takes b's, 5: b takes c's); an unrelated rename (6).
    fn mixed() -> Vec<Step> {
        vec![
            step(1, "f", &[]),
            step(2, "a", &[1]),
            step(3, "b", &[]),
            step(4, "c", &[3]),
            step(5, "b", &[4, 3]),
            step(6, "d", &[]),
        ]
    }

    #[test]
    fn dependencies_release_steps_in_plan_order() {
        let steps = mixed();
        let (mut s, in_flight, skips) = Scheduler::new(&steps, &[], &[]);
        assert!(in_flight.is_empty() && skips.is_empty());
        assert_eq!(drain(&mut s), vec![1, 3, 6]);
        s.done(StepId(3));
        assert_eq!(drain(&mut s), vec![4]);
        s.done(StepId(1));
        s.done(StepId(4));
        assert_eq!(drain(&mut s), vec![2, 5]);
        for id in [2, 5, 6] {
            s.done(StepId(id));
        }
        assert_eq!(s.unfinished(), 0);
    }

    #[test]
    fn one_account_never_runs_two_steps_at_once() {
        // Two steps on one account with no dependency between them: the second waits.
        let steps = vec![step(1, "a", &[]), step(2, "a", &[]), step(3, "b", &[])];
        let (mut s, _, _) = Scheduler::new(&steps, &[], &[]);
        assert_eq!(drain(&mut s), vec![1, 3]);
        s.done(StepId(3));
        assert!(drain(&mut s).is_empty());
        s.done(StepId(1));
        assert_eq!(drain(&mut s), vec![2]);
    }

    #[test]
    fn a_failure_skips_everything_that_needs_it_and_nothing_else() {
        let steps = mixed();
        let (mut s, _, _) = Scheduler::new(&steps, &[], &[]);
        assert_eq!(drain(&mut s), vec![1, 3, 6]);
        let skips = s.failed(StepId(3));
        assert_eq!(
            skips,
            vec![
                Skip {
                    step: StepId(4),
                    because: StepId(3)
                },
                Skip {
                    step: StepId(5),
                    because: StepId(4)
                }
            ]
        );
        s.done(StepId(1));
        assert_eq!(drain(&mut s), vec![2]);
        s.done(StepId(2));
        s.done(StepId(6));
        assert_eq!(s.unfinished(), 0);
    }

    #[test]
    fn a_resume_starts_from_the_journal() {
        let steps = mixed();
        let done = StepState::Done {
            status: Some(204),
            attempts: 1,
        };
        let failed = StepState::Failed {
            status: Some(400),
            key: None,
            message: "m".into(),
            attempts: 1,
        };
        let states = vec![
            done.clone(),
            StepState::InFlight {
                attempt: 1,
                sent: None,
                retried: false,
            },
            failed,
            StepState::Pending,
            StepState::Pending,
            StepState::Pending,
        ];
        let (mut s, in_flight, skips) = Scheduler::new(&steps, &states, &[]);
        assert_eq!(in_flight, vec![2]);
        // 4 needs the failed 3, and 5 needs 4: both skipped now, with their causes.
        assert_eq!(
            skips,
            vec![
                Skip {
                    step: StepId(4),
                    because: StepId(3)
                },
                Skip {
                    step: StepId(5),
                    because: StepId(4)
                }
            ]
        );
        assert_eq!(drain(&mut s), vec![6]);
        s.done(StepId(2)); // the in-flight step, once checked
        s.done(StepId(6));
        assert_eq!(s.unfinished(), 0);
    }

    #[test]
    fn a_pilot_runs_only_its_chosen_steps() {
        let steps = mixed();
        // The free and its rename (1, 2) and the unrelated rename (6); the swap stays for later.
        let chosen = [true, true, false, false, false, true];
        let (mut s, _, skips) = Scheduler::new(&steps, &[], &chosen);
        assert!(skips.is_empty());
        assert_eq!(s.unfinished(), 3);
        assert_eq!(drain(&mut s), vec![1, 6]);
        s.done(StepId(1));
        assert_eq!(drain(&mut s), vec![2]);
        s.done(StepId(2));
        s.done(StepId(6));
        assert_eq!(s.unfinished(), 0);
        assert!(drain(&mut s).is_empty());
    }
}
