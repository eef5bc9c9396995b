//! The plan: the ordered email writes that take the org from its export to its targets, and every
//! wish it cannot carry out, each with its reason. `compute` builds it (pure); `file` stores it.

pub mod access;
mod compute;
pub mod format;
pub mod groups;
mod placeholder;
pub mod rollback;
pub mod select;
mod step_json;
mod summary;
mod unmatched;

pub use crate::model::StepId;
pub use access::Access;
pub use compute::{Computed, Request, compute};
pub use groups::Groups;
pub use summary::Summary;
pub use unmatched::why_unmatched;

use crate::input::Layout;
use crate::model::Status;
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;
use std::sync::Arc;

/// The steps one step waits for: at most two (the step that frees its address, and for a cycle's
/// last step also the step that parked it), so they live inline, not in an allocation per step.
pub type After = SmallVec<[StepId; 2]>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub inputs: Inputs,
    pub summary: Summary,
    /// In an order that can be run one by one; `after` allows running more at once.
    pub steps: Vec<Step>,
    pub blocked: Vec<Blocked>,
    /// Rows that match no account: people of the identity provider without an Atlassian account
    /// (staff without a licence, guests, service accounts). Not blocked: nothing was asked of
    /// Atlassian for them. Absent from plans that have none (format versions 1 and 2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub no_account: Vec<Blocked>,
    /// Wishes already met: the account has the target address (perhaps spelled otherwise).
    pub unchanged: Vec<Unchanged>,
    /// Accounts whose email the identity provider owns: changed there, in this order, once the
    /// steps each waits for are applied. Absent from plans that have none (format version 1).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub idp: Vec<IdpMove>,
    /// Accounts the plan writes whose email the accounts export says is unverified: the API
    /// refuses to change them until it is verified, so the review names them. Absent from plans
    /// that have none (format versions 1 to 4).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unverified: Vec<String>,
    /// Accounts the plan leaves on a domain it moves others away from (leavers, service
    /// accounts, anyone no row or rule moves), in org order. Absent from plans that have none
    /// (format versions 1 to 4).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub left_behind: Vec<LeftBehind>,
    /// The groups of each account the plan unlinks from SCIM, in plan order, as the org's v2
    /// listing showed them when the plan was made: the identity provider must provision the
    /// account again afterwards, and these are the groups to check it gets back. Absent when
    /// nothing is unlinked or the org's API has no v2 search (format versions 1 to 5).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups_before_unlink: Vec<AccountGroups>,
    /// SCIM records that hold an address an IdP change pushes, other than the mover's own: the
    /// push would be refused "Resource [USER] with email ... already exists" (409). Found by
    /// `plan --org-id`; absent when there are none (format versions 1 to 5).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scim_in_the_way: Vec<ScimInTheWay>,
}

/// A SCIM record in the way of an IdP change (`IdpMove::order`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScimInTheWay {
    pub idp_order: u32,
    pub email: String,
    pub scim_user_id: String,
    pub directory_id: String,
    /// The account the record is linked to; absent for a record with no Atlassian account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
}

impl ScimInTheWay {
    /// What to do about it, in words (the seed's use cases A and B).
    pub fn what_to_do(&self) -> String {
        match &self.account_id {
            Some(holder) => format!(
                "IdP change {}: the SCIM record {} (directory {}) of account {holder} holds {}, so the IdP's push would be refused 409 \"Resource [USER] with email ... already exists\". If {holder} is the same person from a second IdP (use case A): unlink it (plan again with --allow-scim-unlink), let the plan free it, then re-push; if it is someone else (use case B): change that user's email in its own IdP first",
                self.idp_order, self.scim_user_id, self.directory_id, self.email
            ),
            None => format!(
                "IdP change {}: the SCIM record {} (directory {}) holds {} with no Atlassian account, so the IdP's push would be refused 409 \"Resource [USER] with email ... already exists\": delete or rename that user in the IdP of directory {} before pushing",
                self.idp_order, self.scim_user_id, self.directory_id, self.email, self.directory_id
            ),
        }
    }
}

/// An account's groups by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountGroups {
    pub account_id: String,
    pub groups: Vec<String>,
}

/// An account left on a domain the plan moves away from, at the address the plan leaves it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeftBehind {
    pub account_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    pub email: String,
    pub status: Status,
}

