//! The plan's dependency groups as one index, built once from its steps: each group's steps in
//! plan order, the group of each step, and the last step of each account in a group (the one
//! whose `to` the account ends the group with). The planner writes each step's group and
//! decoding the plan checks it; this reads them, it does not work them out again. The pilot's
//! selection (`plan::select`, whole groups), the executor's machine (which accounts a settle
//! re-read reads) and the diagram all read this one index.

use super::{Step, StepId};
use hashbrown::HashMap;

#[derive(Debug, Clone, Default)]
pub struct Groups {
    /// The steps of every group, group after group (groups in the order of their first step),
    /// each group's in plan order.
    order: Vec<StepId>,
    /// Where each group begins in `order`; one more entry, its end.
    starts: Vec<u32>,
    /// The group (a place in `starts`) of each step, by step index.
    of: Vec<u32>,
    /// The plan's group number of each group, and back.
    numbers: Vec<u32>,
    by_number: Numbers,
    /// Of each group of more than one step, the last step of each account, in id order (a
    /// group of one step, most of a large plan, is its own).
    last: HashMap<u32, Vec<StepId>>,
}

impl Groups {
    pub fn of_steps(steps: &[Step]) -> Groups {
        let mut by_number = Numbers::for_steps(steps);
        let mut numbers: Vec<u32> = Vec::new();
        let mut sizes: Vec<u32> = Vec::new();
        let mut of: Vec<u32> = Vec::with_capacity(steps.len());
        for s in steps {
            let g = by_number.get(s.group).unwrap_or_else(|| {
                let g = u32::try_from(sizes.len()).unwrap_or(u32::MAX);
                numbers.push(s.group);
                sizes.push(0);
                by_number.insert(s.group, g);
                g
            });
            sizes[g as usize] += 1;
            of.push(g);
        }
        let mut starts: Vec<u32> = Vec::with_capacity(sizes.len() + 1);
        let mut at = 0u32;
        for &n in &sizes {
            starts.push(at);
            at += n;
        }
        starts.push(at);
        let mut fill: Vec<u32> = starts[..sizes.len()].to_vec();
        let mut order = vec![StepId(0); steps.len()];
        for (i, &g) in of.iter().enumerate() {
            order[fill[g as usize] as usize] = StepId::of_index(i);
            fill[g as usize] += 1;
        }
        let mut last: HashMap<u32, Vec<StepId>> = HashMap::new();
        for (g, &n) in sizes.iter().enumerate().filter(|&(_, &n)| n > 1) {
            let start = starts[g] as usize;
            let members = &order[start..start + n as usize];
            let mut seen: HashMap<&str, StepId> = HashMap::new();
            for &id in members {
                seen.insert(&steps[id.index()].account_id, id);
            }
            let mut ends: Vec<StepId> = seen.into_values().collect();
            ends.sort_unstable();
            last.insert(u32::try_from(g).unwrap_or(u32::MAX), ends);
        }
        Groups {
            order,
            starts,
            of,
            numbers,
            by_number,
            last,
        }
    }

    /// How many groups.
    pub fn len(&self) -> usize {
        self.numbers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.numbers.is_empty()
    }

    /// The steps of the `g`-th group, in plan order.
    pub fn members(&self, g: usize) -> &[StepId] {
        match (self.starts.get(g), self.starts.get(g + 1)) {
            (Some(&a), Some(&b)) => &self.order[a as usize..b as usize],
            _ => &[],
        }
    }

    /// Every group's steps, groups in the order of their first step.
    pub fn iter(&self) -> impl Iterator<Item = &[StepId]> {
        (0..self.len()).map(|g| self.members(g))
    }

    /// Which group (its place in `iter`) a step is in.
    pub fn index_of(&self, step: StepId) -> Option<usize> {
        self.of.get(step.index()).map(|&g| g as usize)
    }

    /// The steps of the group the plan numbers `number`; none for a number it does not use.
    pub fn by_number(&self, number: u32) -> &[StepId] {
        self.by_number
            .get(number)
            .map_or(&[], |g| self.members(g as usize))
    }

    /// The last step of each account in the group the plan numbers `number`, in id order.
    pub fn last_of_accounts(&self, number: u32) -> &[StepId] {
        match self.by_number.get(number) {
            Some(g) => self
                .last
                .get(&g)
                .map_or_else(|| self.members(g as usize), Vec::as_slice),
            None => &[],
        }
    }
}

/// From the plan's group numbers to groups. The planner numbers groups 1, 2, 3, ... so a
/// table indexed by number serves; a plan numbered otherwise (built by hand) gets a map. A
/// million-step plan has a million groups: hashing each number was most of building the index.
#[derive(Debug, Clone)]
enum Numbers {
    Dense(Vec<u32>),
    Sparse(HashMap<u32, u32>),
}

