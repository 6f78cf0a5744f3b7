//! `fuzz/run dotforeman`: see `procman_fuzz::dotforeman` for what is checked.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| procman_fuzz::dotforeman(data));
