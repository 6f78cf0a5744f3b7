//! `fuzz/run formation`: see `procman_fuzz::formation` for what is checked.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| procman_fuzz::formation(data));