impl Default for Numbers {
    fn default() -> Self {
        Numbers::Dense(Vec::new())
    }
}

impl Numbers {
    /// No group number is above twice the steps (plus a little): a table; else a map.
    fn for_steps(steps: &[Step]) -> Numbers {
        let highest = steps.iter().map(|s| s.group as usize).max().unwrap_or(0);
        if highest <= steps.len().saturating_mul(2).saturating_add(1024) {
            Numbers::Dense(vec![u32::MAX; highest + 1])
        } else {
            Numbers::Sparse(HashMap::new())
        }
    }

    fn get(&self, number: u32) -> Option<u32> {
        match self {
            Numbers::Dense(table) => table
                .get(number as usize)
                .copied()
                .filter(|&g| g != u32::MAX),
            Numbers::Sparse(map) => map.get(&number).copied(),
        }
    }

    fn insert(&mut self, number: u32, g: u32) {
        match self {
            Numbers::Dense(table) => {
                if let Some(slot) = table.get_mut(number as usize) {
                    *slot = g;
                }
            }
            Numbers::Sparse(map) => {
                map.insert(number, g);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::step_of;

    fn in_group(group: u32, step: Step) -> Step {
        Step { group, ..step }
    }

    #[test]
    fn groups_are_the_plans_own_in_plan_order_with_each_accounts_last_step() {
        // Group 9: a swap of c and d through a temporary address (1, 3, 4); group 2: one rename
        // (2), between them in plan order.
        let steps = vec![
            in_group(9, step_of(1, "c", "c@new", "c_MOVING@new", &[])),
            in_group(2, step_of(2, "e", "e@old", "e@new", &[])),
            in_group(9, step_of(3, "d", "d@new", "c@new", &[1])),
            in_group(9, step_of(4, "c", "c_MOVING@new", "d@new", &[3, 1])),
        ];
        let g = Groups::of_steps(&steps);
        assert_eq!(g.len(), 2);
        let ids = |s: &[StepId]| s.iter().map(|i| i.0).collect::<Vec<_>>();
        assert_eq!(ids(g.members(0)), [1, 3, 4]);
        assert_eq!(ids(g.members(1)), [2]);
        assert_eq!(g.iter().count(), 2);
        assert_eq!(g.index_of(StepId(2)), Some(1));
        assert_eq!(g.index_of(StepId(4)), Some(0));
        assert_eq!(ids(g.by_number(9)), [1, 3, 4]);
        assert!(g.by_number(5).is_empty());
        // c ends the group with step 4, d with step 3.
        assert_eq!(ids(g.last_of_accounts(9)), [3, 4]);
        // A group of one step is its own last step.
        assert_eq!(ids(g.last_of_accounts(2)), [2]);
        assert!(Groups::of_steps(&[]).is_empty());
    }

    #[test]
    fn numbers_far_apart_index_the_same_groups() {
        // A plan built by hand may number its groups anyhow: the numbers go through a map.
        let far = u32::MAX - 1;
        let steps = vec![
            in_group(far, step_of(1, "c", "c@new", "c_MOVING@new", &[])),
            in_group(7, step_of(2, "e", "e@old", "e@new", &[])),
            in_group(far, step_of(3, "d", "d@new", "c@new", &[1])),
            in_group(far, step_of(4, "c", "c_MOVING@new", "d@new", &[3, 1])),
        ];
        let g = Groups::of_steps(&steps);
        assert!(matches!(g.by_number, Numbers::Sparse(_)));
        let ids = |s: &[StepId]| s.iter().map(|i| i.0).collect::<Vec<_>>();
        assert_eq!(ids(g.by_number(far)), [1, 3, 4]);
        assert_eq!(ids(g.by_number(7)), [2]);
        assert_eq!(ids(g.last_of_accounts(far)), [3, 4]);
        assert!(g.by_number(8).is_empty());
        assert!(g.by_number(u32::MAX).is_empty());
        // Numbered 1, 2, 3, ... as the planner does: a table, and a number past it is none.
        let steps: Vec<Step> = (1..=3)
            .map(|i| in_group(i, step_of(i, &format!("a{i}"), "x@old", "x@new", &[])))
            .collect();
        let g = Groups::of_steps(&steps);
        assert!(matches!(g.by_number, Numbers::Dense(_)));
        assert_eq!(ids(g.by_number(3)), [3]);
        assert!(g.by_number(4).is_empty());
        assert!(g.by_number(u32::MAX).is_empty());
    }
}
