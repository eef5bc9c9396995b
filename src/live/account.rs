//! Reads of one account: whether the key may set its email, and its email. A refusal of the
//! account (a 403 about it) is the account's answer, not the command's end.

use super::error::LiveError;
use super::manage::{Permission, parse_email_set, parse_profile_email};
use super::reader::{Answer, Reader};
use crate::api::path_segment;

impl Reader {
    /// Whether the key may set this account's email (`GET /users/{id}/manage`).
    pub async fn email_set(&self, account_id: &str) -> Result<Permission, LiveError> {
        let url = format!(
            "{}/users/{}/manage",
            self.client.base(),
            path_segment(account_id)
        );
        let what = || format!("reading the permissions on account {account_id}");
        Ok(match self.get(&url, &what, &parse_email_set).await? {
            Answer::Value(p) => p,
            Answer::NotFound => Permission::NoAccount,
            Answer::Refused { key, message } => Permission::Refused { key, message },
        })
    }

    /// One account's email from its profile; `None` when the account does not exist (404), and
    /// `LiveError::AccountRefused` when the API refuses that account.
    pub async fn read_email(&self, account_id: &str) -> Result<Option<String>, LiveError> {
        let url = format!(
            "{}/users/{}/manage/profile",
            self.client.base(),
            path_segment(account_id)
        );
        let what = || format!("reading account {account_id}");
        let parse = |body: &[u8]| parse_profile_email(body);
        match self.get(&url, &what, &parse).await? {
            Answer::Value(email) => Ok(Some(email)),
            Answer::NotFound => Ok(None),
            Answer::Refused { key, message } => Err(LiveError::AccountRefused {
                what: what(),
                account_id: account_id.to_owned(),
                key,
                message,
            }),
        }
    }
}
