//! mailshift's functional core: plain data and pure functions, time passed in as a value. Nothing
//! here touches the network, the disk or the terminal, and the dependencies say so: no tokio,
//! reqwest, axum, clap or indicatif (CI checks `cargo tree`). The binary crate, `mailshift`, is
//! the shell that reads files, sends requests and owns the terminal. docs/architecture.md maps
//! the rooms.

pub mod api;
pub mod cores;
pub mod exec;
pub mod hash;
pub mod inert;
pub mod input;
pub mod journal;
pub mod ledger;
pub mod live;
pub mod model;
pub mod org;
pub mod plan;
pub mod review;
pub mod sim;
pub mod words;
