#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| act_fuzz::delegation(data));
