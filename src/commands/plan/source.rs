//! The org to plan against, from the accounts export or the live org, and what the plan records of
//! where it came from. Its own room so that `plan` and `plan::live`, which each build one, need not
//! import each other's.

use crate::input::Layout;
use crate::org::Org;
use crate::plan::InputFile;
use std::collections::BTreeSet;

/// The org to plan against and what the plan records of where it came from.
pub(super) struct Source {
    pub org: Org,
    pub input: InputFile,
    pub layout: Layout,
    pub verified_domains: Option<BTreeSet<String>>,
    /// Accounts the export says this org has not claimed, and those whose email it says is
    /// unverified (the domains export's `Claimed` and `Verified email` columns).
    pub unclaimed: Vec<String>,
    pub unverified: Vec<String>,
}
