//! `fuzz/run control`: see `procman_fuzz::control` for what is checked.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| procman_fuzz::control(data));
