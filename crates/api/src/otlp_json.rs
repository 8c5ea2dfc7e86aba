//! OTLP/HTTP JSON bodies: the "JSON Protobuf Encoding" of the OTLP
//! specification, read into the same prost messages as protobuf bodies so
//! that [`crate::otlp_translate`] serves both.
//!
//! The encoding is the proto3 JSON mapping: keys are lowerCamelCase field
//! names (the original snake_case names are accepted too), enums are
//! integers (their names are accepted too), 64-bit integers are numbers or
//! decimal strings, doubles are numbers or `"NaN"`, `"Infinity"`,
//! `"-Infinity"` (or decimal strings), bytes are base64 and `null` is the
//! default value. Unknown fields are ignored, as the specification
//! requires; that covers exemplars, whose hex `traceId`/`spanId` are never
//! read. Setting two cases of a oneof is an error. Like any serde-derived
//! struct, a message may also be written as an array of its fields in
//! declaration order, which proto3 JSON does not allow; nothing sends
//! that, and it is accepted rather than rejected.
//!
//! Nesting is bounded twice: `serde_json` stops at 128 levels of JSON, and
//! attribute values ([`AnyValue`]) may nest at most [`MAX_ANY_VALUE_DEPTH`]
//! levels deep.

use promlite_prompb::otlp as pb;
use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::PlainError;

/// How deep attribute values (arrays and key-value lists) may nest.
pub(crate) const MAX_ANY_VALUE_DEPTH: usize = 32;

/// Parses a JSON `ExportMetricsServiceRequest`.
pub(crate) fn decode(body: &[u8]) -> Result<pb::ExportMetricsServiceRequest, PlainError> {
    let req: Request =
        serde_json::from_slice(body).map_err(|e| PlainError::OtlpJson(e.to_string()))?;
    req.into_proto().map_err(PlainError::OtlpJson)
}

/// Writes an `ExportMetricsServiceResponse` as JSON: `{}` on full
/// success. As proto3 JSON, default values are left out and the int64
/// `rejectedDataPoints` is a decimal string.
pub(crate) fn encode_response(r: &pb::ExportMetricsServiceResponse) -> Vec<u8> {
    let mut out = Map::new();
    if let Some(p) = &r.partial_success {
        let mut ps = Map::new();
        if p.rejected_data_points != 0 {
            ps.insert(
                "rejectedDataPoints".into(),
                Value::String(p.rejected_data_points.to_string()),
            );
        }
        if !p.error_message.is_empty() {
            ps.insert(
                "errorMessage".into(),
                Value::String(p.error_message.clone()),
            );
        }
        out.insert("partialSuccess".into(), Value::Object(ps));
    }
    Value::Object(out).to_string().into_bytes()
}

/// `null` as the default value, as the proto3 JSON mapping wants.
fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// An integer field: a JSON number or a string holding a decimal integer.
#[derive(Debug, Default, Clone, Copy)]
struct Int<T>(T);

