//! RFC 3339 timestamps, as Go's `time.Time` marshals them in UTC.

use std::time::{SystemTime, UNIX_EPOCH};

/// Days since 1970-01-01 to the proleptic Gregorian `(year, month, day)`
/// (Howard Hinnant's `civil_from_days`).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
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

/// Formats `t` as `2006-01-02T15:04:05.000Z` (UTC, milliseconds).
pub fn format_rfc3339_millis(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60,
        d.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_known_instants() {
        let t = |ms: u64| UNIX_EPOCH + Duration::from_millis(ms);
        assert_eq!(format_rfc3339_millis(t(0)), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            format_rfc3339_millis(t(1_700_000_000_123)),
            "2023-11-14T22:13:20.123Z"
        );
        assert_eq!(
            format_rfc3339_millis(t(951_782_400_000)),
            "2000-02-29T00:00:00.000Z"
        );
    }
}
