//! Money is integer fen (分) everywhere; people write and read yuan (元) with two decimals.
//! Conversions here are exact: no floating point ever touches an amount.

/// Parses yuan with at most two decimals (`25`, `25.5`, `¥25.50`) into fen.
pub fn parse_yuan(raw: &str) -> Option<i64> {
    let raw = raw.trim().trim_start_matches('¥');
    let (whole, frac) = raw.split_once('.').unwrap_or((raw, ""));
    if whole.is_empty()
        || frac.len() > 2
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let yuan: i64 = whole.parse().ok()?;
    let fen: i64 = format!("{frac:0<2}").parse().ok()?;
    yuan.checked_mul(100)?.checked_add(fen)
}

/// `¥12.50` for 1250 fen.
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    format!("{sign}¥{}", digits(fen.unsigned_abs()))
}

/// Plain yuan with two decimals and no symbol (`-12.50`), for files finance opens.
pub fn decimal(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    format!("{sign}{}", digits(fen.unsigned_abs()))
}

fn digits(abs: u64) -> String {
    format!("{}.{:02}", abs / 100, abs % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_parse_exactly() {
        assert_eq!(parse_yuan("12"), Some(1200));
        assert_eq!(parse_yuan("12.5"), Some(1250));
        assert_eq!(parse_yuan("¥0.05"), Some(5));
        assert_eq!(parse_yuan("1.234"), None);
        assert_eq!(parse_yuan("-1"), None);
        assert_eq!(parse_yuan(".5"), None);
        assert_eq!(parse_yuan("abc"), None);
        assert_eq!(parse_yuan("99999999999999999999"), None);
    }

    #[test]
    fn fen_read_as_yuan() {
        assert_eq!(yuan(1250), "¥12.50");
        assert_eq!(yuan(5), "¥0.05");
        assert_eq!(yuan(-300), "-¥3.00");
    }
}
