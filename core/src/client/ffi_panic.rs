//! What every binding's FFI boundary shares: a Rust panic never crosses it, and it reaches every
//! language with the same sentence (code `internal`).

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs a binding's entry point; a panic inside becomes `internal(sentence)` instead of unwinding
/// into the host language. The sentence names the panic's message and asks for a report.
pub fn catch_panic<T, E>(f: impl FnOnce() -> Result<T, E>, internal: impl FnOnce(String) -> E) -> Result<T, E> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| Err(internal(panic_sentence(payload.as_ref()))))
}

/// `a bug in ACT: the native core panicked (<message>); please report it`.
pub fn panic_sentence(payload: &(dyn Any + Send)) -> String {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    format!("a bug in ACT: the native core panicked ({what}); please report it")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_the_internal_error_with_its_message() {
        let r: Result<(), String> = catch_panic(|| panic!("boom {}", 7), |s| s);
        assert_eq!(
            r.unwrap_err(),
            "a bug in ACT: the native core panicked (boom 7); please report it"
        );
        assert_eq!(catch_panic(|| Ok::<_, String>(1), |s| s), Ok(1));
    }
}
