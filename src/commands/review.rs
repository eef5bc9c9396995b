//! `mailshift review PLAN`: the review of a written plan, from the file alone (no network), in
//! any format, byte for byte what `plan` printed when it wrote the file: the approver renders
//! what they sign, with the content hash `apply --expect-sha256` checks.

use crate::config::ReviewConfig;
use crate::error::{Error, Outcome};

pub fn run(config: &ReviewConfig) -> Result<Outcome, Error> {
    let (plan, sha256) = crate::plan::file::read_hashed(&config.plan)?;
    super::warn_if_loose(&config.plan);
    super::plan::print_review(&plan, &sha256, config.format)?;
    Ok(Outcome::Clean)
}
