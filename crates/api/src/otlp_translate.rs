//! OTLP metrics to Prometheus samples, as Prometheus' OTLP receiver does
//! it (`storage/remote/otlptranslator/prometheusremotewrite`): gauges and
//! sums become float series, explicit-bucket histograms classic
//! `_bucket`/`_count`/`_sum` series, summaries `quantile` series plus
//! `_sum`/`_count`, and each resource with descriptive attributes a
//! `target_info` series.

use std::collections::BTreeMap;

use promlite_model::{Labels, METRIC_NAME, STALE_NAN};
use promlite_prompb::otlp::{
    any_value, AggregationTemporality, AnyValue, ExportMetricsServiceRequest, KeyValue, Metric,
    MetricData, NumberValue, FLAG_NO_RECORDED_VALUE,
};

use crate::otlp_names::{label_name, metric_name, NameType};
use crate::state::OtlpOptions;

const SERVICE_NAME: &str = "service.name";
const SERVICE_NAMESPACE: &str = "service.namespace";
const SERVICE_INSTANCE_ID: &str = "service.instance.id";

/// At most this many `target_info` samples per resource and request,
/// against requests whose points span a long time.
const MAX_TARGET_INFO_SAMPLES: i64 = 1000;

/// One sample to append.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OtlpSample {
    pub(crate) labels: Labels,
    /// Start timestamp (ms; 0 when unknown or not applicable).
    pub(crate) st: i64,
    pub(crate) t: i64,
    pub(crate) v: f64,
}

/// What a request translates to.
#[derive(Debug, Default)]
pub(crate) struct Translation {
    pub(crate) samples: Vec<OtlpSample>,
    /// Data points dropped (unsupported type or temporality, bad names).
    pub(crate) rejected_points: i64,
    /// Why, one line per metric or point.
    pub(crate) errors: Vec<String>,
}

/// Nanoseconds to milliseconds (`convertTimeStamp`).
fn ms(ns: u64) -> i64 {
    i64::try_from(ns / 1_000_000).unwrap_or(i64::MAX)
}

/// An attribute value as text (pcommon `Value.AsString`).
fn any_value_string(v: Option<&AnyValue>) -> String {
    any_value_json(v).map_or_else(String::new, |j| match j {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    })
}

fn any_value_json(v: Option<&AnyValue>) -> Option<serde_json::Value> {
    use any_value::Value as V;
    Some(match v?.value.as_ref()? {
        V::StringValue(s) => serde_json::Value::String(s.clone()),
        V::BoolValue(b) => serde_json::Value::Bool(*b),
        V::IntValue(i) => serde_json::Value::from(*i),
        V::DoubleValue(d) => match serde_json::Number::from_f64(*d) {
            Some(n) => serde_json::Value::Number(n),
            None => serde_json::Value::String(format_float(*d)),
        },
        V::BytesValue(b) => serde_json::Value::String(base64(b)),
        V::ArrayValue(a) => serde_json::Value::Array(
            a.values
                .iter()
                .map(|x| any_value_json(Some(x)).unwrap_or(serde_json::Value::Null))
                .collect(),
        ),
        V::KvlistValue(kv) => serde_json::Value::Object(
            kv.values
                .iter()
                .map(|x| {
                    (
                        x.key.clone(),
                        any_value_json(x.value.as_ref()).unwrap_or(serde_json::Value::Null),
                    )
                })
                .collect(),
        ),
    })
}

