//! Element-wise float functions (`abs`, `ln`, trigonometry, ...) and the
//! calendar functions (`hour`, `day_of_week`, ...).

/// The element-wise function called `name`, if it is one.
pub(crate) fn simple(name: &str) -> Option<fn(f64) -> f64> {
    Some(match name {
        "abs" => f64::abs,
        "ceil" => f64::ceil,
        "floor" => f64::floor,
        "exp" => f64::exp,
        "ln" => f64::ln,
        "log2" => f64::log2,
        "log10" => f64::log10,
        "sqrt" => f64::sqrt,
        "sgn" => sgn,
        "acos" => f64::acos,
        "acosh" => f64::acosh,
        "asin" => f64::asin,
        "asinh" => f64::asinh,
        "atan" => f64::atan,
        "atanh" => f64::atanh,
        "cos" => f64::cos,
        "cosh" => f64::cosh,
        "sin" => f64::sin,
        "sinh" => f64::sinh,
        "tan" => f64::tan,
        "tanh" => f64::tanh,
        "deg" => f64::to_degrees,
        "rad" => f64::to_radians,
        _ => return None,
    })
}

fn sgn(v: f64) -> f64 {
    if v > 0.0 {
        1.0
    } else if v < 0.0 {
        -1.0
    } else {
        v
    }
}

/// `round(v, to_nearest)` as Prometheus computes it.
pub(crate) fn round_to(v: f64, to_nearest: f64) -> f64 {
    let inv = 1.0 / to_nearest;
    (v * inv + 0.5).floor() / inv
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

/// The calendar function called `name` applied to Unix seconds `v` (UTC).
pub(crate) fn calendar(name: &str, v: f64) -> Option<f64> {
    if v.is_nan() || v.is_infinite() {
        return Some(f64::NAN);
    }
    // Go's time.Unix(int64(v), 0): the conversion truncates towards zero,
    // so -0.5 is 1970-01-01T00:00:00 and -1.5 is one second before.
    let secs = v.trunc() as i64;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = promlite_model::civil_from_days(days);
    let days_in_month = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ => {
            if is_leap(y) {
                29
            } else {
                28
            }
        }
    };
    let cum = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
    let mut doy = cum[(m - 1) as usize] + d as i64;
    if m > 2 && is_leap(y) {
        doy += 1;
    }
    Some(match name {
        "minute" => ((sod / 60) % 60) as f64,
        "hour" => (sod / 3600) as f64,
        "day_of_month" => d as f64,
        "day_of_week" => (days + 4).rem_euclid(7) as f64,
        "day_of_year" => doy as f64,
        "days_in_month" => days_in_month as f64,
        "month" => m as f64,
        "year" => y as f64,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_truncates_fractional_seconds_towards_zero_as_go() {
        assert_eq!(calendar("year", -0.5), Some(1970.0));
        assert_eq!(calendar("hour", -0.5), Some(0.0));
        assert_eq!(calendar("day_of_month", -0.999), Some(1.0));
        assert_eq!(calendar("year", -1.5), Some(1969.0));
        assert_eq!(calendar("minute", -1.5), Some(59.0));
        assert_eq!(calendar("day_of_week", 0.9), Some(4.0));
        assert_eq!(calendar("month", 5_000_000.7), Some(2.0));
    }
}
