//! The simulator's state and its rules of time, as one value with `now` (time since the
//! simulator started) passed in: who is let in (the key, its expiry, the rate limit, the fault
//! dice), what a read shows while a change is younger than the read delay, which addresses a
//! change vacated too recently to be free again, and which accounts are being written, so that
//! a second write at once is seen. The HTTP face (`mailshift::sim::server`) holds one of these
//! behind one lock, asks it, and answers.

use super::faults::{Dice, Fault, FaultConfig};
use super::limiter::{Bucket, Verdict};
use super::world::{ScimError, SetEmailError, World};
use crate::model::email_key;
use hashbrown::{HashMap, HashSet};
use std::time::Duration;

/// What does not change while the simulator runs.
#[derive(Debug, Clone)]
pub struct Rules {
    pub api_key: String,
    /// The key stops working this long after the start.
    pub key_lifetime: Option<Duration>,
    pub faults: FaultConfig,
    /// How long reads keep showing an account's address from before a change.
    pub read_delay: Duration,
}

/// What becomes of a request at the door.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// No key, another key, or the key has expired.
    Unauthorized,
    /// The key's scope does not reach the user-management API.
    OutOfScope,
    /// The budget is spent; `wait` until a request would be let in.
    Limited { limit: u32, wait: Duration },
    /// In, with what the dice gave it to suffer and the budget left.
    Admitted {
        fault: Fault,
        limit: u32,
        remaining: u32,
    },
}

pub struct SimState {
    pub world: World,
    bucket: Option<Bucket>,
    dice: Dice,
    /// Accounts with a write under way.
    writing: HashSet<String>,
    /// Addresses a change vacated, and when: "taken" for `faults.taken_lag` after.
    vacated: HashMap<String, Duration>,
    /// The address each recently changed account had before, and when it changed: what reads
    /// show during `read_delay`.
    recent: HashMap<String, (String, Duration)>,
    /// Accounts unlinked from SCIM, and when: their email stays locked for `faults.scim_lock`.
    unlinked: HashMap<String, Duration>,
}

impl SimState {
    /// `rate`: requests per second and burst, or none for no limit.
    pub fn new(world: World, rate: Option<(f64, u32)>, seed: u64) -> SimState {
        SimState {
            world,
            bucket: rate.map(|(rate, burst)| Bucket::new(rate, burst, Duration::ZERO)),
            dice: Dice::new(seed),
            writing: HashSet::new(),
            vacated: HashMap::new(),
            recent: HashMap::new(),
            unlinked: HashMap::new(),
        }
    }

    /// `onlyDeleteUserInDB`: the account's SCIM record goes, and its email stays locked for
    /// `faults.scim_lock` after. `Ok(false)`: there was no record to delete, which the API
    /// answers 404 under `faults.unlink_404_when_none` (the real answer is not documented).
    pub fn unlink(
        &mut self,
        rules: &Rules,
        now: Duration,
        account_id: &str,
    ) -> Result<bool, ScimError> {
        let linked = self
            .world
            .account(account_id)
            .ok_or(ScimError::NotFound)?
            .scim_linked;
        if !linked && rules.faults.unlink_404_when_none {
            return Ok(false);
        }
        self.world.unlink_scim(account_id)?;
        if linked {
            self.unlinked.insert(account_id.to_owned(), now);
        }
        Ok(true)
    }

    /// Whether the SCIM lock of an unlink still holds the account's email.
    pub fn scim_locked(&self, rules: &Rules, now: Duration, account_id: &str) -> bool {
        self.unlinked
            .get(account_id)
            .is_some_and(|&at| now.saturating_sub(at) < rules.faults.scim_lock)
    }

