//! `mailshift review`.

use std::path::PathBuf;

/// `mailshift review`: which plan file, in which format.
#[derive(Debug, Clone)]
pub struct ReviewConfig {
    pub plan: PathBuf,
    pub format: crate::cli::Format,
}

impl ReviewConfig {
    pub fn from_arguments(args: crate::cli::ReviewArgs) -> ReviewConfig {
        ReviewConfig {
            plan: args.plan,
            format: args.format,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::table::{check, command};

    #[test]
    fn review_takes_the_plan_and_the_format_asked_for() {
        check(
            &[
                ("review p.json", "p.json Table"),
                ("review p.json --format markdown", "p.json Markdown"),
                ("review p.json --format csv", "p.json Csv"),
                ("review p.json --format json", "p.json Json"),
            ],
            |line| {
                let crate::cli::Command::Review(args) = command(line) else {
                    panic!("not review: {line}")
                };
                let c = ReviewConfig::from_arguments(args);
                format!("{} {:?}", c.plan.display(), c.format)
            },
        );
    }
}
