//! One module per subcommand: the imperative shell around the pure core.

pub mod apply;
mod apply_checks;
mod drift;
mod hash_first;
mod look_back;
pub mod plan;
mod plan_live;
mod plan_source;
mod preflight;
mod progress;
mod reading;
pub mod rehearse;
mod rehearse_stop;
pub mod review;
pub mod rollback;
pub mod simulate;
pub mod status;
mod throughput;
pub mod verify;

/// Plans and journals hold names and addresses: warns when `path` is open to other users.
fn warn_if_loose(path: &std::path::Path) {
    if let Some(warning) = crate::private_file::loose_warning(path) {
        crate::terminal::caution!("{warning}");
    }
}