impl<'de, T: TryFrom<i128> + Default> Deserialize<'de> for Int<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<T: TryFrom<i128>> V<T> {
            fn fit<E: de::Error>(n: i128) -> Result<Int<T>, E> {
                T::try_from(n)
                    .map(Int)
                    .map_err(|_| E::custom(format!("integer {n} out of range")))
            }
        }
        impl<T: TryFrom<i128>> Visitor<'_> for V<T> {
            type Value = Int<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an integer or a string holding one")
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Int<T>, E> {
                Self::fit(i128::from(n))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Int<T>, E> {
                Self::fit(i128::from(n))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<Int<T>, E> {
                // 1e3 is an integer; 1.5 is not.
                if !n.is_finite() || n.fract() != 0.0 {
                    return Err(E::custom(format!("{n} is not an integer")));
                }
                // Saturates far outside every target range, which then fails.
                Self::fit(n as i128)
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Int<T>, E> {
                let n = s
                    .parse::<i128>()
                    .map_err(|_| E::custom(format!("invalid integer string {s:?}")))?;
                Self::fit(n)
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// A double field: a number, `"NaN"`, `"Infinity"`, `"-Infinity"` or a
/// string holding a decimal number.
#[derive(Debug, Default, Clone, Copy)]
struct F64(f64);

impl<'de> Deserialize<'de> for F64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = F64;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a number, \"NaN\", \"Infinity\" or \"-Infinity\"")
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<F64, E> {
                Ok(F64(n as f64))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<F64, E> {
                Ok(F64(n as f64))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<F64, E> {
                Ok(F64(n))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<F64, E> {
                match s {
                    "NaN" => Ok(F64(f64::NAN)),
                    "Infinity" => Ok(F64(f64::INFINITY)),
                    "-Infinity" => Ok(F64(f64::NEG_INFINITY)),
                    _ => match s.parse::<f64>() {
                        // Rust also parses "inf" and "nan"; JSON does not.
                        Ok(v) if v.is_finite() => Ok(F64(v)),
                        _ => Err(E::custom(format!("invalid number string {s:?}"))),
                    },
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// `AggregationTemporality`: its number or its name.
#[derive(Debug, Default, Clone, Copy)]
struct Temporality(i32);

impl<'de> Deserialize<'de> for Temporality {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Temporality;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an aggregation temporality number or name")
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Temporality, E> {
                i32::try_from(n)
                    .map(Temporality)
                    .map_err(|_| E::custom(format!("aggregation temporality {n} out of range")))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Temporality, E> {
                i32::try_from(n)
                    .map(Temporality)
                    .map_err(|_| E::custom(format!("aggregation temporality {n} out of range")))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Temporality, E> {
                match s {
                    "AGGREGATION_TEMPORALITY_UNSPECIFIED" => Ok(Temporality(0)),
                    "AGGREGATION_TEMPORALITY_DELTA" => Ok(Temporality(1)),
                    "AGGREGATION_TEMPORALITY_CUMULATIVE" => Ok(Temporality(2)),
                    _ => s
                        .parse::<i32>()
                        .map(Temporality)
                        .map_err(|_| E::custom(format!("unknown aggregation temporality {s:?}"))),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// A `bytes` field: standard or URL-safe base64, padding optional.
#[derive(Debug, Default, Clone)]
struct Base64(Vec<u8>);

impl<'de> Deserialize<'de> for Base64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        base64_decode(&s)
            .map(Base64)
            .ok_or_else(|| de::Error::custom("invalid base64 in bytesValue"))
    }
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    // One leftover character (6 bits) cannot end a base64 string.
    (bits < 6).then_some(out)
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Request {
    #[serde(alias = "resource_metrics", deserialize_with = "nullable")]
    resource_metrics: Vec<ResourceMetrics>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct ResourceMetrics {
    resource: Option<Resource>,
    #[serde(alias = "scope_metrics", deserialize_with = "nullable")]
    scope_metrics: Vec<ScopeMetrics>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Resource {
    #[serde(deserialize_with = "nullable")]
    attributes: Vec<KeyValue>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ScopeMetrics {
    scope: Option<Scope>,
    #[serde(deserialize_with = "nullable")]
    metrics: Vec<Metric>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Scope {
    #[serde(deserialize_with = "nullable")]
    name: String,
    #[serde(deserialize_with = "nullable")]
    version: String,
    #[serde(deserialize_with = "nullable")]
    attributes: Vec<KeyValue>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Metric {
    #[serde(deserialize_with = "nullable")]
    name: String,
    #[serde(deserialize_with = "nullable")]
    description: String,
    #[serde(deserialize_with = "nullable")]
    unit: String,
    gauge: Option<Points<NumberPoint>>,
    sum: Option<Sum>,
    histogram: Option<Sum<HistogramPoint>>,
    #[serde(alias = "exponential_histogram")]
    exponential_histogram: Option<Sum<ExponentialPoint>>,
    summary: Option<Points<SummaryPoint>>,
}

/// `Gauge` and `Summary`: points only.
#[derive(Deserialize)]
#[serde(
    default,
    rename_all = "camelCase",
    bound(deserialize = "P: Deserialize<'de>")
)]
struct Points<P> {
    #[serde(alias = "data_points", deserialize_with = "nullable")]
    data_points: Vec<P>,
}

impl<P> Default for Points<P> {
    fn default() -> Self {
        Points {
            data_points: Vec::new(),
        }
    }
}

/// `Sum`, `Histogram` and `ExponentialHistogram`: points and temporality
/// (and monotonicity, which only `Sum` has).
#[derive(Deserialize)]
#[serde(
    default,
    rename_all = "camelCase",
    bound(deserialize = "P: Deserialize<'de>")
)]
struct Sum<P = NumberPoint> {
    #[serde(alias = "data_points", deserialize_with = "nullable")]
    data_points: Vec<P>,
    #[serde(alias = "aggregation_temporality", deserialize_with = "nullable")]
    aggregation_temporality: Temporality,
    #[serde(alias = "is_monotonic", deserialize_with = "nullable")]
    is_monotonic: bool,
}

impl<P> Default for Sum<P> {
    fn default() -> Self {
        Sum {
            data_points: Vec::new(),
            aggregation_temporality: Temporality::default(),
            is_monotonic: false,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct NumberPoint {
    #[serde(deserialize_with = "nullable")]
    attributes: Vec<KeyValue>,
    #[serde(alias = "start_time_unix_nano", deserialize_with = "nullable")]
    start_time_unix_nano: Int<u64>,
    #[serde(alias = "time_unix_nano", deserialize_with = "nullable")]
    time_unix_nano: Int<u64>,
    #[serde(alias = "as_double")]
    as_double: Option<F64>,
    #[serde(alias = "as_int")]
    as_int: Option<Int<i64>>,
    #[serde(deserialize_with = "nullable")]
    flags: Int<u32>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct HistogramPoint {
    #[serde(deserialize_with = "nullable")]
    attributes: Vec<KeyValue>,
    #[serde(alias = "start_time_unix_nano", deserialize_with = "nullable")]
    start_time_unix_nano: Int<u64>,
    #[serde(alias = "time_unix_nano", deserialize_with = "nullable")]
    time_unix_nano: Int<u64>,
    #[serde(deserialize_with = "nullable")]
    count: Int<u64>,
    sum: Option<F64>,
    #[serde(alias = "bucket_counts", deserialize_with = "nullable")]
    bucket_counts: Vec<Int<u64>>,
    #[serde(alias = "explicit_bounds", deserialize_with = "nullable")]
    explicit_bounds: Vec<F64>,
    #[serde(deserialize_with = "nullable")]
    flags: Int<u32>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct ExponentialPoint {
    #[serde(deserialize_with = "nullable")]
    attributes: Vec<KeyValue>,
    #[serde(alias = "start_time_unix_nano", deserialize_with = "nullable")]
    start_time_unix_nano: Int<u64>,
    #[serde(alias = "time_unix_nano", deserialize_with = "nullable")]
    time_unix_nano: Int<u64>,
    #[serde(deserialize_with = "nullable")]
    count: Int<u64>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct SummaryPoint {
    #[serde(deserialize_with = "nullable")]
    attributes: Vec<KeyValue>,
    #[serde(alias = "start_time_unix_nano", deserialize_with = "nullable")]
    start_time_unix_nano: Int<u64>,
    #[serde(alias = "time_unix_nano", deserialize_with = "nullable")]
    time_unix_nano: Int<u64>,
    #[serde(deserialize_with = "nullable")]
    count: Int<u64>,
    #[serde(deserialize_with = "nullable")]
    sum: F64,
    #[serde(alias = "quantile_values", deserialize_with = "nullable")]
    quantile_values: Vec<Quantile>,
    #[serde(deserialize_with = "nullable")]
    flags: Int<u32>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Quantile {
    #[serde(deserialize_with = "nullable")]
    quantile: F64,
    #[serde(deserialize_with = "nullable")]
    value: F64,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct KeyValue {
    #[serde(deserialize_with = "nullable")]
    key: String,
    value: Option<AnyValue>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct AnyValue {
    #[serde(alias = "string_value")]
    string_value: Option<String>,
    #[serde(alias = "bool_value")]
    bool_value: Option<bool>,
    #[serde(alias = "int_value")]
    int_value: Option<Int<i64>>,
    #[serde(alias = "double_value")]
    double_value: Option<F64>,
    #[serde(alias = "array_value")]
    array_value: Option<Values<AnyValue>>,
    #[serde(alias = "kvlist_value")]
    kvlist_value: Option<Values<KeyValue>>,
    #[serde(alias = "bytes_value")]
    bytes_value: Option<Base64>,
}

/// `ArrayValue` and `KeyValueList`.
#[derive(Deserialize)]
#[serde(default, bound(deserialize = "V: Deserialize<'de>"))]
struct Values<V> {
    #[serde(deserialize_with = "nullable")]
    values: Vec<V>,
}

impl<V> Default for Values<V> {
    fn default() -> Self {
        Values { values: Vec::new() }
    }
}

/// The one case of a oneof that is set; an error naming them when more
/// than one is.
fn one_of<T>(what: &str, cases: Vec<(&str, Option<T>)>) -> Result<Option<T>, String> {
    let mut set: Vec<(&str, T)> = cases
        .into_iter()
        .filter_map(|(n, v)| v.map(|v| (n, v)))
        .collect();
    if set.len() > 1 {
        let names: Vec<&str> = set.iter().map(|(n, _)| *n).collect();
        return Err(format!("{what} sets more than one of {}", names.join(", ")));
    }
    Ok(set.pop().map(|(_, v)| v))
}

fn attributes(kvs: Vec<KeyValue>, depth: usize) -> Result<Vec<pb::KeyValue>, String> {
    kvs.into_iter()
        .map(|kv| {
            let value = kv.value.map(|v| v.into_proto(depth)).transpose()?;
            Ok(pb::KeyValue { key: kv.key, value })
        })
        .collect()
}

impl AnyValue {
    fn into_proto(self, depth: usize) -> Result<pb::AnyValue, String> {
        use pb::any_value::Value as V;
        if depth >= MAX_ANY_VALUE_DEPTH {
            return Err(format!(
                "attribute value nested more than {MAX_ANY_VALUE_DEPTH} levels deep"
            ));
        }
        let array = self
            .array_value
            .map(|a| {
                a.values
                    .into_iter()
                    .map(|v| v.into_proto(depth + 1))
                    .collect::<Result<Vec<_>, _>>()
                    .map(|values| V::ArrayValue(pb::ArrayValue { values }))
            })
            .transpose()?;
        let kvlist = self
            .kvlist_value
            .map(|l| {
                attributes(l.values, depth + 1)
                    .map(|values| V::KvlistValue(pb::KeyValueList { values }))
            })
            .transpose()?;
        let value = one_of(
            "attribute value",
            vec![
                ("stringValue", self.string_value.map(V::StringValue)),
                ("boolValue", self.bool_value.map(V::BoolValue)),
                ("intValue", self.int_value.map(|i| V::IntValue(i.0))),
                (
                    "doubleValue",
                    self.double_value.map(|d| V::DoubleValue(d.0)),
                ),
                ("arrayValue", array),
                ("kvlistValue", kvlist),
                ("bytesValue", self.bytes_value.map(|b| V::BytesValue(b.0))),
            ],
        )?;
        Ok(pb::AnyValue { value })
    }
}

impl Request {
    fn into_proto(self) -> Result<pb::ExportMetricsServiceRequest, String> {
        let resource_metrics = self
            .resource_metrics
            .into_iter()
            .map(|rm| {
                let resource = rm
                    .resource
                    .map(|r| {
                        attributes(r.attributes, 0).map(|attributes| pb::Resource { attributes })
                    })
                    .transpose()?;
                let scope_metrics = rm
                    .scope_metrics
                    .into_iter()
                    .map(|sm| {
                        let scope = sm
                            .scope
                            .map(|s| {
                                Ok::<_, String>(pb::InstrumentationScope {
                                    name: s.name,
                                    version: s.version,
                                    attributes: attributes(s.attributes, 0)?,
                                })
                            })
                            .transpose()?;
                        let metrics = sm
                            .metrics
                            .into_iter()
                            .map(Metric::into_proto)
                            .collect::<Result<_, _>>()?;
                        Ok::<_, String>(pb::ScopeMetrics { scope, metrics })
                    })
                    .collect::<Result<_, _>>()?;
                Ok(pb::ResourceMetrics {
                    resource,
                    scope_metrics,
                })
            })
            .collect::<Result<_, String>>()?;
        Ok(pb::ExportMetricsServiceRequest { resource_metrics })
    }
}

impl Metric {
    fn into_proto(self) -> Result<pb::Metric, String> {
        use pb::MetricData as D;
        let gauge = self
            .gauge
            .map(|g| {
                let data_points = numbers(g.data_points)?;
                Ok::<_, String>(D::Gauge(pb::Gauge { data_points }))
            })
            .transpose()?;
        let sum = self
            .sum
            .map(|s| {
                Ok::<_, String>(D::Sum(pb::Sum {
                    data_points: numbers(s.data_points)?,
                    aggregation_temporality: s.aggregation_temporality.0,
                    is_monotonic: s.is_monotonic,
                }))
            })
            .transpose()?;
        let histogram = self
            .histogram
            .map(|h| {
                let data_points = h
                    .data_points
                    .into_iter()
                    .map(|p| {
                        Ok::<_, String>(pb::HistogramDataPoint {
                            attributes: attributes(p.attributes, 0)?,
                            start_time_unix_nano: p.start_time_unix_nano.0,
                            time_unix_nano: p.time_unix_nano.0,
                            count: p.count.0,
                            sum: p.sum.map(|s| s.0),
                            bucket_counts: p.bucket_counts.into_iter().map(|c| c.0).collect(),
                            explicit_bounds: p.explicit_bounds.into_iter().map(|b| b.0).collect(),
                            flags: p.flags.0,
                        })
                    })
                    .collect::<Result<_, _>>()?;
                Ok::<_, String>(D::Histogram(pb::Histogram {
                    data_points,
                    aggregation_temporality: h.aggregation_temporality.0,
                }))
            })
            .transpose()?;
        let exponential = self
            .exponential_histogram
            .map(|h| {
                let data_points = h
                    .data_points
                    .into_iter()
                    .map(|p| {
                        Ok::<_, String>(pb::ExponentialHistogramDataPoint {
                            attributes: attributes(p.attributes, 0)?,
                            start_time_unix_nano: p.start_time_unix_nano.0,
                            time_unix_nano: p.time_unix_nano.0,
                            count: p.count.0,
                        })
                    })
                    .collect::<Result<_, _>>()?;
                Ok::<_, String>(D::ExponentialHistogram(pb::ExponentialHistogram {
                    data_points,
                    aggregation_temporality: h.aggregation_temporality.0,
                }))
            })
            .transpose()?;
        let summary = self
            .summary
            .map(|s| {
                let data_points = s
                    .data_points
                    .into_iter()
                    .map(|p| {
                        Ok::<_, String>(pb::SummaryDataPoint {
                            attributes: attributes(p.attributes, 0)?,
                            start_time_unix_nano: p.start_time_unix_nano.0,
                            time_unix_nano: p.time_unix_nano.0,
                            count: p.count.0,
                            sum: p.sum.0,
                            quantile_values: p
                                .quantile_values
                                .into_iter()
                                .map(|q| pb::ValueAtQuantile {
                                    quantile: q.quantile.0,
                                    value: q.value.0,
                                })
                                .collect(),
                            flags: p.flags.0,
                        })
                    })
                    .collect::<Result<_, _>>()?;
                Ok::<_, String>(D::Summary(pb::Summary { data_points }))
            })
            .transpose()?;
        let data = one_of(
            &format!("metric {:?}", self.name),
            vec![
                ("gauge", gauge),
                ("sum", sum),
                ("histogram", histogram),
                ("exponentialHistogram", exponential),
                ("summary", summary),
            ],
        )?;
        Ok(pb::Metric {
            name: self.name,
            description: self.description,
            unit: self.unit,
            data,
        })
    }
}

fn numbers(points: Vec<NumberPoint>) -> Result<Vec<pb::NumberDataPoint>, String> {
    points
        .into_iter()
        .map(|p| {
            let value = one_of(
                "number data point",
                vec![
                    (
                        "asDouble",
                        p.as_double.map(|d| pb::NumberValue::AsDouble(d.0)),
                    ),
                    ("asInt", p.as_int.map(|i| pb::NumberValue::AsInt(i.0))),
                ],
            )?;
            Ok(pb::NumberDataPoint {
                attributes: attributes(p.attributes, 0)?,
                start_time_unix_nano: p.start_time_unix_nano.0,
                time_unix_nano: p.time_unix_nano.0,
                value,
                flags: p.flags.0,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(json: &str) -> Result<pb::NumberDataPoint, String> {
        let body = format!(
            r#"{{"resourceMetrics":[{{"scopeMetrics":[{{"metrics":[{{"name":"m","gauge":{{"dataPoints":[{json}]}}}}]}}]}}]}}"#
        );
        let req = decode(body.as_bytes()).map_err(|e| e.to_string())?;
        match &req.resource_metrics[0].scope_metrics[0].metrics[0].data {
            Some(pb::MetricData::Gauge(g)) => Ok(g.data_points[0].clone()),
            _ => Err("no gauge".into()),
        }
    }

    #[test]
    fn int64_fields_take_numbers_and_strings() {
        let a = point(r#"{"timeUnixNano":"1700000000000000001","asInt":"-5"}"#).unwrap();
        let b = point(r#"{"timeUnixNano":1700000000000000001,"asInt":-5}"#).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.time_unix_nano, 1_700_000_000_000_000_001);
        assert_eq!(a.value, Some(pb::NumberValue::AsInt(-5)));
        // An integral float is an integer; a fraction is not.
        assert_eq!(
            point(r#"{"asInt":1e3}"#).unwrap().value,
            Some(pb::NumberValue::AsInt(1000))
        );
        let e = point(r#"{"asInt":1.5}"#).unwrap_err();
        assert!(e.contains("1.5 is not an integer"), "{e}");
        let e = point(r#"{"timeUnixNano":"-1"}"#).unwrap_err();
        assert!(e.contains("integer -1 out of range"), "{e}");
        let e = point(r#"{"timeUnixNano":"12x"}"#).unwrap_err();
        assert!(e.contains("invalid integer string \"12x\""), "{e}");
    }

    #[test]
    fn doubles_take_the_special_strings() {
        let v = |j: &str| match point(j).unwrap().value {
            Some(pb::NumberValue::AsDouble(d)) => d,
            other => panic!("{other:?}"),
        };
        assert!(v(r#"{"asDouble":"NaN"}"#).is_nan());
        assert_eq!(v(r#"{"asDouble":"Infinity"}"#), f64::INFINITY);
        assert_eq!(v(r#"{"asDouble":"-Infinity"}"#), f64::NEG_INFINITY);
        assert_eq!(v(r#"{"asDouble":"2.5"}"#), 2.5);
        assert_eq!(v(r#"{"asDouble":3}"#), 3.0);
        assert!(point(r#"{"asDouble":"inf"}"#).is_err());
        let e = point(r#"{"asDouble":1,"asInt":1}"#).unwrap_err();
        assert!(e.contains("sets more than one of asDouble, asInt"), "{e}");
    }

    #[test]
    fn temporality_takes_numbers_and_names() {
        let t = |v: &str| {
            let body = format!(
                r#"{{"resourceMetrics":[{{"scopeMetrics":[{{"metrics":[{{"sum":{{"aggregationTemporality":{v}}}}}]}}]}}]}}"#
            );
            let req = decode(body.as_bytes()).map_err(|e| e.to_string())?;
            match &req.resource_metrics[0].scope_metrics[0].metrics[0].data {
                Some(pb::MetricData::Sum(s)) => Ok(s.aggregation_temporality),
                _ => Err("no sum".to_string()),
            }
        };
        assert_eq!(t("2").unwrap(), 2);
        assert_eq!(t("\"AGGREGATION_TEMPORALITY_DELTA\"").unwrap(), 1);
        assert_eq!(t("null").unwrap(), 0);
        assert_eq!(t("\"1\"").unwrap(), 1);
        let e = t("true").unwrap_err();
        assert!(
            e.contains("expected an aggregation temporality number or name"),
            "{e}"
        );
        let e = t("\"SOMETIMES\"").unwrap_err();
        assert!(
            e.contains("unknown aggregation temporality \"SOMETIMES\""),
            "{e}"
        );
    }

    #[test]
    fn base64_decodes_both_alphabets() {
        // RFC 4648 section 10 test vectors.
        assert_eq!(base64_decode("").unwrap(), b"");
        assert_eq!(base64_decode("Zg==").unwrap(), b"f");
        assert_eq!(base64_decode("Zm8=").unwrap(), b"fo");
        assert_eq!(base64_decode("Zm9vYmFy").unwrap(), b"foobar");
        assert_eq!(base64_decode("Zm9vYg").unwrap(), b"foob");
        assert_eq!(
            base64_decode("-_8").unwrap(),
            base64_decode("+/8=").unwrap()
        );
        assert_eq!(base64_decode("+/8=").unwrap(), vec![0xfb, 0xff]);
        assert!(base64_decode("Z").is_none());
        assert!(base64_decode("Zm9v!").is_none());
    }

    #[test]
    fn attribute_nesting_is_bounded() {
        let nest = |n: usize| {
            let mut v = r#"{"intValue":1}"#.to_string();
            for _ in 0..n {
                v = format!(r#"{{"arrayValue":{{"values":[{v}]}}}}"#);
            }
            let body = format!(
                r#"{{"resourceMetrics":[{{"resource":{{"attributes":[{{"key":"k","value":{v}}}]}}}}]}}"#
            );
            decode(body.as_bytes()).map_err(|e| e.to_string())
        };
        assert!(nest(MAX_ANY_VALUE_DEPTH - 1).is_ok());
        let e = nest(MAX_ANY_VALUE_DEPTH).unwrap_err();
        assert!(
            e.contains("attribute value nested more than 32 levels deep"),
            "{e}"
        );
        // Far deeper: serde_json's own recursion limit answers first.
        let e = nest(10_000).unwrap_err();
        assert!(e.contains("recursion limit exceeded"), "{e}");
    }

    #[test]
    fn response_is_proto3_json() {
        assert_eq!(
            encode_response(&pb::ExportMetricsServiceResponse::default()),
            b"{}"
        );
        let r = pb::ExportMetricsServiceResponse {
            partial_success: Some(pb::ExportMetricsPartialSuccess {
                rejected_data_points: 3,
                error_message: "x".into(),
            }),
        };
        let v: Value = serde_json::from_slice(&encode_response(&r)).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"partialSuccess": {"rejectedDataPoints": "3", "errorMessage": "x"}})
        );
    }
}