/// What the plan was made from, so that a reviewer and `apply` can tell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inputs {
    pub accounts: InputFile,
    pub accounts_layout: Layout,
    pub targets: Option<InputFile>,
    /// The second and later `--targets` files, in the order given: `Origin::Line`'s `file` 1,
    /// 2, ... Absent when one file or none was given (format version 6).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub more_targets: Vec<InputFile>,
    pub rewrite_domains: Vec<String>,
    pub verified_domains: Option<Vec<String>>,
    /// Set when the plan was made against the live org (`plan --org-id`): its domains and its
    /// accounts' permissions were read then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_live: Option<LiveCheck>,
    /// A rollback plan (`mailshift rollback`): its wishes are the old addresses of an applied
    /// plan, which `targets` names. Absent (false) in every other plan.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rollback: bool,
}

impl Inputs {
    /// The targets file an `Origin::Line` names.
    pub fn targets_file(&self, file: u32) -> Option<&InputFile> {
        match file {
            0 => self.targets.as_ref(),
            k => self.more_targets.get(k as usize - 1),
        }
    }

    /// Every targets file, in the order given.
    pub fn all_targets(&self) -> impl Iterator<Item = &InputFile> {
        self.targets.iter().chain(&self.more_targets)
    }
}

/// What pre-flight read when the plan was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveCheck {
    pub org_id: String,
    /// Accounts whose `email.set` permission was read.
    pub permissions_read: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputFile {
    /// As given on the command line.
    pub path: String,
    pub sha256: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// Renames an account that holds a wanted address and is not itself moving.
    Free,
    /// Parks one account of a cycle on a temporary address.
    Temporary,
    /// Gives an account its target address.
    Rename,
    /// Unlinks a SCIM-linked holder from the identity provider (`DELETE .../onlyDeleteUserInDB`)
    /// so that its address can be freed; its email stays as it is (`to` equals `from`).
    Unlink,
}

impl StepKind {
    /// The kind as the plan file and the reviews name it.
    pub fn name(self) -> &'static str {
        match self {
            StepKind::Free => "free",
            StepKind::Temporary => "temporary",
            StepKind::Rename => "rename",
            StepKind::Unlink => "unlink",
        }
    }
}

/// One `PUT /users/{account_id}/manage/email`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// 1-based, in plan order.
    pub id: StepId,
    /// Steps that depend on each other share a group (a chain, a cycle, or one rename).
    pub group: u32,
    pub kind: StepKind,
    pub account_id: Arc<str>,
    #[serde(default = "no_name", skip_serializing_if = "str::is_empty")]
    pub name: Arc<str>,
    /// Left out of the file when active, the common case, to keep a large plan small.
    #[serde(default = "active", skip_serializing_if = "is_active")]
    pub status: Status,
    #[serde(default, skip_serializing_if = "is_false")]
    pub product_access: bool,
    /// The address the account must have right before this step: the precondition.
    pub from: Arc<str>,
    pub to: Arc<str>,
    /// Steps that must have finished first.
    #[serde(default, skip_serializing_if = "SmallVec::is_empty")]
    pub after: After,
    /// The row or rule asking for this change; none for frees and temporaries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
}

fn no_name() -> Arc<str> {
    "".into()
}

fn active() -> Status {
    Status::Active
}

fn is_active(status: &Status) -> bool {
    *status == Status::Active
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Step {
    /// A free step takes an address from a user who did not ask to move: the review flags it
    /// when that user can sign in or uses a product.
    pub fn flagged(&self) -> bool {
        self.kind == StepKind::Free && (self.status.may_have_sessions() || self.product_access)
    }
}

/// Where a wish came from: a line of a targets file or a `--rewrite-domain` rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "OriginFields", into = "OriginFields")]
pub enum Origin {
    /// `file` counts the `--targets` files from 0, in the order given (`Inputs::targets_file`).
    Line { file: u32, line: u64 },
    /// Shared: a rebrand rule can be the origin of a million steps.
    Rule(Arc<str>),
}

impl Origin {
    /// A line of the first (or only) targets file.
    pub const fn line(line: u64) -> Origin {
        Origin::Line { file: 0, line }
    }

    /// Where the wish came from, where the file's name is not at hand (a block reason's
    /// sentence): `line 3`, `line 3 of the 2nd --targets` or the rule.
    pub fn short(&self) -> String {
        match self {
            Origin::Line { file: 0, line } => format!("line {line}"),
            Origin::Line { file, line } => {
                format!(
                    "line {line} of the {} --targets",
                    crate::words::ordinal(*file + 1)
                )
            }
            Origin::Rule(rule) => format!("--rewrite-domain {rule}"),
        }
    }
}

/// An origin as the plan file spells it: `{"line": N}` for the first targets file (as before
/// several were allowed, so such plans keep their bytes), `{"line": N, "file": K}` for a later
/// one (format version 6), `{"rule": "old=new"}` for a rule.
#[derive(Serialize, Deserialize)]
struct OriginFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    line: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    file: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rule: Option<Arc<str>>,
}

