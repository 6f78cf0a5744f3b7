//! `fuzz/run procfile`: see `procman_fuzz::procfile` for what is checked.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| procman_fuzz::procfile(data));
