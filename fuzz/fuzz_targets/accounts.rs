//! Fuzz target: see tests/bad_input/checks.rs for what must hold.
#![no_main]

#[path = "../../tests/bad_input/checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::accounts(data));
