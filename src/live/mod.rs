//! The live org, read through the admin API: `page` parses the users listing (pure), `reader`
//! fetches it and single profiles (the network), `org` turns it into the planner's org,
//! `manage` parses the pre-flight answers (permissions, domains), `drift` compares the org with a plan's
//! preconditions before `apply` writes, and `verify` with its final addresses (both pure).

pub mod drift;
pub mod manage;
pub mod org;
pub mod page;
pub mod reader;
pub mod verify;
