#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| profilestore_fuzz::config(data));