impl From<Origin> for OriginFields {
    fn from(origin: Origin) -> Self {
        match origin {
            Origin::Line { file, line } => OriginFields {
                line: Some(line),
                file: (file > 0).then_some(file),
                rule: None,
            },
            Origin::Rule(rule) => OriginFields {
                line: None,
                file: None,
                rule: Some(rule),
            },
        }
    }
}

impl TryFrom<OriginFields> for Origin {
    type Error = &'static str;

    fn try_from(o: OriginFields) -> Result<Self, Self::Error> {
        match o {
            OriginFields {
                line: Some(line),
                file,
                rule: None,
            } => Ok(Origin::Line {
                file: file.unwrap_or(0),
                line,
            }),
            OriginFields {
                line: None,
                file: None,
                rule: Some(rule),
            } => Ok(Origin::Rule(rule)),
            _ => Err(
                "an origin is either {\"line\": N} (with \"file\": K) or {\"rule\": \"old=new\"}",
            ),
        }
    }
}

/// A wish the plan does not carry out, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blocked {
    pub origin: Origin,
    /// The account, when the row could be matched to one; else as the row gave it.
    pub account_id: Option<String>,
    /// The matched account's name, when the export gives one.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    pub current: Option<String>,
    pub target: String,
    pub reason: BlockReason,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BlockReason {
    /// No account in the export has the row's account ID or current address.
    UnknownAccount {},
    /// The row gives neither an account ID nor a current address.
    NoAccountNamed {},
    /// The row's account ID and current address name different accounts.
    AmbiguousAccount {
        by_id: Option<String>,
        by_email: Option<String>,
    },
    /// Several rows give one account different targets.
    ConflictingRows {
        lines: Vec<u64>,
        /// The targets file of each line (`Origin::Line`'s `file`), when any is not the first;
        /// empty otherwise (format version 6).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        files: Vec<u32>,
    },
    /// The target is not an address the API accepts.
    InvalidAddress { problem: String },
    /// The target's domain is not among `--verified-domains`.
    UnverifiedDomain { domain: String },
    /// The target's user part is not ASCII (`t.strasseë@`): no mail system of the org makes
    /// such a mailbox unless set up to, so it is planned only with
    /// `--allow-non-ascii-local-part`.
    NonAsciiLocalPart {},
    /// Other accounts want the same address.
    DuplicateTarget { others: Vec<String> },
    /// The address is held by an account that stays where it is (its own change is blocked or
    /// it asked to keep the address), so it cannot be freed.
    HolderStays {
        holder: String,
        holder_email: String,
        /// Why the holder cannot be freed, when pre-flight knows (SCIM link, own account, ...).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        because: Option<String>,
    },
    /// The account is the operator's own (`--operator`), and `--allow-self` was not given.
    OwnAccount {},
    /// The API does not allow setting this account's email (`email.set` denied for `reason`).
    NotPermitted { reason: String },
    /// The org has not claimed the account (the domains export's `Claimed` column).
    NotClaimed {},
    /// Accounts whose emails the identity provider owns want each other's addresses in a cycle,
    /// which no order of IdP changes can carry out.
    IdpCycle { accounts: Vec<String> },
}

impl BlockReason {
    /// A stable name for counting and for scripts.
    /// A row that names nobody in the org is no wish of Atlassian's: it goes to
    /// [`Plan::no_account`], not to the blocked list.
    pub fn is_no_account(&self) -> bool {
        matches!(self, BlockReason::UnknownAccount {})
    }

