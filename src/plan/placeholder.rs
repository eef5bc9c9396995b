//! Addresses the plan invents: `<local>_FREE@<domain>` for freed holders and
//! `<local>_MOVING@<domain>` for the one account that breaks a cycle. Each is checked against every
//! address the org holds, every address anyone wants, and every placeholder already handed out,
//! and numbered (`_FREE2`, `_FREE3`, ...) past collisions, as the Atlassian KB suggests.

use crate::model::email_key;
use crate::org::Org;
use hashbrown::HashSet;

pub struct Placeholders<'a> {
    org: &'a Org,
    wanted: &'a dyn Fn(&str) -> bool,
    given: HashSet<String>,
}

impl<'a> Placeholders<'a> {
    /// `wanted` tells whether an address key is the target of any row or rule.
    pub fn new(org: &'a Org, wanted: &'a dyn Fn(&str) -> bool) -> Placeholders<'a> {
        Placeholders {
            org,
            wanted,
            given: HashSet::new(),
        }
    }

    pub fn free(&mut self, local: &str, domain: &str) -> String {
        self.allocate(local, "_FREE", domain)
    }

    pub fn moving(&mut self, local: &str, domain: &str) -> String {
        self.allocate(local, "_MOVING", domain)
    }

    fn allocate(&mut self, local: &str, suffix: &str, domain: &str) -> String {
        let mut n = 1u64;
        loop {
            let candidate = if n == 1 {
                format!("{local}{suffix}@{domain}")
            } else {
                format!("{local}{suffix}{n}@{domain}")
            };
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