    /// Authentication, then the rate limit, then the roll of the dice. `presented`: the bearer
    /// token, if any; `user_management`: the request is for the user-management API.
    pub fn admit(
        &mut self,
        rules: &Rules,
        now: Duration,
        presented: Option<&str>,
        user_management: bool,
        write: bool,
    ) -> Admission {
        let expired = rules.key_lifetime.is_some_and(|life| now >= life);
        if presented != Some(rules.api_key.as_str()) || expired {
            return Admission::Unauthorized;
        }
        if rules.faults.scoped_key && user_management {
            return Admission::OutOfScope;
        }
        let (limit, remaining) = match self.bucket.as_mut() {
            None => (u32::MAX, u32::MAX),
            Some(b) => match b.take_with(now, !rules.faults.forgiving_bucket) {
                Verdict::Allowed { remaining } => (b.limit(), remaining),
                Verdict::Limited { wait } => {
                    return Admission::Limited {
                        limit: b.limit(),
                        wait,
                    };
                }
            },
        };
        Admission::Admitted {
            fault: self.dice.fault(&rules.faults, write),
            limit,
            remaining,
        }
    }

    /// How late a request reaches the door (bunched arrivals, with jitter).
    pub fn arrival(&mut self, rules: &Rules) -> Duration {
        self.dice.arrival(&rules.faults)
    }

    /// How long the answer takes: the latency and, for a slow fault, long past any timeout.
    pub fn latency(&mut self, rules: &Rules, fault: Fault) -> Duration {
        let wait = self.dice.latency(&rules.faults);
        if fault == Fault::Slow {
            wait.saturating_add(rules.faults.slow)
        } else {
            wait
        }
    }

    /// Whether a read's answer is cut off mid-body.
    pub fn garble(&mut self, rules: &Rules) -> bool {
        self.dice.garble(&rules.faults)
    }

    /// Whether a 429 carries `Retry-After`.
    pub fn retry_after(&mut self, rules: &Rules) -> bool {
        self.dice.retry_after(&rules.faults)
    }

    /// Marks `account` as being written; `false` when a write to it is under way already (the
    /// concurrent write the simulator counts).
    pub fn begin_write(&mut self, account: &str) -> bool {
        self.writing.insert(account.to_owned())
    }

    /// The write that `begin_write` let in is over.
    pub fn end_write(&mut self, account: &str) {
        self.writing.remove(account);
    }

    /// Sets an account's email as the API would, `now`. An address a change vacated less than
    /// `taken_lag` ago is still taken (uniqueness lags); reads show the old address for
    /// `read_delay` after.
    pub fn set_email(
        &mut self,
        rules: &Rules,
        now: Duration,
        account: &str,
        email: &str,
    ) -> Result<(), SetEmailError> {
        let lag = rules.faults.taken_lag;
        let key = email_key(email);
        if !lag.is_zero() {
            match self.vacated.get(&key) {
                Some(&at) if now.saturating_sub(at) < lag => return Err(SetEmailError::Taken),
                Some(_) => {
                    self.vacated.remove(&key);
                }
                None => {}
            }
        }
        let before = self.world.account(account).map(|a| a.email.clone());
        self.world.set_email(account, email)?;
        if let Some(before) = before {
            let old = email_key(&before);
            if !lag.is_zero() && old != key {
                self.vacated.insert(old, now);
            }
            if !rules.read_delay.is_zero() {
                self.recent.insert(account.to_owned(), (before, now));
            }
        }
        Ok(())
    }

