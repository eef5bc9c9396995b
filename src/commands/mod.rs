//! One module per subcommand: the imperative shell around the pure core.

pub mod apply;
pub mod plan;
mod reading;
pub mod rehearse;
pub mod review;
pub mod rollback;
pub mod simulate;
pub mod status;
pub mod verify;

/// Plans and journals hold names and addresses: warns when `path` is open to other users.
fn warn_if_loose(path: &std::path::Path) {
    if let Some(warning) = crate::private_file::loose_warning(path) {
        crate::terminal::caution!("{warning}");
    }
}
