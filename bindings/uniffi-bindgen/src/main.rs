//! `cargo run -p uniffi-bindgen -- generate <libact_uniffi.so> --language kotlin --out-dir DIR`
//!
//! A workspace binary so that generating Kotlin and Swift needs no separately
//! installed tool, and the generator always matches the `uniffi` version the
//! `act-uniffi` crate was built with (a mismatch fails at load time).

fn main() {
    uniffi::uniffi_bindgen_main()
}
