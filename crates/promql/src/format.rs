//! Number formatting as Go's `strconv.FormatFloat` does it.

/// Go's `%g` / `strconv.FormatFloat(v, 'g', -1, 64)`: shortest repr, exponent
/// form when the exponent is < -4 or >= 21.
pub(crate) fn format_go_g(v: f64) -> String {
    if v.is_nan() {
        return "NaN".to_string();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    let exp = v.abs().log10().floor() as i32;
    if !(-4..21).contains(&exp) {
        // Rust's {:e} gives the shortest mantissa, e.g. 1e-5 or 1.5e21.
        let s = format!("{v:e}");
        match s.split_once('e') {
            Some((m, e)) => {
                let (sign, digits) = match e.strip_prefix('-') {
                    Some(d) => ('-', d),
                    None => ('+', e),
                };
                let digits = if digits.len() < 2 {
                    format!("0{digits}")
                } else {
                    digits.to_string()
                };
                format!("{m}e{sign}{digits}")
            }
            None => s,
        }
    } else {
        format!("{v}")
    }
}

/// Go's `strconv.FormatFloat(v, 'f', -1, 64)`, used by `count_values`:
/// the shortest decimal that round-trips, never in exponent form.
pub(crate) fn format_prom_value(v: f64) -> String {
    if v.is_nan() {
        return "NaN".to_string();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    format!("{v}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_go_percent_g() {
        assert_eq!(format_go_g(1.1), "1.1");
        assert_eq!(format_go_g(-1.0), "-1");
        assert_eq!(format_go_g(f64::NAN), "NaN");
        assert_eq!(format_go_g(1e21), "1e+21");
        assert_eq!(format_go_g(1e-5), "1e-05");
        assert_eq!(format_go_g(0.0001), "0.0001");
        assert_eq!(format_go_g(f64::INFINITY), "+Inf");
        assert_eq!(format_prom_value(1e21), "1000000000000000000000");
        assert_eq!(format_prom_value(0.5), "0.5");
    }
}
