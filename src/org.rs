//! The accounts of one org, indexed by ID and by address. Building it checks the invariant the
//! whole tool rests on: one address, one account.

use crate::model::{Account, email_key};
use hashbrown::{DefaultHashBuilder, HashTable};
use std::hash::BuildHasher;

/// An index of account positions by a string the account carries. Only positions are stored, so a
/// million accounts cost a few megabytes here rather than a second copy of every key.
struct KeyIndex {
    table: HashTable<u32>,
    hasher: DefaultHashBuilder,
}

impl KeyIndex {
    fn with_capacity(n: usize) -> KeyIndex {
        KeyIndex {
            table: HashTable::with_capacity(n),
            hasher: DefaultHashBuilder::default(),
        }
    }

    fn find<'a>(
        &self,
        accounts: &'a [Account],
        key: &str,
        key_of: fn(&'a Account) -> &'a str,
    ) -> Option<u32> {
        let hash = self.hasher.hash_one(key);
        self.table
            .find(hash, |&i| key_of(&accounts[i as usize]) == key)
            .copied()
    }

    fn insert(&mut self, accounts: &[Account], i: u32, key_of: fn(&Account) -> &str) {
        let hasher = &self.hasher;
        let hash = hasher.hash_one(key_of(&accounts[i as usize]));
        self.table
            .insert_unique(hash, i, |&j| hasher.hash_one(key_of(&accounts[j as usize])));
    }
}

fn id_of(a: &Account) -> &str {
    a.id.as_deref().unwrap_or_default()
}

fn key_of(a: &Account) -> &str {
    a.email.key()
}

/// Why a list of accounts cannot be one org.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrgError {
    /// One ID with two different addresses.
    #[error(
        "account {account} on line {line} has {email}, but line {first_line} gives it {first_email}"
    )]
    DuplicateId {
        account: String,
        line: u64,
        email: String,
        first_line: u64,
        first_email: String,
    },
    /// Two accounts holding one address.
    #[error("{email} is held by {account} (line {line}) and by {other} (line {other_line})")]
    SharedAddress {
        email: String,
        account: String,
        line: u64,
        other: String,
        other_line: u64,
    },
}

pub struct Org {
    accounts: Vec<Account>,
    by_id: KeyIndex,
    by_email: KeyIndex,
}

impl Org {
    /// Indexes the accounts. Rows repeating an account with the same address are merged (an export
    /// with one row per group membership does that); anything else that breaks "one address, one
    /// account" is an error.
    pub fn new(rows: Vec<Account>) -> Result<Org, OrgError> {
        let mut org = Org {
            accounts: Vec::with_capacity(rows.len()),
            by_id: KeyIndex::with_capacity(rows.len()),
            by_email: KeyIndex::with_capacity(rows.len()),
        };
        for row in rows {
            if let Some(id) = row.id.as_deref()
                && let Some(i) = org.by_id.find(&org.accounts, id, id_of)
            {
                let first = &mut org.accounts[i as usize];
                if first.email.key() != row.email.key() {
                    return Err(OrgError::DuplicateId {
                        account: id.to_owned(),
                        line: row.line,
                        email: row.email.text().to_owned(),
                        first_line: first.line,
                        first_email: first.email.text().to_owned(),
                    });
                }
                first.product_access |= row.product_access;
                continue;
            }
            if let Some(i) = org.by_email.find(&org.accounts, row.email.key(), key_of) {
                let other = &org.accounts[i as usize];
                return Err(OrgError::SharedAddress {
                    email: row.email.text().to_owned(),
                    account: row.id.clone().unwrap_or_else(|| "an account".to_owned()),
                    line: row.line,
                    other: other.id.clone().unwrap_or_else(|| "another".to_owned()),
                    other_line: other.line,
                });
            }
            let i = u32::try_from(org.accounts.len()).unwrap_or(u32::MAX);
            let has_id = row.id.is_some();
            org.accounts.push(row);
            if has_id {
                org.by_id.insert(&org.accounts, i, id_of);
            }
            org.by_email.insert(&org.accounts, i, key_of);
        }
        Ok(org)
    }

    pub fn len(&self) -> usize {
        self.accounts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
    }

    pub fn accounts(&self) -> &[Account] {
        &self.accounts
    }

    pub fn account(&self, i: u32) -> &Account {
        &self.accounts[i as usize]
    }

    pub fn by_id(&self, id: &str) -> Option<u32> {
        self.by_id.find(&self.accounts, id, id_of)
    }

    /// The account holding an address, compared without case.
    pub fn holder(&self, address: &str) -> Option<u32> {
        self.by_email
            .find(&self.accounts, &email_key(address), key_of)
    }

    /// The account holding an address given by its key (already lower-cased).
    pub fn holder_of_key(&self, key: &str) -> Option<u32> {
        self.by_email.find(&self.accounts, key, key_of)
    }
}
