//! Scalar value types of the configuration: durations, byte sizes, secrets
//! and label-name checks, each decoding and printing as Prometheus does.

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

/// A duration in Prometheus' format (`1m`, `1h30m`, `0s`), kept in
/// milliseconds. Printed back with [`promlite_model::format_duration`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct Duration(pub i64);

impl Duration {
    /// Milliseconds.
    pub fn as_millis(self) -> i64 {
        self.0
    }

    /// Builds a duration from seconds.
    pub const fn from_secs(s: i64) -> Self {
        Duration(s * 1000)
    }

    /// As a [`std::time::Duration`] (negative values clamp to zero).
    pub fn to_std(self) -> std::time::Duration {
        std::time::Duration::from_millis(u64::try_from(self.0).unwrap_or(0))
    }
}

impl std::fmt::Display for Duration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&promlite_model::format_duration(self.0))
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        promlite_model::parse_duration(&s)
            .map(Duration)
            .map_err(|_| de::Error::custom(format!("not a valid duration string: {s:?}")))
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

/// A byte size (`units.Base2Bytes`: `10MB`, `1GiB`, `0`), in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct ByteSize(pub u64);

impl ByteSize {
    /// True for the "no limit" value 0.
    pub fn is_zero(&self) -> bool {
        self.0 == 0
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        promlite_model::parse_bytes(&s)
            .map(ByteSize)
            .map_err(|_| de::Error::custom(format!("not a valid byte size: {s:?}")))
    }
}

impl Serialize for ByteSize {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Base2Bytes prints the largest exact unit (1GiB, 512MiB, 100B).
        const UNITS: [(&str, u32); 6] = [
            ("EiB", 60),
            ("PiB", 50),
            ("TiB", 40),
            ("GiB", 30),
            ("MiB", 20),
            ("KiB", 10),
        ];
        let v = self.0;
        for (u, shift) in UNITS {
            let f = 1u64 << shift;
            if v >= f && v % f == 0 {
                return s.serialize_str(&format!("{}{u}", v / f));
            }
        }
        s.serialize_str(&format!("{v}B"))
    }
}

/// A secret string (password, credentials, key). It is kept for use but
/// always prints as `<secret>`, as Prometheus' `config.Secret` does.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    /// The secret value itself, for use by an HTTP client.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when no secret was given.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<secret>")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("<secret>")
    }
}

/// Which label names are valid (`metric_name_validation_scheme`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ValidationScheme {
    /// Any non-empty valid UTF-8 string (Prometheus 3 default).
    #[default]
    Utf8,
    /// `[a-zA-Z_][a-zA-Z0-9_]*`, as in Prometheus 2.
    Legacy,
}

impl ValidationScheme {
    /// Reports whether `name` is a valid label name under this scheme.
    pub fn is_valid_label_name(self, name: &str) -> bool {
        match self {
            ValidationScheme::Utf8 => !name.is_empty(),
            ValidationScheme::Legacy => is_legacy_label_name(name),
        }
    }
}

/// Reports whether `name` matches `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn is_legacy_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

pub(crate) fn is_false(b: &bool) -> bool {
    !*b
}

pub(crate) fn is_zero_duration(d: &Duration) -> bool {
    d.0 == 0
}

pub(crate) fn is_zero_u64(v: &u64) -> bool {
    *v == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_prints() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "<secret>");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"<secret>\"");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn byte_size_prints_largest_exact_unit() {
        let p = |v| serde_json::to_string(&ByteSize(v)).unwrap();
        assert_eq!(p(1 << 30), "\"1GiB\"");
        assert_eq!(p(1536), "\"1536B\"");
        assert_eq!(p(10 << 20), "\"10MiB\"");
    }

    #[test]
    fn legacy_label_names() {
        assert!(is_legacy_label_name("_a1"));
        assert!(!is_legacy_label_name("1a"));
        assert!(!is_legacy_label_name("a-b"));
        assert!(ValidationScheme::Utf8.is_valid_label_name("a-b"));
        assert!(!ValidationScheme::Utf8.is_valid_label_name(""));
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn byte_size_prints_what_parses_back(v in 0u64..(1u64 << 50), shift in 0u32..4) {
            let v = v << (shift * 10);
            let printed = serde_json::to_value(ByteSize(v)).unwrap();
            let back = promlite_model::parse_bytes(printed.as_str().unwrap()).unwrap();
            prop_assert_eq!(back, v);
        }

        #[test]
        fn duration_prints_what_parses_back(ms in 0i64..(100 * 365 * 86_400_000)) {
            let printed = serde_json::to_value(Duration(ms)).unwrap();
            let back: Duration = serde_json::from_value(printed).unwrap();
            prop_assert_eq!(back, Duration(ms));
        }
    }
}
