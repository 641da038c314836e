//! From what a patient typed to text the matcher can read.
//!
//! Patients type on phones: full-width digits and letters, traditional characters (Hong Kong,
//! Macao, Taiwan, or a phone set to them), emoji, repeated punctuation, stray spaces. All of it
//! is folded here so the knowledge base needs each term once, in simplified characters.

/// Folds `raw` to simplified, half-width, lower-case text with one kind of clause separator
/// (`，`) and no emoji or other symbols. Keeps CJK characters, ASCII letters and digits, and
/// the few symbols numbers need (`.`, `/`, `℃`, `°`).
pub fn normalize(raw: &str) -> String {
    let mut folded = String::with_capacity(raw.len());
    for c in raw.chars() {
        let c = fold_width(c);
        if is_cjk(c) || c.is_ascii_alphanumeric() || matches!(c, '.' | '/' | '℃' | '°') {
            folded.push(c.to_ascii_lowercase());
        } else if is_separator(c) {
            // One separator, never two in a row, none at the start.
            if !folded.is_empty() && !folded.ends_with('，') {
                folded.push('，');
            }
        } else if c == '、' {
            // An enumeration comma keeps a negation's scope ("无发热、咳嗽"); see `extract`.
            folded.push('、');
        }
        // Everything else (emoji, symbols, control characters) is dropped.
    }
    while folded.ends_with('，') {
        folded.pop();
    }
    if folded.chars().any(|c| c as u32 >= 0x3400) {
        zhconv::zhconv(&folded, zhconv::Variant::ZhCN)
    } else {
        folded
    }
}

/// Full-width ASCII forms (U+FF01..U+FF5E) and the ideographic space to their ASCII twins.
fn fold_width(c: char) -> char {
    match c as u32 {
        0xFF01..=0xFF5E => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        0x3000 => ' ',
        _ => c,
    }
}

/// CJK unified ideographs (with extension A) and the compatibility block.
fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF)
}

/// Characters that end a clause: punctuation of both widths, whitespace and line breaks.
fn is_separator(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '，' | '。'
                | ','
                | '!'
                | '?'
                | ';'
                | ':'
                | '；'
                | '：'
                | '～'
                | '~'
                | '…'
                | '—'
                | '-'
                | '('
                | ')'
                | '（'
                | '）'
                | '【'
                | '】'
                | '「'
                | '」'
                | '《'
                | '》'
                | '"'
                | '\''
                | '“'
                | '”'
                | '‘'
                | '’'
        )
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn folds_width_case_punctuation_and_emoji() {
        assert_eq!(normalize("  发烧３９度！！😭😭咳嗽…"), "发烧39度，咳嗽");
        assert_eq!(normalize("HPV阳性"), "hpv阳性");
        assert_eq!(normalize("体温38.5℃"), "体温38.5℃");
        assert_eq!(normalize("发热、咳嗽"), "发热、咳嗽");
        assert_eq!(normalize("？？？ ！！"), "");
    }

    #[test]
    fn traditional_becomes_simplified() {
        assert_eq!(normalize("頭痛發燒，喉嚨痛"), "头痛发烧，喉咙痛");
        assert_eq!(normalize("肚子疼、拉肚子兩天"), "肚子疼、拉肚子两天");
    }
}
