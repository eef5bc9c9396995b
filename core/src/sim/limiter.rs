//! The simulator's rate limit: a token bucket, with time passed in. A request made while the
//! bucket is empty is refused and deepens a debt, so that retrying before the advertised wait earns
//! a longer one, as Atlassian's rate-limiting documentation says.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Bucket {
    /// Tokens added per second.
    rate: f64,
    burst: f64,
    tokens: f64,
    at: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Verdict {
    Allowed { remaining: u32 },
    Limited { wait: Duration },
}

impl Bucket {
    /// A full bucket at time `now` (time since the server started).
    pub fn new(rate: f64, burst: u32, now: Duration) -> Bucket {
        let burst = f64::from(burst.max(1));
        Bucket {
            rate: rate.max(f64::MIN_POSITIVE),
            burst,
            tokens: burst,
            at: now,
        }
    }

    pub fn limit(&self) -> u32 {
        self.burst as u32
    }

    pub fn take(&mut self, now: Duration) -> Verdict {
        self.take_with(now, true)
    }

    /// `take`, where a refused request deepens the debt only if `deepen`: without, the plain
    /// token bucket of many gateways, which refuses while empty and charges nothing for it.
    pub fn take_with(&mut self, now: Duration, deepen: bool) -> Verdict {
        let elapsed = now.saturating_sub(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.at = now.max(self.at);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Verdict::Allowed {
                remaining: self.tokens.floor() as u32,
            }
        } else {
            if deepen {
                self.tokens = (self.tokens - 1.0).max(-self.burst);
            }
            Verdict::Limited {
                wait: Duration::from_secs_f64((1.0 - self.tokens) / self.rate),
            }
        }
    }
}

#[cfg(test)]
// The tests subtract constants from constants; the code above uses checked time arithmetic.
#[allow(clippy::unchecked_time_subtraction)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn a_burst_then_the_steady_rate() {
        let mut b = Bucket::new(2.0, 3, Duration::ZERO);
        let t = Duration::ZERO;
        assert_eq!(b.take(t), Verdict::Allowed { remaining: 2 });
        assert_eq!(b.take(t), Verdict::Allowed { remaining: 1 });
        assert_eq!(b.take(t), Verdict::Allowed { remaining: 0 });
        assert!(matches!(b.take(t), Verdict::Limited { .. }));
        // Half a second later at 2/s... but the refused request left a debt of one token.
        assert!(matches!(b.take(S / 2), Verdict::Limited { .. }));
    }

    #[test]
    fn a_forgiving_bucket_charges_nothing_for_a_refusal() {
        let mut b = Bucket::new(2.0, 1, Duration::ZERO);
        assert!(matches!(
            b.take_with(Duration::ZERO, false),
            Verdict::Allowed { .. }
        ));
        for _ in 0..5 {
            assert!(matches!(
                b.take_with(Duration::ZERO, false),
                Verdict::Limited { .. }
            ));
        }
        // Half a second at 2/s refills the one token, however many were refused.
        assert!(matches!(b.take_with(S / 2, false), Verdict::Allowed { .. }));
    }

    #[test]
    fn waiting_as_told_is_enough_and_retrying_early_costs_more() {
        let mut b = Bucket::new(1.0, 1, Duration::ZERO);
        assert!(matches!(b.take(Duration::ZERO), Verdict::Allowed { .. }));
        let Verdict::Limited { wait: first } = b.take(Duration::ZERO) else {
            panic!()
        };
        let Verdict::Limited { wait: second } = b.take(Duration::from_millis(100)) else {
            panic!()
        };
        assert!(
            second > first - Duration::from_millis(100),
            "early retry: {first:?} then {second:?}"
        );
        let mut b = Bucket::new(1.0, 1, Duration::ZERO);
        b.take(Duration::ZERO);
        let Verdict::Limited { wait } = b.take(Duration::ZERO) else {
            panic!()
        };
        assert!(matches!(b.take(wait), Verdict::Allowed { .. }));
    }

    #[test]
    fn the_debt_is_bounded() {
        let mut b = Bucket::new(10.0, 5, Duration::ZERO);
        for _ in 0..1000 {
            b.take(Duration::ZERO);
        }
        let Verdict::Limited { wait } = b.take(Duration::ZERO) else {
            panic!()
        };
        assert!(wait <= Duration::from_millis(600), "{wait:?}");
    }
}
