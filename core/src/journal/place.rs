//! Where a journal's runs wrote: a journal says what was done at one API and org, and is true
//! of nowhere else. A run against another API or org that trusted it would call steps done that
//! were never sent there (a rehearsal's journal met by the real run, say).

use super::record::Record;

/// An API base URL and an org, as a run records them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub api: String,
    pub org: String,
}

impl Place {
    pub fn new(api: &str, org: &str) -> Place {
        Place {
            api: api.to_owned(),
            org: org.to_owned(),
        }
    }

    /// One API and org, whatever the case of the URL's letters or a trailing slash.
    fn same(&self, api: &str, org: &str) -> bool {
        same_api(&self.api, api) && self.org.trim() == org.trim()
    }
}

/// Two API base URLs name one API, whatever the case of their letters or a trailing slash.
pub fn same_api(a: &str, b: &str) -> bool {
    let url = |u: &str| u.trim().trim_end_matches('/').to_ascii_lowercase();
    url(a) == url(b)
}

/// The first run of `records` that wrote to another place than `here`. Runs that recorded no
/// place (journals from before it was recorded) are not held against it: for those, `apply`
/// reads the accounts before it reports anything done.
pub fn ran_elsewhere(records: &[Record], here: &Place) -> Option<Place> {
    records.iter().find_map(|r| match r {
        Record::Run { api, org, .. } => {
            let there = Place::new(api.as_deref()?, org.as_deref().unwrap_or_default());
            (!there.same(&here.api, &here.org)).then_some(there)
        }
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(api: Option<&str>, org: Option<&str>) -> Record {
        Record::Run {
            run: 1,
            pid: 1,
            at: String::new(),
            scope: None,
            api: api.map(str::to_owned),
            org: org.map(str::to_owned),
        }
    }

    #[test]
    fn a_run_at_another_api_or_org_is_named_and_one_at_the_same_is_not() {
        let here = Place::new("https://api.atlassian.com", "org-1");
        let same = [
            run(Some("https://API.atlassian.com/"), Some("org-1")),
            run(None, None),
        ];
        assert_eq!(ran_elsewhere(&same, &here), None);
        let sim = run(Some("http://127.0.0.1:4000"), Some("org-1"));
        assert_eq!(
            ran_elsewhere(&[same[0].clone(), sim], &here),
            Some(Place::new("http://127.0.0.1:4000", "org-1"))
        );
        let other_org = run(Some("https://api.atlassian.com"), Some("org-2"));
        assert_eq!(
            ran_elsewhere(&[other_org], &here).map(|p| p.org),
            Some("org-2".to_owned())
        );
    }
}
