//! The live org, read through the admin API: `page` parses the users listing (v1), `search`
//! the directory search (v2) that replaces it, `settle` what
//! that search tells of pre-flight, `scim_email` the 409 pre-check of an IdP push (the binary's
//! `mailshift::live::reader` fetches it and single profiles), `org` turns it into the planner's org,
//! `manage` parses the pre-flight answers (permissions, domains), `drift` compares the org with a plan's
//! preconditions before `apply` writes, and `verify` with its final addresses (both pure).

pub mod drift;
pub mod manage;
pub mod org;
pub mod page;
pub mod scim_email;
pub mod search;
pub mod settle;
pub mod verify;
