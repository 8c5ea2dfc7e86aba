//! OTLP metric and attribute names to Prometheus names, as Prometheus'
//! `otlptranslator` package (`MetricNamer`, `LabelNamer`) does it for each
//! `otlp.translation_strategy`.

use crate::state::{OtlpOptions, OtlpTranslationStrategy};

/// The Prometheus type a metric is named for (`otlptranslator.MetricType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NameType {
    Gauge,
    MonotonicCounter,
    NonMonotonicCounter,
    Histogram,
    Summary,
}

/// OTel (UCUM) units and their Prometheus suffixes (`unitMap`).
const UNITS: &[(&str, &str)] = &[
    ("d", "days"),
    ("h", "hours"),
    ("min", "minutes"),
    ("s", "seconds"),
    ("ms", "milliseconds"),
    ("us", "microseconds"),
    ("ns", "nanoseconds"),
    ("By", "bytes"),
    ("KiBy", "kibibytes"),
    ("MiBy", "mebibytes"),
    ("GiBy", "gibibytes"),
    ("TiBy", "tibibytes"),
    ("KBy", "kilobytes"),
    ("MBy", "megabytes"),
    ("GBy", "gigabytes"),
    ("TBy", "terabytes"),
    ("m", "meters"),
    ("V", "volts"),
    ("A", "amperes"),
    ("J", "joules"),
    ("W", "watts"),
    ("g", "grams"),
    ("Cel", "celsius"),
    ("Hz", "hertz"),
    ("1", ""),
    ("%", "percent"),
];

/// The units after a `/` and their singular names (`perUnitMap`).
const PER_UNITS: &[(&str, &str)] = &[
    ("s", "second"),
    ("m", "minute"),
    ("h", "hour"),
    ("d", "day"),
    ("w", "week"),
    ("mo", "month"),
    ("y", "year"),
];

fn lookup<'a>(table: &[(&str, &'a str)], unit: &'a str) -> &'a str {
    table
        .iter()
        .find(|(k, _)| *k == unit)
        .map_or(unit, |(_, v)| *v)
}

/// The main and `per_` suffixes of a unit (`buildUnitSuffixes`). A part
/// with a `{...}` annotation gives no suffix.
fn unit_suffixes(unit: &str) -> (String, String) {
    let mut parts = unit.splitn(2, '/');
    let main = parts.next().unwrap_or("").trim();
    let main_suffix = if main.is_empty() || main.contains(['{', '}']) {
        String::new()
    } else {
        lookup(UNITS, main).to_string()
    };
    let per_suffix = match parts.next().map(str::trim) {
        Some(per) if !per.is_empty() && !per.contains(['{', '}']) => {
            format!("per_{}", lookup(PER_UNITS, per))
        }
        _ => String::new(),
    };
    (main_suffix, per_suffix)
}

/// `[a-zA-Z0-9:]`: the metric name characters other than `_`.
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == ':'
}

/// Invalid characters to `_`, runs of `_` to one, no leading or trailing
/// `_` (`cleanUpUnit`).
fn clean_up_unit(unit: &str) -> String {
    let mut out = String::with_capacity(unit.len());
    for c in unit.chars() {
        let c = if is_name_char(c) { c } else { '_' };
        if !(c == '_' && out.ends_with('_')) {
            out.push(c);
        }
    }
    out.trim_matches('_').to_string()
}

/// The Prometheus metric name of an OTLP metric, or why there is none.
pub(crate) fn metric_name(
    opts: &OtlpOptions,
    name: &str,
    unit: &str,
    typ: NameType,
) -> Result<String, String> {
    let s = opts.translation_strategy;
    let out = if !s.escapes() {
        if s.adds_suffixes() {
            utf8_name_with_suffixes(name, unit, typ)
        } else {
            name.to_string()
        }
    } else if s.adds_suffixes() {
        normalize_name(name, unit, typ)
    } else {
        // Runs of invalid characters (not `_`) become one `_`.
        let joined = name
            .split(|c: char| !is_name_char(c) && c != '_')
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
            .join("_");
        digit_prefixed(joined)
    };
    if out.is_empty() {
        return Err(format!(
            "normalization for metric {name:?} resulted in empty name"
        ));
    }
    if s.escapes() && out != name && out.chars().all(|c| c == '_') {
        return Err(format!(
            "normalization for metric {name:?} resulted in invalid name {out:?}"
        ));
    }
    Ok(out)
}

