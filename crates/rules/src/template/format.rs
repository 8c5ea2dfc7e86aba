//! Go's number, string and time formatting, as `fmt` and `strconv` print
//! them, for template output and `printf`.

use super::exec::Value;

/// Decimal digits and exponent of `v` (non-zero, finite): `v = 0.d1d2... * 10^(exp+1)`.
/// With `prec`, rounds to that many significant digits; without, shortest.
fn digits(v: f64, prec: Option<usize>) -> (String, i32) {
    let s = match prec {
        Some(p) => format!("{:.*e}", p.saturating_sub(1), v.abs()),
        None => format!("{:e}", v.abs()),
    };
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    (mant.replace('.', ""), exp)
}

fn special(v: f64) -> Option<String> {
    if v.is_nan() {
        Some("NaN".into())
    } else if v.is_infinite() {
        Some(if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        })
    } else {
        None
    }
}

fn exp_form(sign: &str, d: &str, exp: i32) -> String {
    let (first, rest) = d.split_at(1);
    let mut s = format!("{sign}{first}");
    if !rest.is_empty() {
        s.push('.');
        s.push_str(rest);
    }
    let es = if exp < 0 { '-' } else { '+' };
    s.push_str(&format!("e{es}{:02}", exp.abs()));
    s
}

fn fixed_form(sign: &str, d: &str, exp: i32) -> String {
    let mut s = String::from(sign);
    if exp < 0 {
        s.push_str("0.");
        for _ in 0..(-exp - 1) {
            s.push('0');
        }
        s.push_str(d);
    } else {
        let ip = (exp + 1) as usize;
        if d.len() <= ip {
            s.push_str(d);
            for _ in d.len()..ip {
                s.push('0');
            }
        } else {
            s.push_str(&d[..ip]);
            s.push('.');
            s.push_str(&d[ip..]);
        }
    }
    s
}

/// `%g` / `%.Ng` (`strconv.FormatFloat(v, 'g', prec, 64)`).
pub(crate) fn go_g(v: f64, prec: Option<usize>) -> String {
    if let Some(s) = special(v) {
        return s;
    }
    let sign = if v.is_sign_negative() { "-" } else { "" };
    if v == 0.0 {
        return format!("{sign}0");
    }
    let prec = prec.map(|p| p.max(1));
    let (d, exp) = digits(v, prec);
    let d = d.trim_end_matches('0');
    let d = if d.is_empty() { "0" } else { d };
    let eprec = match prec {
        None => 6,
        Some(p) => p as i32,
    };
    if exp < -4 || exp >= eprec {
        exp_form(sign, d, exp)
    } else {
        fixed_form(sign, d, exp)
    }
}

/// Go's `%v` of a float64 (`strconv.FormatFloat(v, 'g', -1, 64)`: the
/// shortest digits, in exponent form from 1e6 on and below 1e-4).
pub(crate) fn go_float(v: f64) -> String {
    if let Some(s) = special(v) {
        return s;
    }
    if v == 0.0 {
        return if v.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let sign = if v < 0.0 { "-" } else { "" };
    let (d, exp) = digits(v, None);
    let d = d.trim_end_matches('0');
    let d = if d.is_empty() { "0" } else { d };
    if !(-4..6).contains(&exp) {
        exp_form(sign, d, exp)
    } else {
        fixed_form(sign, d, exp)
    }
}

/// `%e` / `%.Ne`.
pub(crate) fn go_e(v: f64, prec: usize) -> String {
    if let Some(s) = special(v) {
        return s;
    }
    let sign = if v.is_sign_negative() { "-" } else { "" };
    let s = format!("{:.*e}", prec, v.abs());
    let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
    let e: i32 = e.parse().unwrap_or(0);
    format!("{sign}{m}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs())
}

/// `%f` / `%.Nf`.
pub(crate) fn go_f(v: f64, prec: usize) -> String {
    if let Some(s) = special(v) {
        return s;
    }
    format!("{v:.prec$}")
}

/// Go's `strconv.Quote`.
pub(crate) fn go_quote(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\t' => o.push_str("\\t"),
            '\r' => o.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                o.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// Go's `url.QueryEscape`.
pub(crate) fn query_escape(s: &str) -> String {
    let mut o = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                o.push(b as char)
            }
            b' ' => o.push('+'),
            _ => o.push_str(&format!("%{b:02X}")),
        }
    }
    o
}

/// Go's `time.Time.String()` of a UTC time given in nanoseconds.
pub(crate) fn go_time(ns: i128) -> String {
    let secs = ns.div_euclid(1_000_000_000) as i64;
    let frac = ns.rem_euclid(1_000_000_000) as u32;
    let (y, mo, d) = promlite_model::civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    let mut s = format!(
        "{y:04}-{mo:02}-{d:02} {:02}:{:02}:{:02}",
        sod / 3600,
        (sod / 60) % 60,
        sod % 60
    );
    if frac > 0 {
        let f = format!("{frac:09}");
        s.push('.');
        s.push_str(f.trim_end_matches('0'));
    }
    s.push_str(" +0000 UTC");
    s
}

