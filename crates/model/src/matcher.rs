//! Label matchers with Prometheus semantics.

use std::fmt;

use regex::Regex;

use crate::{Error, Labels, Result};

/// The four matcher operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatchType {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `=~`
    Regex,
    /// `!~`
    NotRegex,
}

impl MatchType {
    /// The operator as written in PromQL.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchType::Equal => "=",
            MatchType::NotEqual => "!=",
            MatchType::Regex => "=~",
            MatchType::NotRegex => "!~",
        }
    }
}

/// How a regex matcher is evaluated; literal patterns avoid the regex engine.
#[derive(Debug, Clone)]
enum RegexKind {
    /// `.*`: matches everything.
    Any,
    /// `.+`: matches every non-empty value.
    NonEmpty,
    /// A pattern without metacharacters.
    Literal(String),
    /// An alternation of literals, `a|b|c`, sorted for binary search.
    Set(Vec<String>),
    /// Anything else, compiled as `^(?s:pattern)$`.
    Full(Regex),
}

/// A label matcher: `name op "value"`.
///
/// Regular expressions are fully anchored, and `.` also matches a newline,
/// as in Prometheus 3 (`^(?s:pattern)$`). A missing label matches as the
/// empty string.
#[derive(Debug, Clone)]
pub struct Matcher {
    /// The operator.
    pub match_type: MatchType,
    /// The label name.
    pub name: String,
    /// The value or the pattern, as written.
    pub value: String,
    regex: Option<RegexKind>,
}

fn is_literal(p: &str) -> bool {
    !p.chars().any(|c| "\\.+*?()|[]{}^$".contains(c))
}

fn compile(pattern: &str) -> Result<RegexKind> {
    match pattern {
        ".*" => return Ok(RegexKind::Any),
        ".+" => return Ok(RegexKind::NonEmpty),
        _ => {}
    }
    if is_literal(pattern) {
        return Ok(RegexKind::Literal(pattern.to_string()));
    }
    // Compile first so that invalid patterns are always rejected.
    let re = Regex::new(&format!("^(?s:{pattern})$")).map_err(|e| Error::InvalidRegex {
        pattern: pattern.to_string(),
        source: Box::new(e),
    })?;
    let alts: Vec<&str> = pattern.split('|').collect();
    if alts.len() > 1 && alts.iter().all(|a| is_literal(a)) {
        let mut set: Vec<String> = alts.iter().map(|s| s.to_string()).collect();
        set.sort();
        set.dedup();
        return Ok(RegexKind::Set(set));
    }
    Ok(RegexKind::Full(re))
}

impl Matcher {
    /// Builds a matcher; fails when a regex pattern does not compile.
    pub fn new(match_type: MatchType, name: &str, value: &str) -> Result<Matcher> {
        let regex = match match_type {
            MatchType::Regex | MatchType::NotRegex => Some(compile(value)?),
            _ => None,
        };
        Ok(Matcher {
            match_type,
            name: name.to_string(),
            value: value.to_string(),
            regex,
        })
    }

    /// `name="value"`; never fails.
    pub fn equal(name: &str, value: &str) -> Matcher {
        Matcher {
            match_type: MatchType::Equal,
            name: name.to_string(),
            value: value.to_string(),
            regex: None,
        }
    }

    fn regex_matches(&self, v: &str) -> bool {
        match &self.regex {
            Some(RegexKind::Any) => true,
            Some(RegexKind::NonEmpty) => !v.is_empty(),
            Some(RegexKind::Literal(l)) => l == v,
            Some(RegexKind::Set(s)) => s.binary_search_by(|x| x.as_str().cmp(v)).is_ok(),
            Some(RegexKind::Full(re)) => re.is_match(v),
            None => false,
        }
    }

    /// Whether the matcher accepts the label value `v` (`""` for a missing label).
    #[inline]
    pub fn matches(&self, v: &str) -> bool {
        match self.match_type {
            MatchType::Equal => self.value == v,
            MatchType::NotEqual => self.value != v,
            MatchType::Regex => self.regex_matches(v),
            MatchType::NotRegex => !self.regex_matches(v),
        }
    }

    /// Whether the matcher accepts the labels (a missing label counts as `""`).
    pub fn matches_labels(&self, l: &Labels) -> bool {
        self.matches(l.get_or_empty(&self.name))
    }

    /// Whether the matcher accepts the empty string, i.e. series without the label.
    pub fn matches_empty(&self) -> bool {
        self.matches("")
    }

    /// For `=~` matchers over literals or literal alternations, the values
    /// that can match, so an index can look them up directly.
    pub fn set_matches(&self) -> Option<Vec<&str>> {
        match (&self.match_type, &self.regex) {
            (MatchType::Equal, _) => Some(vec![self.value.as_str()]),
            (MatchType::Regex, Some(RegexKind::Literal(l))) => Some(vec![l.as_str()]),
            (MatchType::Regex, Some(RegexKind::Set(s))) => {
                Some(s.iter().map(|x| x.as_str()).collect())
            }
            _ => None,
        }
    }
}

impl PartialEq for Matcher {
    fn eq(&self, o: &Self) -> bool {
        self.match_type == o.match_type && self.name == o.name && self.value == o.value
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{}{:?}",
            self.name,
            self.match_type.as_str(),
            self.value
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(t: MatchType, v: &str) -> Matcher {
        Matcher::new(t, "l", v).unwrap()
    }

    #[test]
    fn regex_is_fully_anchored() {
        let r = m(MatchType::Regex, "foo");
        assert!(r.matches("foo"));
        assert!(!r.matches("foobar"));
        assert!(!r.matches("xfoo"));
        let r = m(MatchType::Regex, "fo+|b.r");
        assert!(r.matches("fooo"));
        assert!(r.matches("bar"));
        assert!(!r.matches("fooo bar"));
    }

    #[test]
    fn dot_matches_newline() {
        assert!(m(MatchType::Regex, "a.b").matches("a\nb"));
        assert!(m(MatchType::Regex, ".*").matches("x\ny"));
    }

    #[test]
    fn literal_alternation_uses_a_set() {
        let r = m(MatchType::Regex, "b|a|c");
        assert_eq!(r.set_matches(), Some(vec!["a", "b", "c"]));
        assert!(r.matches("c"));
        assert!(!r.matches("d"));
        assert!(!r.matches(""));
    }

    #[test]
    fn negative_matchers_and_empty_values() {
        assert!(m(MatchType::NotEqual, "x").matches(""));
        assert!(m(MatchType::NotRegex, "x.*").matches("y"));
        assert!(!m(MatchType::NotRegex, ".*").matches(""));
        assert!(m(MatchType::Regex, ".*").matches_empty());
        assert!(!m(MatchType::Regex, ".+").matches_empty());
        assert!(m(MatchType::Regex, "a|").matches_empty());
    }

    #[test]
    fn invalid_regex_is_an_error_naming_the_pattern() {
        let e = Matcher::new(MatchType::Regex, "l", "a(").unwrap_err();
        assert!(e.to_string().contains("\"a(\""), "{e}");
    }
}