    pub fn code(&self) -> &'static str {
        match self {
            BlockReason::UnknownAccount {} => "unknown_account",
            BlockReason::NoAccountNamed {} => "no_account_named",
            BlockReason::AmbiguousAccount { .. } => "ambiguous_account",
            BlockReason::ConflictingRows { .. } => "conflicting_rows",
            BlockReason::InvalidAddress { .. } => "invalid_address",
            BlockReason::UnverifiedDomain { .. } => "unverified_domain",
            BlockReason::NonAsciiLocalPart {} => "non_ascii_local_part",
            BlockReason::DuplicateTarget { .. } => "duplicate_target",
            BlockReason::HolderStays { .. } => "holder_stays",
            BlockReason::OwnAccount {} => "own_account",
            BlockReason::NotPermitted { .. } => "not_permitted",
            BlockReason::NotClaimed {} => "not_claimed",
            BlockReason::IdpCycle { .. } => "idp_cycle",
        }
    }

    /// The reason in a sentence, for people.
    pub fn describe(&self) -> String {
        let lines = |ls: &[u64]| ls.iter().map(u64::to_string).collect::<Vec<_>>().join(", ");
        match self {
            BlockReason::UnknownAccount {} => "no account in the export matches this row".into(),
            BlockReason::NoAccountNamed {} => {
                "the row names no account (no account ID, no current address)".into()
            }
            BlockReason::AmbiguousAccount { by_id, by_email } => format!(
                "the row's account ID and current address disagree: the ID is {}, the address is held by {}",
                by_id
                    .as_deref()
                    .map_or("unknown".to_owned(), |e| format!("the account at {e}")),
                by_email.as_deref().unwrap_or("no account"),
            ),
            BlockReason::ConflictingRows { lines: ls, files } if files.is_empty() => {
                format!("lines {} give this account different targets", lines(ls))
            }
            BlockReason::ConflictingRows { lines: ls, files } => format!(
                "{} give this account different targets",
                ls.iter()
                    .zip(files)
                    .map(|(&line, &file)| Origin::Line { file, line }.short())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            BlockReason::InvalidAddress { problem } => format!("invalid target: {problem}"),
            BlockReason::NonAsciiLocalPart {} => "the user part of the target is not ASCII, which the org's mail system is unlikely to have made; check the row, or plan with --allow-non-ascii-local-part if such mailboxes exist".into(),
            BlockReason::UnverifiedDomain { domain } => {
                format!(
                    "{domain} is not a verified domain of the org (or not among --verified-domains)"
                )
            }
            BlockReason::DuplicateTarget { others } => {
                format!("also the target of {}", others.join(", "))
            }
            BlockReason::HolderStays {
                holder,
                holder_email,
                because,
            } => match because {
                Some(why) => {
                    format!("{holder_email} is held by {holder}, which cannot be freed: {why}")
                }
                None => format!(
                    "{holder_email} is held by {holder}, which is not moving (its own change is blocked or unchanged)"
                ),
            },
            BlockReason::OwnAccount {} => {
                "this is your own account (--operator); give --allow-self to change it".into()
            }
            BlockReason::NotPermitted { reason } => {
                format!("the API does not allow setting this account's email ({reason})")
            }
            BlockReason::NotClaimed {} => crate::plan::access::UNCLAIMED.into(),
            BlockReason::IdpCycle { accounts } => format!(
                "the identity provider owns the emails of {}, which want each other's addresses in a cycle; change one to a temporary address in the IdP first, then plan again",
                accounts.join(", ")
            ),
        }
    }
}

/// A change the identity provider must make, because it owns the account's email (seed:
/// planning-bulk-email-address-changes, Scenario 3). The plan frees the address first, so the
/// IdP's push does not meet `409 uniqueness ... already exists`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdpMove {
    /// 1-based: the order to make the changes in.
    pub order: u32,
    pub origin: Origin,
    pub account_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    pub current: String,
    pub target: String,
    /// The `email.set` reason key that showed the IdP owns the email.
    pub source: String,
    /// Plan steps that must be applied before the change is made in the IdP.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after_steps: Vec<StepId>,
    /// Earlier IdP changes (by `order`) that must have synced first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after_idp: Vec<u32>,
}

/// A wish already met.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unchanged {
    pub origin: Origin,
    pub account_id: String,
    pub current: String,
    pub target: String,
    /// The target differs from the current address in letter case only; Atlassian treats the
    /// two as one address, so nothing is written.
    pub case_only: bool,
    /// The row's current address, when no account has it and the account was found holding
    /// the row's target instead: changed before the export was taken, most likely, but only
    /// the reviewer can tell it is the same person. Absent otherwise (format versions 1 to 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row_current: Option<String>,
}

/// A rename step for unit tests of what reads plans.
#[cfg(test)]
pub fn step_of(id: u32, account: &str, from: &str, to: &str, after: &[u32]) -> Step {
    Step {
        id: StepId(id),
        group: id,
        kind: StepKind::Rename,
        account_id: account.into(),
        name: "".into(),
        status: Status::Active,
        product_access: false,
        from: from.into(),
        to: to.into(),
        after: after.iter().copied().map(StepId).collect(),
        origin: None,
    }
}

/// A plan of just these steps, for unit tests of what reads plans.
#[cfg(test)]
pub fn plan_of(steps: Vec<Step>) -> Plan {
    Plan {
        inputs: Inputs {
            accounts: InputFile {
                path: "accounts.csv".into(),
                sha256: String::new(),
            },
            accounts_layout: Layout::ExportUsers,
            targets: None,
            more_targets: vec![],
            rewrite_domains: vec![],
            verified_domains: None,
            checked_live: None,
            rollback: false,
        },
        summary: Summary::of(steps.len(), &steps, &[], &[]),
        steps,
        blocked: vec![],
        no_account: Vec::new(),
        unchanged: vec![],
        idp: vec![],
        unverified: vec![],
        left_behind: vec![],
        groups_before_unlink: vec![],
        scim_in_the_way: vec![],
    }
}
