//! Timestamps are milliseconds since the Unix epoch, UTC, in both databases.

/// Milliseconds since the Unix epoch.
pub type Millis = i64;

#[cfg(feature = "ssr")]
pub fn now_ms() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// `2026-11-25 14:03` in Western Indonesia Time (UTC+7, no daylight saving),
/// the operator's own zone; good enough for lists without a tz database in WASM.
pub fn format_wib(ms: Millis) -> String {
    const WIB_OFFSET_MS: i64 = 7 * 3_600_000;
    let local = ms + WIB_OFFSET_MS;
    let days = local.div_euclid(86_400_000);
    let rem = local.rem_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}",
        rem / 3_600_000,
        (rem / 60_000) % 60
    )
}

/// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_in_western_indonesia_time() {
        assert_eq!(format_wib(0), "1970-01-01 07:00");
        // 2026-11-25T17:30:00Z is 26 November 00:30 in Jakarta.
        assert_eq!(format_wib(1_795_627_800_000), "2026-11-26 00:30");
        assert_eq!(format_wib(951_782_400_000), "2000-02-29 07:00");
    }
}
