//! The executor: runs a plan's steps against the API. The pure parts decide (`select`: which
//! steps a pilot takes; `schedule`: which step next; `retry`: what an answer means for a step;
//! `pace`: how fast; `guard`: when failures should stop the run; `machine`: the run's state,
//! calling all of those, with time passed in). The one loop that does the I/O and sends `Event`s
//! to whoever owns the terminal is `mailshift::exec::run`, in the binary.

pub mod guard;
pub mod machine;
pub mod pace;
pub mod retry;
pub mod schedule;
pub mod select;
#[cfg(test)]
mod shapes;
