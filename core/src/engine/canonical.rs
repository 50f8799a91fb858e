//! One canonical spelling per resource: text that could look like, or be decoded into, another
//! resource is refused before matching, so a pattern or exclusion sees what a human reads.
//!
//! Refused (each with its own sentence): empty segments (`//` past `scheme://`, a trailing `/`),
//! `%25` (double percent-encoding), invisible or format characters (Unicode's default-ignorable
//! code points and bidirectional controls), text not in Unicode NFC, and look-alikes of `.`, `/`
//! and `\` (anything NFKC maps to them, and the slash/dot look-alikes NFKC leaves alone).
//! NFC is checked with `unicode-normalization`, the normalization crate the Rust ecosystem's URL
//! and IDNA stacks use.

use unicode_normalization::{is_nfc, UnicodeNormalization};

/// Empty segments are allowed only as the authority marker of `scheme://`, never elsewhere.
pub(crate) fn check_segments(segments: &[&str]) -> Result<(), String> {
    let scheme = segments.len() > 2 && segments[0].ends_with(':') && !segments[0].is_empty();
    for (i, s) in segments.iter().enumerate() {
        if s.is_empty() && !(i == 1 && scheme) {
            return Err(if i + 1 == segments.len() {
                "the resource ends with `/`; drop the trailing slash (one resource, one spelling)".into()
            } else {
                "the resource has an empty segment (`//` or a leading `/`); write its canonical form".into()
            });
        }
    }
    Ok(())
}

/// Checks a resource pattern of a policy: one that breaks these rules could never match a request.
pub(crate) fn check_pattern(pattern: &str) -> Result<(), String> {
    let segments: Vec<&str> = pattern.split('/').collect();
    check_segments(&segments)
        .map_err(|e| format!("`{pattern}` can never match: {}", e.replacen("the resource", "it", 1)))?;
    if !pattern.is_ascii() {
        check_text(pattern)
            .map_err(|e| format!("`{pattern}` can never match: {}", e.replacen("the resource", "it", 1)))?;
    }
    Ok(())
}

/// Checks a non-ASCII resource (ASCII text needs none of this).
pub(crate) fn check_text(resource: &str) -> Result<(), String> {
    if let Some(c) = resource.chars().find(|c| invisible(*c)) {
        return Err(format!(
            "the resource contains the invisible character U+{:04X}; remove it",
            c as u32
        ));
    }
    if let Some(c) = resource.chars().find(|c| look_alike(*c)) {
        return Err(format!(
            "the resource contains U+{:04X}, a look-alike of `.`, `/` or `\\`; use the ASCII character",
            c as u32
        ));
    }
    if !is_nfc(resource) {
        return Err("the resource is not in Unicode NFC form; normalize it (NFC) before the request".into());
    }
    Ok(())
}

/// Default-ignorable code points and bidirectional controls: they render as nothing.
fn invisible(c: char) -> bool {
    matches!(c as u32,
        0x00AD | 0x034F | 0x061C | 0x115F..=0x1160 | 0x17B4..=0x17B5 | 0x180B..=0x180F
        | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x206F | 0x3164 | 0xFE00..=0xFE0F
        | 0xFEFF | 0xFFA0 | 0xFFF0..=0xFFFB | 0x1BCA0..=0x1BCA3 | 0x1D173..=0x1D17A | 0xE0000..=0xE0FFF)
}

/// Characters that read as `.`, `/` or `\` but are not them.
fn look_alike(c: char) -> bool {
    const EXTRA: &[char] = &[
        '\u{2044}', '\u{2215}', '\u{2216}', '\u{2571}', '\u{2572}', '\u{27CB}', '\u{27CD}', '\u{29F5}', '\u{29F8}',
        '\u{29F9}', '\u{3002}', '\u{FF61}', '\u{2024}', '\u{FE52}', '\u{0701}', '\u{0702}', '\u{A4F8}',
    ];
    if c.is_ascii() {
        return false;
    }
    EXTRA.contains(&c) || c.to_string().nfkc().any(|d| matches!(d, '.' | '/' | '\\'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_reads_as_something_else() {
        for bad in [
            "repo://a/\u{200B}secrets/k",
            "repo://a/secrets\u{FF0F}k",
            "repo://a/\u{FF0E}env",
            "repo://a/cafe\u{301}",
            "repo://a/x\u{2215}y",
            "repo://a/\u{202E}x",
        ] {
            assert!(check_text(bad).is_err(), "{bad:?}");
        }
        assert!(check_text("repo://a/caf\u{E9}/日本").is_ok());
    }

    #[test]
    fn empty_segments() {
        let ok = ["order:", "", "customer:42", "1"];
        assert!(check_segments(&ok).is_ok());
        for bad in [
            &["order:", "", "a", ""][..],
            &["order:", "", "a", "", "b"],
            &["", "etc", "x"],
            &["order:", "", ""],
        ] {
            assert!(check_segments(bad).is_err(), "{bad:?}");
        }
    }
}
