//! What the v2 directory search settles of pre-flight, so that an account is read one by one
//! (`GET /users/{id}/manage`) only where the listing cannot tell. One rule for `plan --org-id`
//! and `apply`'s first run. A write the API still refuses is that account's failure at apply
//! time (its step fails, the rest go on), so trusting the listing risks no other account.

use super::page::Directory;

/// What the listing says of writing one account's email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    /// Managed by this org, email verified, not synced from an identity provider.
    Writable,
    /// An identity provider provisions it (`managementSource` `synced`): its email is changed
    /// there.
    IdpOwned,
    /// The API will refuse it, for this reason (in words, naming the listing's field).
    Refused(String),
    /// The listing does not say (the v1 listing, or fields it left out): read it.
    Unsettled,
}

pub fn settle(directory: Option<&Directory>) -> Settled {
    let Some(d) = directory else {
        return Settled::Unsettled;
    };
    if let Some(claim) = d.claim_status.as_deref()
        && claim != "managed"
    {
        return Settled::Refused(format!(
            "this org does not manage the account (claimStatus {claim}): claim it, or its domain, first"
        ));
    }
    if d.email_verified == Some(false) {
        return Settled::Refused(
            "its email is unverified (emailVerified false): the API changes no unverified account (403 forbidden.targetUnverified); have its owner verify it first".into(),
        );
    }
    if d.lifecycle.as_deref() == Some("for_deletion") {
        return Settled::Refused("the account is being deleted (status for_deletion)".into());
    }
    if d.management_source.as_deref() == Some("synced") {
        return Settled::IdpOwned;
    }
    if d.claim_status.as_deref() == Some("managed") && d.email_verified == Some(true) {
        return Settled::Writable;
    }
    Settled::Unsettled
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(claim: &str, verified: bool, source: Option<&str>, status: &str) -> Directory {
        Directory {
            email_verified: Some(verified),
            claim_status: Some(claim.into()),
            management_source: source.map(str::to_owned),
            lifecycle: Some(status.into()),
            groups: None,
        }
    }

    #[test]
    fn the_listing_settles_what_it_says_and_leaves_the_rest_to_a_read() {
        assert_eq!(settle(None), Settled::Unsettled);
        assert_eq!(
            settle(Some(&dir("managed", true, Some("invited"), "active"))),
            Settled::Writable
        );
        assert_eq!(
            settle(Some(&dir("managed", true, None, "deactivated"))),
            Settled::Writable
        );
        assert_eq!(
            settle(Some(&dir("managed", true, Some("synced"), "active"))),
            Settled::IdpOwned
        );
        let refused = |d: Directory| matches!(settle(Some(&d)), Settled::Refused(_));
        assert!(refused(dir("unmanaged", true, None, "active")));
        assert!(refused(dir("managed", false, Some("synced"), "active")));
        assert!(refused(dir("managed", true, None, "for_deletion")));
        // A field left out is not taken as good news.
        let partial = Directory {
            claim_status: Some("managed".into()),
            ..Directory::default()
        };
        assert_eq!(settle(Some(&partial)), Settled::Unsettled);
    }
}
