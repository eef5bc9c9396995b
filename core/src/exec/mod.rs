//! The executor: runs a plan's steps against the API. The pure parts decide (`schedule`: which
//! step next, among the steps `plan::select` chose; `retry`: what an answer means for a step;
//! `pace`: how fast; `guard`: when failures should stop the run; `machine`: the run's state,
//! calling all of those, with time passed in). The one loop that does the I/O and sends `Event`s
//! to whoever owns the terminal is `mailshift::exec::run`, in the binary.

pub mod guard;
pub mod machine;
pub mod pace;
pub mod retry;
pub mod schedule;
#[cfg(test)]
mod shapes;
