//! Values as Terraform's console prints them (`cairn console`, the expression corpus, and
//! `show`'s state view): HCL-like, multi-line collections, heredocs for multi-line strings,
//! Go's quoting.

use crate::lang::value::{Unknown, Value};

/// One value as Terraform's console prints it (internal/repl/format.go, `FormatValue`),
/// indented by `indent` spaces after its first line: a secret is `(sensitive)`.
pub fn format_value(v: &Value, indent: usize) -> String {
    format_value_as(v, indent, "(sensitive)")
}

/// [`format_value`] with another word for secrets: `show`'s state view says
/// `(sensitive value)`, as Terraform's does.
pub fn format_value_as(v: &Value, indent: usize, sensitive: &str) -> String {
    match v {
        // Unknown before sensitive, as Terraform checks them.
        Value::Unknown(Unknown::Pending) => "(known after apply)".to_string(),
        Value::Sensitive(_) | Value::Unknown(Unknown::Withheld { .. }) => sensitive.to_string(),
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(_) => v.to_string(),
        Value::String(s) => multiline_string(s, indent).unwrap_or_else(|| quote(s)),
        Value::List(xs) => sequence(xs, indent, sensitive),
        Value::Set(xs) => format!("toset({})", sequence(xs, indent, sensitive)),
        Value::Map(m) => {
            if m.is_empty() {
                return "{}".to_string();
            }
            let pad = " ".repeat(indent + 2);
            let mut out = String::from("{");
            for (k, x) in m.iter() {
                out.push_str(&format!("\n{pad}{} = {}", quote(k), format_value_as(x, indent + 2, sensitive)));
            }
            out.push_str(&format!("\n{}}}", " ".repeat(indent)));
            out
        }
    }
}

fn sequence(xs: &[Value], indent: usize, sensitive: &str) -> String {
    if xs.is_empty() {
        return "[]".to_string();
    }
    let pad = " ".repeat(indent + 2);
    let mut out = String::from("[");
    for x in xs {
        out.push_str(&format!("\n{pad}{},", format_value_as(x, indent + 2, sensitive)));
    }
    out.push_str(&format!("\n{}]", " ".repeat(indent)));
    out
}

/// A string of several lines as a heredoc (`<<-` when indented), with a delimiter no line
/// uses.
fn multiline_string(s: &str, indent: usize) -> Option<String> {
    let lines: Vec<&str> = s.split('\n').collect();
    if lines.len() < 2 {
        return None;
    }
    let operator = if indent > 0 { "<<-" } else { "<<" };
    let mut delimiter = String::from("EOT");
    while lines.iter().any(|l| l.trim() == delimiter) {
        delimiter.push('_');
    }
    let pad = " ".repeat(indent);
    let mut out = format!("{operator}{delimiter}");
    for l in &lines {
        out.push_str(&format!("\n{pad}{l}"));
    }
    out.push_str(&format!("\n{pad}{delimiter}"));
    Some(out)
}

/// Go's `strconv.Quote`: printable characters as they are, the rest escaped.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_print_as_terraform_console_prints_them() {
        assert_eq!(format_value(&Value::string("A"), 0), "\"A\"");
        assert_eq!(format_value(&Value::string("say \"hi\"\t\\"), 0), r#""say \"hi\"\t\\""#);
        assert_eq!(format_value(&Value::from(3), 0), "3");
        assert_eq!(format_value(&Value::Bool(false), 0), "false");
        assert_eq!(format_value(&Value::Null, 0), "null");
        assert_eq!(format_value(&Value::List(vec![]), 0), "[]");
        assert_eq!(format_value(&Value::map(Vec::<(String, Value)>::new()), 0), "{}");
        let list = Value::List(vec![Value::string("a"), Value::from(1)]);
        assert_eq!(format_value(&list, 0), "[\n  \"a\",\n  1,\n]");
        let set = Value::set(vec![Value::string("b"), Value::string("a")]);
        assert_eq!(format_value(&set, 0), "toset([\n  \"a\",\n  \"b\",\n])");
        let nested = Value::map([("k", list.clone()), ("s", Value::string("x").sensitive())]);
        assert_eq!(format_value(&nested, 0), "{\n  \"k\" = [\n    \"a\",\n    1,\n  ]\n  \"s\" = (sensitive)\n}");
        assert_eq!(format_value(&Value::string("x").sensitive(), 0), "(sensitive)");
        assert_eq!(format_value(&Value::unknown(), 0), "(known after apply)");
        assert_eq!(format_value_as(&Value::string("x").sensitive(), 0, "(sensitive value)"), "(sensitive value)");
    }

    #[test]
    fn multi_line_strings_are_heredocs_with_a_free_delimiter() {
        assert_eq!(format_value(&Value::string("a\nb\n"), 0), "<<EOT\na\nb\n\nEOT");
        assert_eq!(format_value(&Value::string("EOT\nx"), 0), "<<EOT_\nEOT\nx\nEOT_");
        let in_list = Value::List(vec![Value::string("a\nb")]);
        assert_eq!(format_value(&in_list, 0), "[\n  <<-EOT\n  a\n  b\n  EOT,\n]");
    }
}