fn digit_prefixed(name: String) -> String {
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{name}")
    } else {
        name
    }
}

/// Full normalization with suffixes (`normalizeName`).
fn normalize_name(name: &str, unit: &str, typ: NameType) -> String {
    // `_` separates tokens too, so runs of underscores collapse.
    let mut tokens: Vec<String> = name
        .split(|c: char| !is_name_char(c))
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect();
    let (main, per) = unit_suffixes(unit);
    let mut main = clean_up_unit(&main);
    let mut per = clean_up_unit(&per);
    if tokens.contains(&main) {
        main.clear();
    }
    if per == "per" || tokens.contains(&per) {
        per.clear();
    }
    if !main.is_empty() {
        tokens.push(main);
    }
    if !per.is_empty() {
        tokens.push(per);
    }
    if typ == NameType::MonotonicCounter {
        tokens.retain(|t| t != "total");
        tokens.push("total".into());
    }
    if unit == "1" && typ == NameType::Gauge {
        tokens.retain(|t| t != "ratio");
        tokens.push("ratio".into());
    }
    digit_prefixed(tokens.join("_"))
}

/// Strips `_suffix` (any one delimiter character) when the name is longer.
fn trim_suffix_and_delimiter<'a>(name: &'a str, suffix: &str) -> &'a str {
    if name.ends_with(suffix) && name.len() > suffix.len() + 1 {
        let end = name.len() - suffix.len() - 1;
        if name.is_char_boundary(end) {
            return &name[..end];
        }
    }
    name
}

/// Suffixes without escaping (`buildMetricName`, NoUTF8EscapingWithSuffixes).
fn utf8_name_with_suffixes(name: &str, unit: &str, typ: NameType) -> String {
    let ratio = unit == "1" && typ == NameType::Gauge;
    let total = typ == NameType::MonotonicCounter;
    let mut n = name;
    if ratio {
        n = trim_suffix_and_delimiter(n, "ratio");
    }
    if total {
        n = trim_suffix_and_delimiter(n, "total");
    }
    let (main, per) = unit_suffixes(unit);
    if !per.is_empty() {
        n = trim_suffix_and_delimiter(n, &per);
    }
    let mut out = n.to_string();
    if !main.is_empty() && !out.ends_with(&main) {
        out = format!("{out}_{main}");
    }
    if !per.is_empty() {
        out = format!("{out}_{per}");
    }
    if total {
        out.push_str("_total");
    }
    if ratio {
        out.push_str("_ratio");
    }
    out
}

/// The Prometheus label name of an attribute (`LabelNamer.Build`), or why
/// there is none.
pub(crate) fn label_name(opts: &OtlpOptions, key: &str) -> Result<String, String> {
    if key.is_empty() {
        return Err(format!(
            "normalization for label name {key:?} resulted in empty name"
        ));
    }
    if !opts.translation_strategy.escapes() {
        return Ok(key.to_string());
    }
    let mut out = String::with_capacity(key.len() + 4);
    for c in key.chars() {
        let c = if c.is_ascii_alphanumeric() || c == '_' {
            c
        } else {
            '_'
        };
        if c == '_' && !opts.label_name_preserve_multiple_underscores && out.ends_with('_') {
            continue;
        }
        out.push(c);
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out = format!("key_{out}");
    } else if opts.label_name_underscore_sanitization
        && out.starts_with('_')
        && !out.starts_with("__")
    {
        out = format!("key{out}");
    }
    if out != key && out.chars().all(|c| c == '_') {
        return Err(format!(
            "normalization for label name {key:?} resulted in invalid name {out:?}"
        ));
    }
    Ok(out)
}

impl OtlpTranslationStrategy {
    /// Whether names are escaped to Prometheus' legacy character set.
    fn escapes(self) -> bool {
        matches!(
            self,
            OtlpTranslationStrategy::UnderscoreEscapingWithSuffixes
                | OtlpTranslationStrategy::UnderscoreEscapingWithoutSuffixes
        )
    }