/// Standard base64 with padding, as Go's `base64.StdEncoding`.
fn base64(b: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(b.len().div_ceil(3) * 4);
    for c in b.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(char::from(A[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A bound or quantile as a label value (Go's `FormatFloat(f, 'f', -1, 64)`).
fn format_float(f: f64) -> String {
    if f == f64::INFINITY {
        "+Inf".into()
    } else if f == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{f}")
    }
}

fn attr<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a KeyValue> {
    attrs.iter().find(|kv| kv.key == key)
}

/// What every series of one resource shares.
struct ResourceCtx<'a> {
    opts: &'a OtlpOptions,
    /// `job` and `instance`, set last.
    identity: Vec<(&'static str, String)>,
    /// Promoted resource attributes (normalized names), set when absent.
    promoted: Vec<(String, String)>,
}

impl<'a> ResourceCtx<'a> {
    fn new(opts: &'a OtlpOptions, res: &[KeyValue]) -> Result<Self, String> {
        let mut identity = Vec::new();
        if let Some(name) = attr(res, SERVICE_NAME) {
            let mut job = any_value_string(name.value.as_ref());
            if let Some(ns) = attr(res, SERVICE_NAMESPACE) {
                job = format!("{}/{job}", any_value_string(ns.value.as_ref()));
            }
            identity.push(("job", job));
        }
        if let Some(id) = attr(res, SERVICE_INSTANCE_ID) {
            identity.push(("instance", any_value_string(id.value.as_ref())));
        }
        let mut promoted = Vec::new();
        for kv in res {
            let promote = if opts.promote_all_resource_attributes {
                !opts.ignore_resource_attributes.contains(&kv.key)
            } else {
                opts.promote_resource_attributes.contains(&kv.key)
            };
            if promote {
                promoted.push((
                    label_name(opts, &kv.key)?,
                    any_value_string(kv.value.as_ref()),
                ));
            }
        }
        Ok(ResourceCtx {
            opts,
            identity,
            promoted,
        })
    }

    /// The labels of a data point (`createAttributes`): its attributes in
    /// key order (values of keys that normalize alike joined by `;`),
    /// then promoted resource attributes, then `job`/`instance`.
    fn labels(
        &self,
        attrs: &[KeyValue],
        ignore: &[&str],
        promote: bool,
    ) -> Result<BTreeMap<String, String>, String> {
        let mut sorted: Vec<&KeyValue> = attrs
            .iter()
            .filter(|kv| !ignore.contains(&kv.key.as_str()))
            .collect();
        sorted.sort_by(|a, b| a.key.cmp(&b.key));
        let mut l = BTreeMap::new();
        for kv in sorted {
            let name = label_name(self.opts, &kv.key)?;
            let value = any_value_string(kv.value.as_ref());
            l.entry(name)
                .and_modify(|v: &mut String| {
                    v.push(';');
                    v.push_str(&value);
                })
                .or_insert(value);
        }
        if promote {
            for (n, v) in &self.promoted {
                l.entry(n.clone()).or_insert_with(|| v.clone());
            }
        }
        for (n, v) in &self.identity {
            l.insert((*n).to_string(), v.clone());
        }
        Ok(l)
    }
}

fn series(base: &BTreeMap<String, String>, name: &str, extra: Option<(&str, String)>) -> Labels {
    let mut pairs: Vec<(&str, &str)> = base
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .filter(|(n, _)| *n != METRIC_NAME && extra.as_ref().is_none_or(|(e, _)| n != e))
        .collect();
    pairs.push((METRIC_NAME, name));
    if let Some((n, v)) = &extra {
        pairs.push((n, v.as_str()));
    }
    Labels::from_pairs(&pairs)
}

/// The time span of a metric's points (ns), ignoring zero timestamps.
fn point_times(m: &Metric) -> Vec<u64> {
    match &m.data {
        Some(MetricData::Gauge(g)) => g.data_points.iter().map(|p| p.time_unix_nano).collect(),
        Some(MetricData::Sum(s)) => s.data_points.iter().map(|p| p.time_unix_nano).collect(),
        Some(MetricData::Histogram(h)) => h.data_points.iter().map(|p| p.time_unix_nano).collect(),
        Some(MetricData::ExponentialHistogram(h)) => {
            h.data_points.iter().map(|p| p.time_unix_nano).collect()
        }
        Some(MetricData::Summary(s)) => s.data_points.iter().map(|p| p.time_unix_nano).collect(),
        None => Vec::new(),
    }
}

fn point_count(m: &Metric) -> usize {
    point_times(m).len()
}

/// Translates a request. `target_info_interval` (ms) spaces the
/// `target_info` samples (half the lookback delta in Prometheus).
pub(crate) fn translate(
    req: &ExportMetricsServiceRequest,
    opts: &OtlpOptions,
    target_info_interval: i64,
) -> Translation {
    let mut out = Translation::default();
    for rm in &req.resource_metrics {
        let res: &[KeyValue] = rm.resource.as_ref().map_or(&[], |r| &r.attributes);
        let ctx = match ResourceCtx::new(opts, res) {
            Ok(c) => c,
            Err(e) => {
                let n: usize = rm
                    .scope_metrics
                    .iter()
                    .flat_map(|s| &s.metrics)
                    .map(point_count)
                    .sum();
                out.rejected_points += n as i64;
                out.errors.push(e);
                continue;
            }
        };
        let (mut earliest, mut latest) = (u64::MAX, 0u64);
        for m in rm.scope_metrics.iter().flat_map(|s| &s.metrics) {
            for t in point_times(m).into_iter().filter(|&t| t != 0) {
                earliest = earliest.min(t);
                latest = latest.max(t);
            }
            translate_metric(&ctx, m, &mut out);
        }
        if earliest <= latest {
            target_info(
                &ctx,
                res,
                ms(earliest),
                ms(latest),
                target_info_interval,
                &mut out,
            );
        }
    }
    out
}

fn temporality_ok(t: i32) -> bool {
    t == AggregationTemporality::Cumulative as i32
}

fn translate_metric(ctx: &ResourceCtx<'_>, m: &Metric, out: &mut Translation) {
    let n = point_count(m);
    let typ = match &m.data {
        None => {
            out.errors
                .push(format!("unsupported metric type for metric {:?}", m.name));
            return;
        }
        Some(MetricData::Gauge(_)) => NameType::Gauge,
        Some(MetricData::Sum(s)) if s.is_monotonic => NameType::MonotonicCounter,
        Some(MetricData::Sum(_)) => NameType::NonMonotonicCounter,
        Some(MetricData::Histogram(_)) => NameType::Histogram,
        Some(MetricData::ExponentialHistogram(_)) => {
            out.rejected_points += n as i64;
            out.errors.push(format!(
                "exponential histogram {:?} dropped: native histograms are not supported",
                m.name
            ));
            return;
        }
        Some(MetricData::Summary(_)) => NameType::Summary,
    };
    let temporality = match &m.data {
        Some(MetricData::Sum(s)) => Some(s.aggregation_temporality),
        Some(MetricData::Histogram(h)) => Some(h.aggregation_temporality),
        _ => None,
    };
    if temporality.is_some_and(|t| !temporality_ok(t)) {
        out.rejected_points += n as i64;
        out.errors.push(format!(
            "invalid temporality and type combination for metric {:?}",
            m.name
        ));
        return;
    }
    if n == 0 {
        out.errors
            .push(format!("empty data points. {} is dropped", m.name));
        return;
    }
    let name = match metric_name(ctx.opts, &m.name, &m.unit, typ) {
        Ok(n) => n,
        Err(e) => {
            out.rejected_points += n as i64;
            out.errors.push(e);
            return;
        }
    };
    let bad_point = |out: &mut Translation, e: String| {
        out.rejected_points += 1;
        out.errors.push(e);
    };
    match &m.data {
        Some(MetricData::Gauge(g)) => {
            for p in &g.data_points {
                match ctx.labels(&p.attributes, &[], true) {
                    Ok(l) => out.samples.push(number_sample(&l, &name, p, false)),
                    Err(e) => bad_point(out, e),
                }
            }
        }
        Some(MetricData::Sum(s)) => {
            for p in &s.data_points {
                match ctx.labels(&p.attributes, &[], true) {
                    Ok(l) => out.samples.push(number_sample(&l, &name, p, true)),
                    Err(e) => bad_point(out, e),
                }
            }
        }
        Some(MetricData::Histogram(h)) => {
            for p in &h.data_points {
                let l = match ctx.labels(&p.attributes, &[], true) {
                    Ok(l) => l,
                    Err(e) => {
                        bad_point(out, e);
                        continue;
                    }
                };
                let stale = p.flags & FLAG_NO_RECORDED_VALUE != 0;
                let (st, t) = (ms(p.start_time_unix_nano), ms(p.time_unix_nano));
                let mut push = |labels: Labels, v: f64| {
                    let v = if stale { STALE_NAN } else { v };
                    out.samples.push(OtlpSample { labels, st, t, v });
                };
                if let Some(sum) = p.sum {
                    push(series(&l, &format!("{name}_sum"), None), sum);
                }
                push(series(&l, &format!("{name}_count"), None), p.count as f64);
                let bucket = format!("{name}_bucket");
                let mut cumulative = 0u64;
                for (bound, count) in p.explicit_bounds.iter().zip(&p.bucket_counts) {
                    cumulative = cumulative.saturating_add(*count);
                    push(
                        series(&l, &bucket, Some(("le", format_float(*bound)))),
                        cumulative as f64,
                    );
                }
                push(
                    series(&l, &bucket, Some(("le", "+Inf".into()))),
                    p.count as f64,
                );
            }
        }
        Some(MetricData::Summary(s)) => {
            for p in &s.data_points {
                let l = match ctx.labels(&p.attributes, &[], true) {
                    Ok(l) => l,
                    Err(e) => {
                        bad_point(out, e);
                        continue;
                    }
                };
                let stale = p.flags & FLAG_NO_RECORDED_VALUE != 0;
                let (st, t) = (ms(p.start_time_unix_nano), ms(p.time_unix_nano));
                let mut push = |labels: Labels, v: f64| {
                    let v = if stale { STALE_NAN } else { v };
                    out.samples.push(OtlpSample { labels, st, t, v });
                };
                push(series(&l, &format!("{name}_sum"), None), p.sum);
                push(series(&l, &format!("{name}_count"), None), p.count as f64);
                for q in &p.quantile_values {
                    push(
                        series(&l, &name, Some(("quantile", format_float(q.quantile)))),
                        q.value,
                    );
                }
            }
        }
        _ => {}
    }
}

fn number_sample(
    l: &BTreeMap<String, String>,
    name: &str,
    p: &promlite_prompb::otlp::NumberDataPoint,
    with_st: bool,
) -> OtlpSample {
    let v = if p.flags & FLAG_NO_RECORDED_VALUE != 0 {
        STALE_NAN
    } else {
        match p.value {
            Some(NumberValue::AsDouble(d)) => d,
            Some(NumberValue::AsInt(i)) => i as f64,
            None => 0.0,
        }
    };
    OtlpSample {
        labels: series(l, name, None),
        st: if with_st {
            ms(p.start_time_unix_nano)
        } else {
            0
        },
        t: ms(p.time_unix_nano),
        v,
    }
}

/// `target_info` (value 1) with the resource's attributes other than the
/// identifying ones, from the earliest to the latest point of the
/// resource every `interval` ms, when the resource has such attributes
/// and a `job` or `instance` (`addResourceTargetInfo`).
fn target_info(
    ctx: &ResourceCtx<'_>,
    res: &[KeyValue],
    earliest: i64,
    latest: i64,
    interval: i64,
    out: &mut Translation,
) {
    const IDENTIFYING: [&str; 3] = [SERVICE_NAMESPACE, SERVICE_NAME, SERVICE_INSTANCE_ID];
    let identifying = res
        .iter()
        .filter(|kv| IDENTIFYING.contains(&kv.key.as_str()))
        .count();
    if res.len() == identifying {
        return;
    }
    let ignore: &[&str] = if ctx.opts.keep_identifying_resource_attributes {
        &[]
    } else {
        &IDENTIFYING
    };
    let l = match ctx.labels(res, ignore, false) {
        Ok(l) => l,
        Err(e) => {
            out.errors.push(e);
            return;
        }
    };
    if !l.contains_key("job") && !l.contains_key("instance") {
        return;
    }
    let labels = series(&l, "target_info", None);
    let interval = interval.max(1);
    let first =
        earliest.max(latest.saturating_sub(interval.saturating_mul(MAX_TARGET_INFO_SAMPLES - 1)));
    let mut t = first;
    while t < latest {
        out.samples.push(OtlpSample {
            labels: labels.clone(),
            st: 0,
            t,
            v: 1.0,
        });
        t = t.saturating_add(interval);
    }
    out.samples.push(OtlpSample {
        labels,
        st: 0,
        t: latest,
        v: 1.0,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_values_read_as_pcommon_as_string() {
        let v = |x: any_value::Value| any_value_string(Some(&AnyValue { value: Some(x) }));
        assert_eq!(v(any_value::Value::StringValue("a".into())), "a");
        assert_eq!(v(any_value::Value::BoolValue(true)), "true");
        assert_eq!(v(any_value::Value::IntValue(-3)), "-3");
        assert_eq!(v(any_value::Value::DoubleValue(1.5)), "1.5");
        assert_eq!(
            v(any_value::Value::BytesValue(b"hi!?".to_vec())),
            "aGkhPw=="
        );
        assert_eq!(any_value_string(None), "");
    }

    #[test]
    fn bounds_format_as_go_formatfloat_f() {
        assert_eq!(format_float(1.0), "1");
        assert_eq!(format_float(0.005), "0.005");
        assert_eq!(format_float(2.5e-7), "0.00000025");
        assert_eq!(format_float(f64::INFINITY), "+Inf");
    }

    #[test]
    fn nanoseconds_truncate_to_milliseconds() {
        assert_eq!(ms(1_999_999), 1);
        assert_eq!(ms(u64::MAX), (u64::MAX / 1_000_000) as i64);
    }
}
