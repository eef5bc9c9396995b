//! mailshift: plan and execute bulk email-address changes for Atlassian Cloud managed accounts.
//!
//! This crate is the shell: the command line, the configs, the commands, the drivers (the HTTP
//! client, the executor's loop, the live reader, the simulator's server), the files and the
//! terminal. The functional core is the `mailshift-core` crate; its pure-only rooms are
//! re-exported here whole, and each room with a driver re-exports its pure half beside it.

pub mod api;
pub mod cli;
pub mod commands;
pub mod config;
pub mod error;
pub mod exec;
pub mod input;
pub mod journal;
pub mod live;
pub mod plan;
pub mod private_file;
pub mod review;
pub mod sim;
pub mod terminal;

pub use mailshift_core::{hash, ledger, model, org, words};

pub use error::{Error, Outcome, exit_code};

/// Runs one parsed command line.
pub fn run(cli: cli::Cli) -> Result<Outcome, Error> {
    terminal::set(match (cli.quiet, cli.verbose) {
        (true, _) => terminal::Verbosity::Quiet,
        (false, 0) => terminal::Verbosity::Normal,
        (false, _) => terminal::Verbosity::Verbose,
    });
    match cli.command {
        cli::Command::Plan(args) => {
            let config = config::PlanConfig::from_arguments(args, config::Sources::process())?;
            commands::plan::run(&config)
        }
        cli::Command::Simulate(args) => {
            let config = config::SimulateConfig::from_arguments(args, config::Sources::process())?;
            commands::simulate::run(&config)
        }
        cli::Command::Rehearse(args) => {
            commands::rehearse::run(&config::RehearseConfig::from_arguments(args)?)
        }
        cli::Command::Apply(args) => {
            let config = config::ApplyConfig::from_arguments(args, config::Sources::process())?;
            commands::apply::run(&config)
        }
        cli::Command::Review(args) => {
            commands::review::run(&config::ReviewConfig::from_arguments(args))
        }
        cli::Command::Status(args) => {
            commands::status::run(&config::StatusConfig::from_arguments(args))
        }
        cli::Command::Verify(args) => {
            let config = config::VerifyConfig::from_arguments(args, config::Sources::process())?;
            commands::verify::run(&config)
        }
        cli::Command::Completions(args) => {
            let mut command = <cli::Cli as clap::CommandFactory>::command();
            // Generated whole first: the generator panics on a failed write, `| head` included.
            let mut script = Vec::new();
            clap_complete::generate(args.shell, &mut command, "mailshift", &mut script);
            terminal::print_data(|out| out.write_all(&script))?;
            Ok(Outcome::Clean)
        }
        cli::Command::Rollback(args) => {
            let config = config::RollbackConfig::from_arguments(args, config::Sources::process())?;
            commands::rollback::run(&config)
        }
    }
}
