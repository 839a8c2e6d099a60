//! Control characters are refused wherever text arrives: NUL cannot be stored in PostgreSQL
//! and, like ESC and the rest of C0, has no business in a name, an id or an export. Tab, line
//! feed and carriage return are allowed in free text (a note, an address); nothing else below
//! U+0020 is.
//!
//! JSON bodies are checked on their raw bytes first (a JSON string can only carry a control
//! character as an escape, so a body without a backslash escape of one is clean), and walked
//! to name the field only when one is there.

use serde_json::Value;

/// Whether `c` is refused in free text: C0 controls other than tab, line feed and CR.
pub fn forbidden_in_text(c: char) -> bool {
    c < ' ' && !matches!(c, '\t' | '\n' | '\r')
}

/// The first refused character of `text`, if any.
pub fn first_forbidden(text: &str) -> Option<char> {
    text.chars().find(|&c| forbidden_in_text(c))
}

/// Why `text` is refused, if it is: names the character as U+XXXX.
pub fn check_text(text: &str) -> Result<(), String> {
    match first_forbidden(text) {
        Some(c) => Err(format!("contains the control character U+{:04X}, which is not allowed", c as u32)),
        None => Ok(()),
    }
}

/// Whether raw JSON may carry a refused control character: an escape `\uXXXX` of one, or
/// `\b` / `\f`. (Unescaped control characters are not valid JSON and fail to parse.)
pub fn json_may_carry_controls(raw: &[u8]) -> bool {
    let mut i = 0;
    while let Some(off) = raw[i..].iter().position(|&b| b == b'\\') {
        let at = i + off;
        match raw.get(at + 1) {
            Some(b'b' | b'f') => return true,
            Some(b'u') => {
                let hex = raw.get(at + 2..at + 6).and_then(|h| std::str::from_utf8(h).ok());
                if let Some(code) = hex.and_then(|h| u32::from_str_radix(h, 16).ok()) {
                    if char::from_u32(code).is_some_and(forbidden_in_text) {
                        return true;
                    }
                }
                i = at + 2;
            }
            // An escaped backslash (or quote, slash, n, r, t): skip both characters.
            Some(_) => i = at + 2,
            None => return false,
        }
    }
    false
}

/// The JSON path (`lines[0].sku`, `attributes.note`) of the first string or object key in `v`
/// that carries a refused control character, and why.
pub fn find_in_json(v: &Value) -> Option<(String, String)> {
    fn walk(v: &Value, path: &mut String) -> Option<(String, String)> {
        match v {
            Value::String(s) => check_text(s).err().map(|why| (path.clone(), why)),
            Value::Array(items) => items.iter().enumerate().find_map(|(i, x)| {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                let found = walk(x, path);
                path.truncate(len);
                found
            }),
            Value::Object(map) => map.iter().find_map(|(k, x)| {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&k.escape_debug().to_string());
                let found = match check_text(k) {
                    Err(why) => Some((path.clone(), format!("the key {why}"))),
                    Ok(()) => walk(x, path),
                };
                path.truncate(len);
                found
            }),
            _ => None,
        }
    }
    walk(v, &mut String::new())
}

/// The field of a raw JSON document that carries a refused control character, and why: the
/// raw scan, then the walk only when the scan finds something.
pub fn find_in_raw_json(raw: &[u8]) -> Option<(String, String)> {
    if !json_may_carry_controls(raw) {
        return None;
    }
    let v: Value = serde_json::from_slice(raw).ok()?;
    find_in_json(&v).map(|(field, why)| (if field.is_empty() { "document".into() } else { field }, why))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn escapes_of_controls_are_found_and_named() {
        assert!(json_may_carry_controls(br#"{"a": "x\u0000y"}"#));
        assert!(json_may_carry_controls(br#"{"a": "\u001B[31m"}"#));
        assert!(json_may_carry_controls(br#"{"a": "\b"}"#));
        assert!(!json_may_carry_controls(br#"{"a": "line\nnext\ttab\r"}"#));
        assert!(!json_may_carry_controls(br#"{"a": "\\u0000 is text"}"#), "an escaped backslash");
        assert!(!json_may_carry_controls(br#"{"a": "\u00e9\u3042"}"#));
        let v: Value = serde_json::from_str(r#"{"lines": [{"sku": "ok"}, {"sku": "b\u0000d"}]}"#).unwrap();
        assert_eq!(find_in_json(&v).unwrap().0, "lines[1].sku");
        let v: Value = serde_json::from_str(r#"{"attributes": {"k\u001b": 1}}"#).unwrap();
        assert!(find_in_json(&v).unwrap().1.starts_with("the key contains the control character U+001B"));
        assert_eq!(check_text("tab\tand\nnew line"), Ok(()));
    }

    proptest! {
        /// The raw scan never misses what the walk finds.
        #[test]
        fn the_raw_scan_finds_every_control_the_walk_finds(s in "\\PC*[\\x00-\\x1f]?\\PC*") {
            let raw = serde_json::to_vec(&serde_json::json!({ "field": s })).unwrap();
            let v: Value = serde_json::from_slice(&raw).unwrap();
            prop_assert_eq!(json_may_carry_controls(&raw), find_in_json(&v).is_some());
        }
    }
}