/// A subset of Go's `fmt.Sprintf`: flags `-+ 0#`, width, precision and the
/// verbs `v s d f F e g q x X t %`.
pub(crate) fn sprintf(fmt: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut it = fmt.chars().peekable();
    let mut ai = 0;
    while let Some(c) = it.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut flags = String::new();
        while let Some(&f) = it.peek() {
            if "-+ 0#".contains(f) {
                flags.push(f);
                it.next();
            } else {
                break;
            }
        }
        let mut width = String::new();
        while let Some(&d) = it.peek().filter(|d| d.is_ascii_digit()) {
            width.push(d);
            it.next();
        }
        let mut prec: Option<usize> = None;
        if it.peek() == Some(&'.') {
            it.next();
            let mut p = String::new();
            while let Some(&d) = it.peek().filter(|d| d.is_ascii_digit()) {
                p.push(d);
                it.next();
            }
            prec = Some(p.parse().unwrap_or(0));
        }
        let Some(verb) = it.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(ai) else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        ai += 1;
        let s = format_one(verb, prec, &flags, arg);
        let w: usize = width.parse().unwrap_or(0);
        let n = s.chars().count();
        if n < w {
            let pad = w - n;
            if flags.contains('-') {
                out.push_str(&s);
                out.push_str(&" ".repeat(pad));
            } else if flags.contains('0') && !matches!(arg, Value::Str(_)) {
                let (sign, digits) = match s.strip_prefix('-') {
                    Some(r) => ("-", r.to_string()),
                    None => ("", s.clone()),
                };
                out.push_str(sign);
                out.push_str(&"0".repeat(pad));
                out.push_str(&digits);
            } else {
                out.push_str(&" ".repeat(pad));
                out.push_str(&s);
            }
        } else {
            out.push_str(&s);
        }
    }
    if ai < args.len() {
        let extra: Vec<String> = args[ai..]
            .iter()
            .map(|a| format!("{}={}", a.type_name(), a.go_string()))
            .collect();
        out.push_str(&format!("%!(EXTRA {})", extra.join(", ")));
    }
    out
}

fn plus(flags: &str, s: String) -> String {
    if flags.contains('+') && !s.starts_with('-') && !s.starts_with('+') {
        format!("+{s}")
    } else {
        s
    }
}

fn format_one(verb: char, prec: Option<usize>, flags: &str, arg: &Value) -> String {
    let bad = || format!("%!{verb}({}={})", arg.type_name(), arg.go_string());
    match (verb, arg) {
        ('v', _) => arg.go_string(),
        ('s', Value::Str(s)) => match prec {
            Some(p) => s.chars().take(p).collect(),
            None => s.clone(),
        },
        ('s', Value::Float(_) | Value::Int(_) | Value::Bool(_)) => bad(),
        ('s', _) => arg.go_string(),
        ('q', Value::Str(s)) => go_quote(s),
        ('t', Value::Bool(b)) => b.to_string(),
        ('d', Value::Int(i)) => plus(flags, i.to_string()),
        ('x', Value::Int(i)) => format!("{i:x}"),
        ('X', Value::Int(i)) => format!("{i:X}"),
        ('x', Value::Str(s)) => s.bytes().map(|b| format!("{b:02x}")).collect(),
        ('f' | 'F', Value::Float(v)) => plus(flags, go_f(*v, prec.unwrap_or(6))),
        ('e', Value::Float(v)) => plus(flags, go_e(*v, prec.unwrap_or(6))),
        ('g', Value::Float(v)) => plus(flags, go_g(*v, prec)),
        _ => bad(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_like_go() {
        assert_eq!(go_float(1.0), "1");
        assert_eq!(go_float(0.5), "0.5");
        assert_eq!(go_float(1234567.0), "1.234567e+06");
        assert_eq!(go_float(100000.0), "100000");
        assert_eq!(go_float(1e21), "1e+21");
        assert_eq!(go_float(0.00001), "1e-05");
        assert_eq!(go_float(f64::NAN), "NaN");
        assert_eq!(go_float(f64::INFINITY), "+Inf");
        assert_eq!(go_float(-2.5), "-2.5");
    }

    #[test]
    fn g_with_precision() {
        assert_eq!(go_g(1.234567, Some(4)), "1.235");
        assert_eq!(go_g(12345.0, Some(4)), "1.234e+04");
        assert_eq!(go_g(1000.0, Some(4)), "1000");
        assert_eq!(go_g(0.0, Some(4)), "0");
        assert_eq!(go_g(0.0001234, Some(4)), "0.0001234");
        assert_eq!(go_g(0.00001234, Some(4)), "1.234e-05");
    }

    #[test]
    fn sprintf_verbs() {
        let a = [Value::Float(1.23456), Value::Str("x".into()), Value::Int(7)];
        assert_eq!(sprintf("%.2f %s %d", &a), "1.23 x 7");
        assert_eq!(
            sprintf("%5d|%-3s|", &[Value::Int(42), Value::Str("a".into())]),
            "   42|a  |"
        );
        assert_eq!(sprintf("%d", &[Value::Float(1.5)]), "%!d(float64=1.5)");
        assert_eq!(sprintf("%d%%", &[Value::Int(5)]), "5%");
        assert_eq!(sprintf("%q", &[Value::Str("a\"b".into())]), "\"a\\\"b\"");
    }

    #[test]
    fn times_print_like_go() {
        assert_eq!(go_time(0), "1970-01-01 00:00:00 +0000 UTC");
        assert_eq!(
            go_time(1_600_000_000_500_000_000),
            "2020-09-13 12:26:40.5 +0000 UTC"
        );
    }

    #[test]
    fn query_escape_like_go() {
        assert_eq!(query_escape("up == 0"), "up+%3D%3D+0");
    }
}
