//! Numbers as people read them.

/// 1234567 → `1.234.567` with `separator` "." (Indonesian), `1,234,567` with ",".
pub fn group_thousands(n: i64, separator: &str) -> String {
    let s = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push_str(separator);
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(group_thousands(0, "."), "0");
        assert_eq!(group_thousands(999, "."), "999");
        assert_eq!(group_thousands(1_234_567, "."), "1.234.567");
        assert_eq!(group_thousands(-31_500, ","), "-31,500");
        assert_eq!(group_thousands(i64::MIN, "."), "-9.223.372.036.854.775.808");
    }
}
