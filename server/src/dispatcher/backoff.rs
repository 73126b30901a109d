//! When to try again: exponential in the attempt number, capped, with ±20%
//! jitter so a provider outage does not end in a thundering herd.

/// Milliseconds to wait after failed attempt number `attempt` (1-based).
/// `unit` in [0, 1) supplies the jitter (random in production, fixed in tests).
pub fn delay_ms(attempt: i64, unit: f64) -> i64 {
    const BASE_MS: f64 = 5_000.0;
    const CAP_MS: f64 = 30.0 * 60_000.0;
    let exp = (attempt.clamp(1, 30) - 1) as i32;
    let raw = (BASE_MS * 2f64.powi(exp)).min(CAP_MS);
    let jitter = 0.8 + 0.4 * unit.clamp(0.0, 1.0);
    (raw * jitter).round() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_a_cap_with_bounded_jitter() {
        assert_eq!(delay_ms(1, 0.5), 5_000);
        assert_eq!(delay_ms(2, 0.5), 10_000);
        assert_eq!(delay_ms(3, 0.5), 20_000);
        assert_eq!(delay_ms(20, 0.5), 1_800_000);
        assert_eq!(delay_ms(1, 0.0), 4_000);
        assert_eq!(delay_ms(1, 0.999_999), 6_000);
        assert!(delay_ms(0, 0.5) > 0 && delay_ms(-3, 0.5) > 0);
    }
}
