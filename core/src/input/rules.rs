//! `--rewrite-domain old=new`: the rebrand case, where every account on one domain moves to
//! another with the same user part.

use crate::model::Status;
use crate::model::{domain_key, is_domain};

/// One rewrite rule; `from` is compared without case, `to` is written as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainRule {
    pub from: String,
    pub to: String,
    /// The account statuses the rule moves (`--rule-status`); empty for every account.
    pub statuses: Vec<Status>,
}

impl DomainRule {
    /// Parses `old.example=new.example`.
    ///
    /// ```
    /// use mailshift_core::input::DomainRule;
    ///
    /// let rule = DomainRule::parse("CompanyA.example=companyb.example").unwrap();
    /// assert_eq!(rule.label(), "companya.example=companyb.example");
    /// assert!(DomainRule::parse("companya.example").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<DomainRule, String> {
        let Some((from, to)) = text.split_once('=') else {
            return Err("expected OLD=NEW, for example old.example=new.example".to_owned());
        };
        let (from, to) = (
            from.trim().trim_start_matches('@'),
            to.trim().trim_start_matches('@'),
        );
        for domain in [from, to] {
            if !is_domain(domain) {
                return Err(format!("{domain:?} is not a domain name"));
            }
        }
        if domain_key(from) == domain_key(to) {
            return Err("the two domains are the same".to_owned());
        }
        Ok(DomainRule {
            from: domain_key(from),
            to: to.to_owned(),
            statuses: Vec::new(),
        })
    }

    /// Whether the rule moves an account of this status.
    pub fn moves(&self, status: Status) -> bool {
        self.statuses.is_empty() || self.statuses.contains(&status)
    }

    /// How the rule reads in a plan and a review: `old.example=new.example`, with
    /// ` --rule-status active` when it moves accounts of some statuses only.
    pub fn label(&self) -> String {
        if self.statuses.is_empty() {
            format!("{}={}", self.from, self.to)
        } else {
            let statuses: Vec<&str> = self.statuses.iter().map(|s| s.name()).collect();
            format!(
                "{}={} --rule-status {}",
                self.from,
                self.to,
                statuses.join(",")
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses() {
        assert_eq!(
            DomainRule::parse(" Old.Example = New.example "),
            Ok(DomainRule {
                from: "old.example".into(),
                to: "New.example".into(),
                statuses: Vec::new(),
            })
        );
        assert!(DomainRule::parse("old.example").is_err());
        assert!(DomainRule::parse("old.example=new").is_err());
        assert!(DomainRule::parse("a.example=A.example").is_err());
    }
}
