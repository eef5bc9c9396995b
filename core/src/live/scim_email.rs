//! The 409 pre-check of an IdP push: `POST .../get-scim-links-for-email` finds the SCIM records
//! that hold an address. A record of another account (or of none: a user of a second directory)
//! makes the identity provider's update of the mover fail with "Resource [USER] with email ...
//! already exists" (seed: update managed SCIM email addresses). Pure: the parse, and which
//! records stand in the way.

use serde::Deserialize;

/// A SCIM record that holds an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimRecord {
    pub scim_user_id: String,
    pub directory_id: String,
    /// The Atlassian account it is linked to; `None` for a record with no account.
    pub account_id: Option<String>,
}

#[derive(Deserialize)]
struct RawLinks {
    #[serde(default, rename = "scimLinks")]
    scim_links: Vec<RawLink>,
}

/// The API's field names, as they are.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(clippy::struct_field_names)]
struct RawLink {
    scim_user_id: String,
    directory_id: String,
    atlassian_account_id: Option<String>,
}

/// The records, or what is wrong with the body. `scimLinks` may be left out (the spec has it
/// optional: none), but a body that is not an object is not taken as "none".
pub fn parse_records(body: &[u8]) -> Result<Vec<ScimRecord>, String> {
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    if !value.is_object() {
        return Err(format!("expected an object with scimLinks, got {value}"));
    }
    let raw: RawLinks = serde_json::from_value(value).map_err(|e| e.to_string())?;
    Ok(raw
        .scim_links
        .into_iter()
        .map(|l| ScimRecord {
            scim_user_id: l.scim_user_id,
            directory_id: l.directory_id,
            account_id: l.atlassian_account_id.filter(|a| !a.is_empty()),
        })
        .collect())
}

/// The records in the way of pushing an address to `mover`: any not linked to the mover itself,
/// except those of accounts the plan unlinks first (`unlinked`).
pub fn in_the_way<'r>(
    mover: &str,
    records: &'r [ScimRecord],
    unlinked: &dyn Fn(&str) -> bool,
) -> Vec<&'r ScimRecord> {
    records
        .iter()
        .filter(|r| match r.account_id.as_deref() {
            Some(a) => a != mover && !unlinked(a),
            None => true,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_of_others_and_of_no_account_stand_in_the_way() {
        let body = br#"{"scimLinks":[
            {"scimUserId":"s1","directoryId":"d1","orgId":"o","atlassianAccountId":"mover"},
            {"scimUserId":"s2","directoryId":"d2","orgId":"o","atlassianAccountId":"dup"},
            {"scimUserId":"s3","directoryId":"d2","orgId":"o","atlassianAccountId":null},
            {"scimUserId":"s4","directoryId":"d1","orgId":"o","atlassianAccountId":"unlinked"}]}"#;
        let records = parse_records(body).unwrap();
        let ids = |rs: Vec<&ScimRecord>| -> Vec<String> {
            rs.iter().map(|r| r.scim_user_id.clone()).collect()
        };
        assert_eq!(
            ids(in_the_way("mover", &records, &|a| a == "unlinked")),
            ["s2", "s3"]
        );
        assert!(parse_records(br#"{"scimLinks":[]}"#).unwrap().is_empty());
        assert!(parse_records(b"{}").unwrap().is_empty());
        assert!(parse_records(b"[]").is_err());
        assert!(parse_records(br#"{"scimLinks":[{"directoryId":"d"}]}"#).is_err());
    }
}
