//! Who the plan may write to, as pre-flight found it: accounts whose email the API will not set
//! (an identity provider owns it, or the key lacks the right), and the operator's own account.
//! Pure: the shell reads `GET /users/{id}/manage` and fills this in.

use hashbrown::HashMap;

/// What the live org says about writing each account. The default (no pre-flight) lets every
/// account be written, as before.
#[derive(Debug, Clone, Default)]
pub struct Access {
    /// Accounts whose `email.set` is denied, with the API's reason key
    /// (`externalDirectory.scim`, `administrative`, ...).
    pub denied: HashMap<String, String>,
    /// The operator's own account (`--operator`), never written without `allow_self`.
    pub operator: Option<String>,
    pub allow_self: bool,
    /// SCIM-linked holders of a wanted address may be unlinked, then freed.
    pub allow_scim_unlink: bool,
    /// `--allow-non-ascii-local-part`: targets whose user part is not ASCII may be planned.
    pub allow_non_ascii_local: bool,
    /// Accounts this org has not claimed (the domains export's `Claimed` column): the API
    /// changes none of them.
    pub unclaimed: hashbrown::HashSet<String>,
}

/// Why an unclaimed account is not written, in words.
pub const UNCLAIMED: &str = "this org has not claimed the account (the export's Claimed column): claim it, or its domain, in admin.atlassian.com first";

/// The reason key of an account synced by SCIM provisioning.
pub const SCIM: &str = "externalDirectory.scim";
/// The reason key of an account synced from Google Workspace.
pub const GOOGLE: &str = "externalDirectory.google";
/// Not an `email.set` reason key: the v2 directory search's word (`managementSource`
/// `synced`) that an identity provider provisions the account, SCIM or Google alike. `apply`
/// refuses a run that writes such an account without a permission read; a plan reads it, so
/// that its IdP list names the API's own key.
pub const SYNCED: &str = "managementSource.synced";

/// How far mailshift may write one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock<'a> {
    Open,
    /// The operator's own account, without `--allow-self`.
    Own,
    /// The identity provider owns the email (the reason key says which).
    Idp(&'a str),
    /// The API denies `email.set` for another reason.
    Denied(&'a str),
    /// The org has not claimed the account.
    Unclaimed,
}

impl Access {
    pub fn lock(&self, account_id: &str) -> Lock<'_> {
        if !self.allow_self && self.operator.as_deref() == Some(account_id) {
            return Lock::Own;
        }
        if self.unclaimed.contains(account_id) {
            return Lock::Unclaimed;
        }
        match self.denied.get(account_id).map(String::as_str) {
            None => Lock::Open,
            Some(key) if key == SCIM || key == GOOGLE => Lock::Idp(key),
            Some(key) => Lock::Denied(key),
        }
    }
}

impl Lock<'_> {
    /// Whether a holder with this lock can have its address freed: open, or (with the flag)
    /// SCIM-linked and unlinked first.
    pub fn freeable(self, allow_scim_unlink: bool) -> bool {
        match self {
            Lock::Open => true,
            Lock::Idp(key) => allow_scim_unlink && key == SCIM,
            Lock::Own | Lock::Denied(_) | Lock::Unclaimed => false,
        }
    }

    /// Why a holder with this lock keeps its address, for the review.
    pub fn why_it_stays(self) -> Option<String> {
        Some(match self {
            Lock::Open => return None,
            Lock::Own => "it is your own account (--operator); give --allow-self to free it".into(),
            Lock::Idp(SCIM) => "it is linked to the identity provider by SCIM; give --allow-scim-unlink to unlink it and free its address (its groups must then be reprovisioned)".into(),
            Lock::Idp(key) => format!("the identity provider owns its email ({key}); change it there"),
            Lock::Denied(key) => format!("the API does not allow setting its email ({key})"),
            Lock::Unclaimed => UNCLAIMED.into(),
        })
    }
}

/// The attribute an admin changes in the IdP, per the Atlassian guide for provisioned accounts.
pub fn idp_attribute(key: &str) -> &'static str {
    if key == GOOGLE {
        "the user's primary email in Google Workspace"
    } else {
        "the IdP attribute mapped to emails[type eq \"work\"].value (Azure AD/Entra: mail; Okta: Primary Email; JumpCloud: Company Email; OneLogin: Email; another SCIM IdP: the attribute its Atlassian app maps there), and the SAML email attribute if it differs"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(denied: &[(&str, &str)], operator: Option<&str>) -> Access {
        Access {
            denied: denied
                .iter()
                .map(|(a, k)| ((*a).to_owned(), (*k).to_owned()))
                .collect(),
            operator: operator.map(str::to_owned),
            ..Access::default()
        }
    }

    #[test]
    fn locks_follow_the_reason_key_and_the_operator() {
        let a = access(
            &[("s", SCIM), ("g", GOOGLE), ("x", "administrative")],
            Some("me"),
        );
        assert_eq!(a.lock("free"), Lock::Open);
        assert_eq!(a.lock("me"), Lock::Own);
        assert_eq!(a.lock("s"), Lock::Idp(SCIM));
        assert_eq!(a.lock("g"), Lock::Idp(GOOGLE));
        assert_eq!(a.lock("x"), Lock::Denied("administrative"));
        let allowed = Access {
            allow_self: true,
            ..a
        };
        assert_eq!(allowed.lock("me"), Lock::Open);
    }

    #[test]
    fn only_scim_links_can_be_undone_and_only_with_the_flag() {
        assert!(Lock::Open.freeable(false));
        assert!(!Lock::Idp(SCIM).freeable(false));
        assert!(Lock::Idp(SCIM).freeable(true));
        assert!(!Lock::Idp(GOOGLE).freeable(true));
        assert!(!Lock::Own.freeable(true));
        assert!(
            Lock::Idp(SCIM)
                .why_it_stays()
                .unwrap()
                .contains("--allow-scim-unlink")
        );
    }
}
