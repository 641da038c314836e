//! Free text from people: what every body is checked for before any handler sees it.
//!
//! Control characters (NUL and the rest of C0 and C1, except tab and line breaks) have no
//! place in a name, a note or a message: they break exports, logs and other systems that read
//! our data. Bidirectional overrides and isolates (U+202A–U+202E, U+2066–U+2069) make text
//! display as something other than what it says ("Trojan Source"): a reason or a message
//! that reads differently from what is stored is a forgery waiting to happen.

use crate::error::FieldError;

/// The longest string any field of a request body may hold. Fields with their own smaller
/// limit (names, reasons, messages) say so in their validation; this one keeps a megabyte
/// "reason" out of every field that has none. Pasted CSV and screening rules fit.
pub const MAX_FIELD_CHARS: usize = 200_000;

/// The first character not allowed in free text, if any.
pub fn forbidden_char(s: &str) -> Option<char> {
    s.chars().find(|&c| {
        (c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
            || ('\u{202a}'..='\u{202e}').contains(&c)
            || ('\u{2066}'..='\u{2069}').contains(&c)
    })
}

/// Checks one field's text: no forbidden character, at most `max` characters.
pub fn check(field: &str, s: &str, max: usize) -> Result<(), FieldError> {
    if let Some(c) = forbidden_char(s) {
        let code = format!("U+{:04X}", u32::from(c));
        return Err(FieldError::new(
            field,
            format!(
                "contains a character that is not allowed in text ({code}: a control or text-direction character)"
            ),
        )
        .localized("field.bad_character", vec![("code", code)]));
    }
    let n = s.chars().count();
    if n > max {
        return Err(FieldError::new(
            field,
            format!("is too long: at most {max} characters, {n} given"),
        )
        .localized(
            "field.too_long",
            vec![("max", max.to_string()), ("given", n.to_string())],
        ));
    }
    Ok(())
}

/// Every string in a JSON body (keys too), each named by its path (`items[2].note`).
pub fn check_json(value: &serde_json::Value) -> Result<(), Vec<FieldError>> {
    let mut errors = Vec::new();
    walk(value, &mut String::new(), &mut errors);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn walk(value: &serde_json::Value, path: &mut String, errors: &mut Vec<FieldError>) {
    if errors.len() >= 20 {
        return;
    }
    match value {
        serde_json::Value::String(s) => {
            let name = if path.is_empty() { "body" } else { path };
            if let Err(e) = check(name, s, MAX_FIELD_CHARS) {
                errors.push(e);
            }
        }
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                walk(item, path, errors);
                path.truncate(len);
            }
        }
        serde_json::Value::Object(map) => {
            for (key, item) in map {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                if let Err(e) = check(path, key, 200) {
                    errors.push(e);
                }
                walk(item, path, errors);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// At most `n` characters of `s`.
pub fn clip(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// A deserializer's complaint without the names of our internal types: "expected struct
/// NewFamilyMember" says nothing to a client and tells an attacker how we are built.
pub fn public_serde_message(message: &str) -> String {
    let mut out = Vec::new();
    let words: Vec<&str> = message.split(' ').collect();
    let mut i = 0;
    while i < words.len() {
        let w = words[i];
        let next = words.get(i + 1).copied();
        match (w, next) {
            // "tuple struct X" / "unit struct X": the adjective is skipped below.
            ("struct", Some(_)) => {
                out.push("an object".to_owned());
                i += 2;
                continue;
            }
            ("enum", Some(_)) => {
                out.push("one of the allowed values".to_owned());
                i += 2;
                continue;
            }
            ("tuple" | "unit" | "newtype", Some("struct" | "variant")) => {
                i += 1;
                continue;
            }
            _ => {}
        }
        let (core, tail) = split_punctuation(w);
        let plain = match core {
            "i8" | "i16" | "i32" | "i64" | "i128" | "isize" | "u8" | "u16" | "u32" | "u64"
            | "u128" | "usize" => Some("a whole number"),
            "f32" | "f64" => Some("a number"),
            "bool" => Some("true or false"),
            _ => None,
        };
        match plain {
            Some(p) => out.push(format!("{p}{tail}")),
            None => out.push(w.to_owned()),
        }
        i += 1;
    }
    out.join(" ")
}

fn split_punctuation(w: &str) -> (&str, &str) {
    let end = w
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(w.len());
    w.split_at(end)
}

/// What a name can be found by when typed on a phone: the name itself, its full pinyin and its
/// pinyin initials, lower case (苯磺酸氨氯地平片 → "苯磺酸氨氯地平片 benhuangsuananlvdipingpian
/// bhsaldpp"). Doctors type initials (aldp) far more than characters; ü is written v, as
/// Chinese keyboards do.
pub fn search_key(name: &str) -> String {
    use pinyin::ToPinyin as _;
    let mut full = String::new();
    let mut initials = String::new();
    for (c, p) in name.chars().zip(name.to_pinyin()) {
        match p {
            Some(p) => {
                full.push_str(&p.plain().replace('ü', "v"));
                initials.push_str(p.first_letter());
            }
            None if c.is_ascii_alphanumeric() => {
                let c = c.to_ascii_lowercase();
                full.push(c);
                initials.push(c);
            }
            None => {}
        }
    }
    format!("{} {full} {initials}", name.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_and_direction_characters_are_refused() {
        assert_eq!(forbidden_char("咳嗽三天\n发烧\t38.5"), None);
        assert_eq!(forbidden_char("a\u{0}b"), Some('\u{0}'));
        assert_eq!(forbidden_char("a\u{1b}[31m"), Some('\u{1b}'));
        assert_eq!(forbidden_char("\u{202e}gnp.exe"), Some('\u{202e}'));
        assert_eq!(forbidden_char("x\u{2067}y"), Some('\u{2067}'));
        assert_eq!(forbidden_char("\u{85}"), Some('\u{85}'));
    }

    #[test]
    fn json_strings_are_checked_by_path() {
        let v =
            serde_json::json!({"items": [{"note": "ok"}, {"note": "bad\u{0}"}], "k\u{202e}": 1});
        let errors = check_json(&v).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert!(fields.contains(&"items[1].note"), "{fields:?}");
        assert!(fields.iter().any(|f| f.starts_with('k')), "{fields:?}");
        let long = serde_json::json!({"reason": "长".repeat(MAX_FIELD_CHARS + 1)});
        assert!(check_json(&long).is_err());
    }

    #[test]
    fn serde_messages_lose_type_names() {
        assert_eq!(
            public_serde_message("invalid type: string \"x\", expected struct NewFamilyMember"),
            "invalid type: string \"x\", expected an object"
        );
        assert_eq!(
            public_serde_message("invalid type: string \"x\", expected i64"),
            "invalid type: string \"x\", expected a whole number"
        );
        assert_eq!(
            public_serde_message("unknown variant `x`, expected enum Kind"),
            "unknown variant `x`, expected one of the allowed values"
        );
        assert_eq!(
            public_serde_message("invalid type: map, expected u32."),
            "invalid type: map, expected a whole number."
        );
    }

    #[test]
    fn names_are_found_by_pinyin_and_initials() {
        let key = super::search_key("苯磺酸氨氯地平片");
        assert!(key.contains("aldp"), "{key}");
        assert!(key.contains("anlvdiping"), "{key}");
        assert!(key.starts_with("苯磺酸氨氯地平片 "), "{key}");
        let key = super::search_key("阿莫西林胶囊 0.25g");
        assert!(key.contains("amxljn"), "{key}");
        assert!(key.contains("amoxilin"), "{key}");
    }
}
