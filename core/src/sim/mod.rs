//! A local stand-in for the Atlassian admin APIs mailshift talks to, seeded from an export, so
//! that a migration can be rehearsed on loopback and tests run against a real HTTP server.
//! `world` holds the rules, `limiter` and `faults` the misbehaviour, and `state` the one value
//! that ties them together with `now` passed in; the HTTP face is the binary's
//! `mailshift::sim::server`, which holds a `state` behind one lock.

pub mod faults;
pub mod limiter;
pub mod state;
pub mod world;
