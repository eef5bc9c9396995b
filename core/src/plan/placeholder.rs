//! Addresses the plan invents: `<local>_FREE@<domain>` for freed holders and
//! `<local>_MOVING@<domain>` for the one account that breaks a cycle. Each is checked against every
//! address the org holds, every address anyone wants, and every placeholder already handed out,
//! and numbered (`_FREE2`, `_FREE3`, ...) past collisions, as the Atlassian KB suggests.

use crate::model::email_key;
use crate::org::Org;
use hashbrown::HashSet;

const MAX_LOCAL: usize = 255;

pub(super) struct Placeholders<'a> {
    org: &'a Org,
    wanted: &'a dyn Fn(&str) -> bool,
    given: HashSet<String>,
}

impl<'a> Placeholders<'a> {
    /// `wanted` tells whether an address key is the target of any row or rule.
    pub(super) fn new(org: &'a Org, wanted: &'a dyn Fn(&str) -> bool) -> Placeholders<'a> {
        Placeholders {
            org,
            wanted,
            given: HashSet::new(),
        }
    }

    pub(super) fn free(&mut self, local: &str, domain: &str) -> String {
        self.allocate(local, "_FREE", domain)
    }

    pub(super) fn moving(&mut self, local: &str, domain: &str) -> String {
        self.allocate(local, "_MOVING", domain)
    }

    fn allocate(&mut self, local: &str, suffix: &str, domain: &str) -> String {
        let mut n = 1u64;
        loop {
            let number = if n == 1 { String::new() } else { n.to_string() };
            // The API takes at most 255 characters before the @, so a long user part gives way.
            let room = MAX_LOCAL - suffix.len() - number.len();
            let local: String = local.chars().take(room).collect();
            let candidate = format!("{local}{suffix}{number}@{domain}");
            let key = email_key(&candidate);
            if self.org.holder_of_key(&key).is_none()
                && !(self.wanted)(&key)
                && self.given.insert(key)
            {
                return candidate;
            }
            n += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Account, Email, Status, check_address};

    #[test]
    fn long_user_parts_are_shortened_to_stay_valid() {
        let long = "a".repeat(255);
        let org = Org::new(vec![Account {
            id: Some("x".into()),
            name: "".into(),
            email: Email::lenient(&format!("{long}_MOVING@x.example")),
            status: Status::Active,
            product_access: false,
            line: 2,
        }])
        .unwrap();
        let nothing_wanted = |_: &str| false;
        let mut names = Placeholders::new(&org, &nothing_wanted);
        let free = names.free(&long, "x.example");
        assert_eq!(free, format!("{}_FREE@x.example", "a".repeat(250)));
        let moving = names.moving(&long, "x.example");
        assert_eq!(moving, format!("{}_MOVING@x.example", "a".repeat(248)));
        let again = names.moving(&long, "x.example");
        assert_eq!(again, format!("{}_MOVING2@x.example", "a".repeat(247)));
        for address in [free, moving, again] {
            assert_eq!(check_address(&address), Ok(()));
        }
    }
}
