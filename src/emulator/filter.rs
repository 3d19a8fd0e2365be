//! A small subset of AIP-160 list filters, enough for what tools send in practice:
//! conjunctions (`AND` or juxtaposition) of `field:value` (has: substring, or key presence with
//! `*`) and `field=value` (equality), with dotted field paths into the resource JSON
//! (`labels.env=prod`, `state:ENABLED`) and a bare word matching the name. `OR`, `NOT`,
//! parentheses and comparisons are refused with INVALID_ARGUMENT rather than misread.

use serde_json::Value;

use super::errors::{invalid_argument, ApiError};

#[derive(Debug, Clone, PartialEq)]
enum Op {
    Has,
    Equals,
}

#[derive(Debug, Clone, PartialEq)]
struct Term {
    path: Vec<String>,
    op: Op,
    value: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Filter {
    terms: Vec<Term>,
}

impl Filter {
    pub fn parse(text: &str) -> Result<Filter, ApiError> {
        let mut terms = Vec::new();
        for token in tokens(text) {
            if token == "AND" {
                continue;
            }
            if token == "OR" || token == "NOT" || token.starts_with('(') || token.starts_with('-') {
                return Err(invalid_argument(format!(
                    "Invalid filter \"{text}\": the Cairn emulator supports only conjunctions of field:value and field=value terms"
                )));
            }
            let (field, op, value) = if let Some((f, v)) = token.split_once('=') {
                (f, Op::Equals, v)
            } else if let Some((f, v)) = token.split_once(':') {
                (f, Op::Has, v)
            } else {
                ("name", Op::Has, token.as_str())
            };
            if field.is_empty() || token.contains(['<', '>', '!']) {
                return Err(invalid_argument(format!("Invalid filter \"{text}\" near \"{token}\"")));
            }
            terms.push(Term {
                path: field.split('.').map(str::to_string).collect(),
                op,
                value: unquote(value).to_string(),
            });
        }
        Ok(Filter { terms })
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    pub fn matches(&self, resource: &Value) -> bool {
        self.terms.iter().all(|t| term_matches(t, resource))
    }
}

/// Splits on whitespace outside double quotes.
fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            c if c.is_whitespace() && !quoted => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn unquote(s: &str) -> &str {
    s.strip_prefix('"').and_then(|s| s.strip_suffix('"')).unwrap_or(s)
}

fn term_matches(term: &Term, resource: &Value) -> bool {
    let mut node = resource;
    for key in &term.path {
        match node.get(key) {
            Some(next) => node = next,
            None => return false,
        }
    }
    let text = match node {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Object(map) if term.op == Op::Has => return term.value == "*" || map.contains_key(&term.value),
        _ => return false,
    };
    match term.op {
        Op::Equals => text == term.value,
        Op::Has => term.value == "*" || text.contains(&term.value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn conjunctions_of_has_and_equals() {
        let secret = json!({"name": "projects/1/secrets/db-password", "labels": {"env": "prod", "team": "core"}});
        let yes = [
            "name:db",
            "labels.env=prod",
            "labels.env:*",
            "labels:team",
            "db-pass",
            "name:db AND labels.team=core",
            "labels.env=\"prod\"",
        ];
        for f in yes {
            assert!(Filter::parse(f).unwrap().matches(&secret), "{f}");
        }
        let no = ["name:api", "labels.env=pro", "labels.owner:*", "labels.env=prod labels.team=ops"];
        for f in no {
            assert!(!Filter::parse(f).unwrap().matches(&secret), "{f}");
        }
    }

    #[test]
    fn unsupported_syntax_is_refused() {
        for f in ["a:b OR c:d", "NOT a:b", "(a:b)", "createTime<2020"] {
            assert!(Filter::parse(f).is_err(), "{f}");
        }
        assert!(Filter::parse("  ").unwrap().is_empty());
    }
}
