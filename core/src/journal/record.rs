//! The journal's records as plain data. Every line is one `Record`; the first is the header.

use crate::model::StepId;
use serde::{Deserialize, Serialize};

pub const FORMAT: &str = "mailshift-journal";
/// 2 added the `settled` record; version 1 journals are read and resumed as they are.
pub const FORMAT_VERSION: u32 = 2;

/// The first line: which plan the journal belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub format: String,
    pub format_version: u32,
    pub tool_version: String,
    /// The plan's `content_sha256`; a journal is only ever used with that plan.
    pub plan_sha256: String,
    pub steps: u32,
    pub at: String,
}

/// One line after the header. Step numbers are the plan's step ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum Record {
    /// An `apply` run began (the first one, or a resume).
    Run {
        run: u32,
        pid: u32,
        at: String,
        /// A pilot's selection as given (`--limit 5 --only pilot.txt`); absent for the whole plan.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        scope: Option<String>,
        /// The API base URL the run wrote to; absent in journals from before it was recorded.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        api: Option<String>,
        /// The org the run wrote to; absent in journals from before it was recorded.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        org: Option<String>,
    },
    /// The write for `step` is about to be sent. On disk before the request leaves, so that a
    /// crash can never hide a write: a step with an intent and no outcome is checked on resume.
    Intent {
        step: StepId,
        attempt: u32,
        at: String,
    },
    /// The account has the step's target address.
    Done {
        step: StepId,
        /// The API's answer, or `None` when the outcome was learnt by reading the account.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<u16>,
        attempts: u32,
        at: String,
    },
    /// The step cannot be carried out; the API's key and message say why.
    Failed {
        step: StepId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<u16>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key: Option<String>,
        message: String,
        attempts: u32,
        at: String,
    },
    /// Not attempted, because a step it needs failed or was skipped.
    Skipped {
        step: StepId,
        because: StepId,
        at: String,
    },
    /// The last attempt is known not to have been applied (a 429 or a refusal before any
    /// change); the step is still to do, and a resume needs no read to know it.
    NotApplied { step: StepId, at: String },
    /// The accounts of `group`, whose steps had a write with an uncertain outcome, were read
    /// again once the group was done, late enough that a lagging read could not hide a late
    /// write, and each was at its planned address. Until this record, a resume owes that read.
    Settled { group: u32, at: String },
}

impl Record {
    pub fn step(&self) -> Option<StepId> {
        match self {
            Record::Run { .. } | Record::Settled { .. } => None,
            Record::Intent { step, .. }
            | Record::Done { step, .. }
            | Record::Failed { step, .. }
            | Record::Skipped { step, .. }
            | Record::NotApplied { step, .. } => Some(*step),
        }
    }
}