    /// Whether unit and type suffixes are added.
    fn adds_suffixes(self) -> bool {
        matches!(
            self,
            OtlpTranslationStrategy::UnderscoreEscapingWithSuffixes
                | OtlpTranslationStrategy::NoUtf8EscapingWithSuffixes
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(s: OtlpTranslationStrategy) -> OtlpOptions {
        OtlpOptions {
            translation_strategy: s,
            ..OtlpOptions::default()
        }
    }

    fn name(n: &str, unit: &str, t: NameType) -> String {
        metric_name(&OtlpOptions::default(), n, unit, t).unwrap()
    }

    /// Cases from the OpenTelemetry-to-Prometheus compatibility rules
    /// (units, `_total`, `_ratio`, escaping).
    #[test]
    fn default_strategy_escapes_and_adds_suffixes() {
        use NameType::*;
        assert_eq!(
            name("http.server.duration", "s", Histogram),
            "http_server_duration_seconds"
        );
        assert_eq!(name("memory.usage", "By", Gauge), "memory_usage_bytes");
        assert_eq!(
            name("requests.count", "1", MonotonicCounter),
            "requests_count_total"
        );
        assert_eq!(name("cpu.utilization", "1", Gauge), "cpu_utilization_ratio");
        // `_ratio` only for gauges.
        assert_eq!(name("queue.fill", "1", NonMonotonicCounter), "queue_fill");
        // Annotations give no suffix.
        assert_eq!(
            name("requests", "{request}", MonotonicCounter),
            "requests_total"
        );
        assert_eq!(
            name("throughput", "By/s", Gauge),
            "throughput_bytes_per_second"
        );
        assert_eq!(name("rate", "{packet}/s", Gauge), "rate_per_second");
        // `total` moves to the end; a unit already in the name is not repeated.
        assert_eq!(
            name("total.time", "s", MonotonicCounter),
            "time_seconds_total"
        );
        assert_eq!(name("latency_seconds", "s", Histogram), "latency_seconds");
        // Runs of separators collapse; a leading digit gets `_`.
        assert_eq!(name("a..b__c", "", Gauge), "a_b_c");
        assert_eq!(name("2xx.count", "", Gauge), "_2xx_count");
        // Unknown units are kept, cleaned up.
        assert_eq!(name("x", "widget-s", Gauge), "x_widget_s");
        assert!(metric_name(&OtlpOptions::default(), "...", "", NameType::Gauge).is_err());
    }

    #[test]
    fn other_strategies() {
        use OtlpTranslationStrategy::*;
        let n = |s, name: &str, unit: &str, t| metric_name(&opts(s), name, unit, t).unwrap();
        assert_eq!(
            n(
                UnderscoreEscapingWithoutSuffixes,
                "http.server..duration",
                "s",
                NameType::Histogram
            ),
            "http_server_duration"
        );
        assert_eq!(
            n(
                UnderscoreEscapingWithoutSuffixes,
                "a__b",
                "",
                NameType::MonotonicCounter
            ),
            "a__b"
        );
        assert_eq!(
            n(
                NoUtf8EscapingWithSuffixes,
                "http.server.duration",
                "s",
                NameType::MonotonicCounter
            ),
            "http.server.duration_seconds_total"
        );
        assert_eq!(
            n(
                NoTranslation,
                "http.server.duration",
                "s",
                NameType::MonotonicCounter
            ),
            "http.server.duration"
        );
    }

    #[test]
    fn label_names_are_sanitized() {
        let o = OtlpOptions::default();
        assert_eq!(label_name(&o, "http.method").unwrap(), "http_method");
        assert_eq!(label_name(&o, "123invalid").unwrap(), "key_123invalid");
        assert_eq!(label_name(&o, "_private").unwrap(), "key_private");
        assert_eq!(label_name(&o, "__reserved__").unwrap(), "__reserved__");
        assert_eq!(label_name(&o, "a..b").unwrap(), "a__b");
        assert!(label_name(&o, "").is_err());
        assert!(label_name(&o, "..").is_err());
        let collapse = OtlpOptions {
            label_name_preserve_multiple_underscores: false,
            label_name_underscore_sanitization: false,
            ..OtlpOptions::default()
        };
        assert_eq!(label_name(&collapse, "a..b").unwrap(), "a_b");
        assert_eq!(label_name(&collapse, "_private").unwrap(), "_private");
        let utf8 = opts(OtlpTranslationStrategy::NoTranslation);
        assert_eq!(label_name(&utf8, "http.method").unwrap(), "http.method");
    }
}