    /// The address reads show for `account`, whose address is `current`: the one from before
    /// its last change while that change is younger than the read delay.
    pub fn visible_email<'a>(
        &'a self,
        rules: &Rules,
        now: Duration,
        account: &str,
        current: &'a str,
    ) -> &'a str {
        match self.recent.get(account) {
            Some((before, at)) if now.saturating_sub(*at) < rules.read_delay => before,
            _ => current,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn rules() -> Rules {
        Rules {
            api_key: "k".into(),
            key_lifetime: None,
            faults: FaultConfig::default(),
            read_delay: Duration::ZERO,
        }
    }

    fn world() -> World {
        let org = crate::org::testing::org(&[("a", "a@x.example"), ("b", "b@x.example")]);
        let none = std::collections::BTreeSet::new();
        World::from_org(&org, &none, &none, &[])
    }

    #[test]
    fn the_key_opens_the_door_until_its_lifetime_is_over() {
        let rules = Rules {
            key_lifetime: Some(1000 * MS),
            ..rules()
        };
        let mut s = SimState::new(world(), None, 1);
        let admitted = |a: Admission| matches!(a, Admission::Admitted { .. });
        assert!(admitted(s.admit(&rules, 999 * MS, Some("k"), true, false)));
        assert_eq!(
            s.admit(&rules, 1000 * MS, Some("k"), true, false),
            Admission::Unauthorized
        );
        assert_eq!(
            s.admit(&rules, MS, Some("other"), true, false),
            Admission::Unauthorized
        );
        assert_eq!(
            s.admit(&rules, MS, None, false, false),
            Admission::Unauthorized
        );
    }

    #[test]
    fn the_bucket_refuses_once_its_burst_is_spent_and_says_how_long_to_wait() {
        let mut s = SimState::new(world(), Some((10.0, 2)), 1);
        let r = rules();
        for _ in 0..2 {
            assert!(matches!(
                s.admit(&r, Duration::ZERO, Some("k"), true, true),
                Admission::Admitted { limit: 2, .. }
            ));
        }
        let Admission::Limited { limit: 2, wait } =
            s.admit(&r, Duration::ZERO, Some("k"), true, true)
        else {
            panic!("a third request at once is let in");
        };
        // A refusal deepens the debt: one token short, plus the one asked for, at 10/s.
        assert_eq!(wait, 200 * MS);
        assert!(matches!(
            s.admit(&r, wait.saturating_sub(MS), Some("k"), true, true),
            Admission::Limited { .. }
        ));
        assert!(matches!(
            s.admit(&r, 2 * wait, Some("k"), true, true),
            Admission::Admitted { .. }
        ));
    }

    #[test]
    fn reads_show_the_old_address_until_the_read_delay_has_passed() {
        let rules = Rules {
            read_delay: 500 * MS,
            ..rules()
        };
        let mut s = SimState::new(world(), None, 1);
        s.set_email(&rules, 1000 * MS, "a", "new@x.example")
            .unwrap();
        let shown = |s: &SimState, at| s.visible_email(&rules, at, "a", "new@x.example").to_owned();
        assert_eq!(shown(&s, 1499 * MS), "a@x.example");
        assert_eq!(shown(&s, 1500 * MS), "new@x.example");
        assert_eq!(
            s.visible_email(&rules, 1000 * MS, "b", "b@x.example"),
            "b@x.example"
        );
    }

    #[test]
    fn a_vacated_address_stays_taken_for_the_lag_then_is_free() {
        let rules = Rules {
            faults: FaultConfig {
                taken_lag: 300 * MS,
                ..FaultConfig::default()
            },
            ..rules()
        };
        let mut s = SimState::new(world(), None, 1);
        s.set_email(&rules, Duration::ZERO, "a", "a_FREE@x.example")
            .unwrap();
        assert!(matches!(
            s.set_email(&rules, 299 * MS, "b", "a@x.example"),
            Err(SetEmailError::Taken)
        ));
        s.set_email(&rules, 300 * MS, "b", "a@x.example").unwrap();
        assert_eq!(
            s.world.account("b").map(|a| a.email.as_str()),
            Some("a@x.example")
        );
    }

    #[test]
    fn a_second_write_to_an_account_under_way_is_seen() {
        let mut s = SimState::new(world(), None, 1);
        assert!(s.begin_write("a"));
        assert!(!s.begin_write("a"), "a second write at once goes unseen");
        assert!(s.begin_write("b"));
        s.end_write("a");
        assert!(s.begin_write("a"));
    }
}
