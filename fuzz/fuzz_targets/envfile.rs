//! `fuzz/run envfile`: see `procman_fuzz::envfile` for what is checked.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| procman_fuzz::envfile(data));
