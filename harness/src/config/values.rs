//! Scalar values with their own syntax — durations, regex patterns, templates — validated while
//! deserializing, so serde_yaml reports a bad one at its own line and column.

use std::fmt;
use std::time::Duration;

use serde::de::{Deserialize, Deserializer};

use super::de::parsed_str;

/// A duration written `500ms`, `2s`, `1.5s` or `3m`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Span(pub Duration);

pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (number, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60.0)
    } else {
        return Err(format!("expected a duration like 2s or 500ms, found {text:?}"));
    };
    let value: f64 =
        number.trim().parse().map_err(|_| format!("expected a duration like 2s or 500ms, found {text:?}"))?;
    if !value.is_finite() || value < 0.0 || value * scale > 86_400.0 {
        return Err(format!("duration {text:?} must be between 0 and 24h"));
    }
    Ok(Duration::from_secs_f64(value * scale))
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        parsed_str(d, "a duration like 2s or 500ms", |t| parse_duration(t).map(Span))
    }
}

/// A regular expression, compiled when the file is read.
#[derive(Clone, Debug)]
pub struct Pattern(regex::Regex);

impl Pattern {
    pub fn new(source: &str) -> Result<Pattern, String> {
        regex::Regex::new(source)
            .map(Pattern)
            .map_err(|e| format!("invalid regular expression {source:?}: {}", regex_error(&e)))
    }
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
    pub fn regex(&self) -> &regex::Regex {
        &self.0
    }
}

/// The regex crate's message without its multi-line drawing of the pattern, which would break the
/// one-line `file:line:column: message` form; the pattern is quoted in the message already.
fn regex_error(e: &regex::Error) -> String {
    let text = e.to_string();
    let last = text.lines().last().unwrap_or_default();
    last.strip_prefix("error: ").unwrap_or(last).to_string()
}

impl<'de> Deserialize<'de> for Pattern {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        parsed_str(d, "a regular expression", Pattern::new)
    }
}

/// The placeholder namespaces a template may use, and the bare names.
const NAMESPACES: &[&str] = &["arg", "secret", "ready", "port", "chunk"];
const BARE: &[&str] = &["hilt", "state_dir", "instance"];

#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Text(String),
    Placeholder(String),
}

/// A string with `{placeholder}`s; `{{` and `}}` are literal braces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    raw: String,
    pieces: Vec<Piece>,
}

impl Template {
    pub fn parse(raw: &str) -> Result<Template, String> {
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut chars = raw.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    text.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    text.push('}');
                }
                '{' => {
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some(c) => name.push(c),
                            None => {
                                return Err(format!(
                                    "unclosed '{{' in {raw:?}; expected a placeholder like {{arg.NAME}} \
                                     (write '{{{{' for a literal brace)"
                                ))
                            }
                        }
                    }
                    check_placeholder(&name, raw)?;
                    if !text.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut text)));
                    }
                    pieces.push(Piece::Placeholder(name));
                }
                '}' => return Err(format!("unmatched '}}' in {raw:?} (write '}}}}' for a literal brace)")),
                c => text.push(c),
            }
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        Ok(Template { raw: raw.to_string(), pieces })
    }

    pub fn raw(&self) -> &str {
        &self.raw
    }

    pub fn placeholders(&self) -> impl Iterator<Item = &str> {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Placeholder(n) => Some(n.as_str()),
            Piece::Text(_) => None,
        })
    }

    /// Fills in every placeholder; the error is the first name `lookup` has no value for.
    pub fn render(&self, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
        let mut out = String::new();
        for p in &self.pieces {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Placeholder(n) => out.push_str(&lookup(n).ok_or_else(|| n.clone())?),
            }
        }
        Ok(out)
    }
}

fn check_placeholder(name: &str, raw: &str) -> Result<(), String> {
    if BARE.contains(&name) {
        return Ok(());
    }
    match name.split_once('.') {
        Some((ns, key)) if NAMESPACES.contains(&ns) && !key.is_empty() => Ok(()),
        _ => Err(format!(
            "unknown placeholder {{{name}}} in {raw:?}; expected {{hilt}}, {{state_dir}}, {{instance}} or {{arg.NAME}}, {{secret.NAME}}, {{ready.NAME}}, {{port.NAME}} ({{chunk.hex}}, {{chunk.offset}} in a send-file line)"
        )),
    }
}

impl<'de> Deserialize<'de> for Template {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        parsed_str(d, "a text with optional {placeholders}", Template::parse)
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// A TCP port: a literal port number or a template (e.g. `{ready.mgmt_port}`) filled in at run time.
pub fn port_template<'de, D: Deserializer<'de>>(d: D) -> Result<Template, D::Error> {
    parsed_str(d, "a port number or a template like \"{ready.port}\"", |text| {
        let t = Template::parse(text)?;
        let literal_ok = || text.parse::<u16>().is_ok_and(|p| p > 0);
        if t.placeholders().next().is_none() && !literal_ok() {
            return Err(format!(
                "expected a port number (1-65535) or a template like \"{{ready.port}}\", found {text:?}"
            ));
        }
        Ok(t)
    })
}

/// A secret's value: `${VAR}` or `${VAR:-default}` from the environment, or literal text.
pub fn resolve_secret(raw: &str) -> Result<String, String> {
    let Some(inner) = raw.strip_prefix("${").and_then(|r| r.strip_suffix('}')) else {
        return Ok(raw.to_string());
    };
    let (var, default) = match inner.split_once(":-") {
        Some((v, d)) => (v, Some(d)),
        None => (inner, None),
    };
    match (std::env::var(var), default) {
        (Ok(v), _) if !v.is_empty() => Ok(v),
        (_, Some(d)) => Ok(d.to_string()),
        _ => Err(format!(
            "environment variable {var} is not set (write \"${{{var}:-default}}\" to give a default)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("3m").unwrap(), Duration::from_secs(180));
        assert!(parse_duration("5").unwrap_err().contains("like 2s"));
        assert!(parse_duration("-1s").is_err());
    }

    #[test]
    fn templates() {
        let t = Template::parse("login {secret.pw} {{x}}\n").unwrap();
        assert_eq!(t.render(&|n| (n == "secret.pw").then(|| "p".into())).unwrap(), "login p {x}\n");
        assert_eq!(t.render(&|_| None).unwrap_err(), "secret.pw");
        assert!(Template::parse("{nope.x}").unwrap_err().contains("unknown placeholder"));
        assert!(Template::parse("a } b").is_err());
    }

    #[test]
    fn secrets() {
        assert_eq!(resolve_secret("${HILT_TEST_SURELY_UNSET:-dflt}").unwrap(), "dflt");
        assert!(resolve_secret("${HILT_TEST_SURELY_UNSET}").unwrap_err().contains("HILT_TEST_SURELY_UNSET"));
        assert_eq!(resolve_secret("plain").unwrap(), "plain");
    }
}
