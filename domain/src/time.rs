//! Timestamps are milliseconds since the Unix epoch, UTC, in both databases.

/// Milliseconds since the Unix epoch.
pub type Millis = i64;

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

/// Why a date field was refused by [`parse_wib_date`], in the page's language.
pub fn invalid_date_message() -> crate::Words {
    crate::Words::new(
        "tanggal tidak valid (YYYY-MM-DD)",
        "not a valid date (YYYY-MM-DD)",
    )
}

/// Why a date range was refused.
pub fn end_before_start_message() -> crate::Words {
    crate::Words::new(
        "tanggal akhir sebelum tanggal awal",
        "the end date is before the start date",
    )
}

/// `2026-11-25` → the instant that day starts in WIB, or `None` if it is not
/// a real date.
pub fn parse_wib_date(s: &str) -> Option<Millis> {
    let mut it = s.trim().splitn(3, '-');
    let (y, m, d) = (it.next()?, it.next()?, it.next()?);
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (y, m, d): (i64, u32, u32) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    let days = days_from_civil(y, m, d)?;
    Some(days * 86_400_000 - 7 * 3_600_000)
}

/// `2026-11-25` for an instant, in WIB.
pub fn wib_date(ms: Millis) -> String {
    format_wib(ms)[..10].to_owned()
}

/// Inverse of [`civil_from_days`], refusing dates that do not exist.
fn days_from_civil(y: i64, m: u32, d: u32) -> Option<i64> {
    if !(1..=12).contains(&m) || d == 0 {
        return None;
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if d > month_days[m as usize - 1] {
        return None;
    }
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 } as i64;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
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

    #[test]
    fn wib_dates_parse_to_the_start_of_the_day_and_round_trip() {
        assert_eq!(parse_wib_date("1970-01-01"), Some(-7 * 3_600_000));
        let ms = parse_wib_date("2026-11-26").unwrap();
        assert_eq!(format_wib(ms), "2026-11-26 00:00");
        assert_eq!(wib_date(ms + 86_399_999), "2026-11-26");
        assert_eq!(
            format_wib(parse_wib_date("2000-02-29").unwrap()),
            "2000-02-29 00:00"
        );
        for bad in [
            "2026-02-29",
            "2026-13-01",
            "2026-00-10",
            "2026-1-1",
            "x",
            "2026-11-31",
        ] {
            assert_eq!(parse_wib_date(bad), None, "{bad}");
        }
    }
}
