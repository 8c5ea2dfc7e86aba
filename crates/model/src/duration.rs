//! Prometheus duration and byte-size strings (`model.ParseDuration`,
//! `units.Base2Bytes`).

use crate::{Error, Result};

const UNITS: [(&str, i64); 7] = [
    ("y", 365 * 24 * 3600 * 1000),
    ("w", 7 * 24 * 3600 * 1000),
    ("d", 24 * 3600 * 1000),
    ("h", 3600 * 1000),
    ("m", 60 * 1000),
    ("s", 1000),
    ("ms", 1),
];

/// Parses a Prometheus duration (`1h30m`, `15d`, `500ms`, `0`) into
/// milliseconds. Units must appear largest first, each at most once, with
/// integer amounts.
pub fn parse_duration(s: &str) -> Result<i64> {
    let bad = || Error::InvalidDuration(s.to_string());
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(bad());
    }
    let b = s.as_bytes();
    let mut i = 0;
    let mut total: i64 = 0;
    let mut last_unit = usize::MAX;
    while i < b.len() {
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if start == i {
            return Err(bad());
        }
        let n: i64 = s[start..i].parse().map_err(|_| bad())?;
        let ustart = i;
        while i < b.len() && b[i].is_ascii_alphabetic() {
            i += 1;
        }
        let unit = &s[ustart..i];
        let idx = UNITS.iter().position(|(u, _)| *u == unit).ok_or_else(bad)?;
        if last_unit != usize::MAX && idx <= last_unit {
            return Err(bad());
        }
        last_unit = idx;
        total = n
            .checked_mul(UNITS[idx].1)
            .and_then(|x| total.checked_add(x))
            .ok_or_else(bad)?;
    }
    Ok(total)
}

/// Formats milliseconds the way Prometheus prints durations (`1h30m`, `0s`).
pub fn format_duration(ms: i64) -> String {
    if ms == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    let mut rest = ms;
    if rest < 0 {
        out.push('-');
        rest = -rest;
    }
    for (u, f) in UNITS {
        if rest >= f {
            out.push_str(&format!("{}{}", rest / f, u));
            rest %= f;
        }
    }
    out
}

/// Parses a byte size as Prometheus' flags do (`512MB`, `1GiB`, `100`):
/// powers of 1024 whichever spelling is used.
pub fn parse_bytes(s: &str) -> Result<u64> {
    let bad = || Error::InvalidBytes(s.to_string());
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().map_err(|_| bad())?;
    let shift = match unit {
        "" | "B" => 0,
        "KB" | "KiB" => 10,
        "MB" | "MiB" => 20,
        "GB" | "GiB" => 30,
        "TB" | "TiB" => 40,
        "PB" | "PiB" => 50,
        "EB" | "EiB" => 60,
        _ => return Err(bad()),
    };
    n.checked_mul(1u64 << shift).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_like_prometheus() {
        assert_eq!(parse_duration("0").unwrap(), 0);
        assert_eq!(parse_duration("15d").unwrap(), 15 * 86_400_000);
        assert_eq!(parse_duration("1h30m").unwrap(), 5_400_000);
        assert_eq!(parse_duration("20s500ms").unwrap(), 20_500);
        assert_eq!(parse_duration("1y").unwrap(), 365 * 86_400_000);
        for bad in ["", "1", "1.5h", "30m1h", "1hh", "-1h", "1x", "h"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations_format_like_prometheus() {
        assert_eq!(format_duration(0), "0s");
        assert_eq!(format_duration(5_400_000), "1h30m");
        assert_eq!(format_duration(15 * 86_400_000), "2w1d");
        assert_eq!(format_duration(1500), "1s500ms");
    }

    #[test]
    fn byte_sizes_are_base_2() {
        assert_eq!(parse_bytes("512MB").unwrap(), 512 << 20);
        assert_eq!(parse_bytes("1GiB").unwrap(), 1 << 30);
        assert_eq!(parse_bytes("100").unwrap(), 100);
        assert!(parse_bytes("1.5GB").is_err());
        assert!(parse_bytes("10XB").is_err());
    }
}
