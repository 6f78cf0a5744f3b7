//! `fuzz/run shell`: see `procman_fuzz::shell` for what is checked.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| procman_fuzz::shell(data));
