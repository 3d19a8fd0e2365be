//! The expression corpus (issue 17, "Done when" 1): `tests/expressions/corpus.txt` holds
//! Terraform expressions with the value `terraform console` prints for each, or the error it
//! reports, and the source of every edge case (a developer.hashicorp.com page or a test in
//! hashicorp/terraform or zclconf/go-cty). This test evaluates them all through the real
//! evaluator and reports every mismatch at once.
//!
//! Format: entries are separated by blank lines. `#` lines are comments (the source);
//! `# needs: WHAT` marks an entry that waits for a feature another change brings (it is
//! skipped and counted). The expression's lines come next, then either `=> ` and the console
//! rendering (continuing over the following lines; a line holding only `~` stands for an empty
//! line) or `=! ` and text the error message must contain.
//!
//! Cairn's values carry no static type, so lists and tuples, and maps and objects, print
//! alike: an expected `tolist([...])` or `tomap({...})` is compared without its wrapper.

use std::collections::BTreeMap;
use std::path::Path;

use crate::lang::config::Expr;
use crate::lang::diag::{Diagnostic, SourceMap, Span};
use crate::lang::eval::{eval, EvalCtx, Resolver};
use crate::lang::functions::Clock;
use crate::lang::refs::RefRoot;
use crate::lang::value::Value;

const CORPUS: &str = include_str!("../../../tests/expressions/corpus.txt");

enum Expect {
    Rendered(String),
    ErrorContaining(String),
}

struct Entry {
    line: usize,
    needs: Option<String>,
    expr: String,
    expect: Expect,
}

fn parse_corpus(text: &str) -> Result<Vec<Entry>, String> {
    let mut entries = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim().is_empty() {
            i += 1;
            continue;
        }
        let start = i;
        let mut needs = None;
        let mut expr = Vec::new();
        let mut expect = None;
        while i < lines.len() && !lines[i].trim().is_empty() {
            let line = lines[i];
            if expect.is_none() && line.starts_with('#') {
                if let Some(what) = line.strip_prefix("# needs:") {
                    needs = Some(what.trim().to_string());
                }
            } else if let Some(rest) = line.strip_prefix("=> ") {
                let mut out = vec![rest.to_string()];
                while i + 1 < lines.len() && !lines[i + 1].trim().is_empty() {
                    i += 1;
                    out.push(if lines[i] == "~" { String::new() } else { lines[i].to_string() });
                }
                expect = Some(Expect::Rendered(out.join("\n")));
            } else if let Some(rest) = line.strip_prefix("=! ") {
                expect = Some(Expect::ErrorContaining(rest.to_string()));
            } else if expect.is_none() {
                expr.push(line);
            } else {
                return Err(format!("line {}: text after the expected result", i + 1));
            }
            i += 1;
        }
        if expr.is_empty() && expect.is_none() {
            continue; // A block of comments only.
        }
        let expect = expect.ok_or_else(|| format!("line {}: entry without `=> ` or `=! `", start + 1))?;
        if expr.is_empty() {
            return Err(format!("line {}: entry without an expression", start + 1));
        }
        entries.push(Entry { line: start + 1, needs, expr: expr.join("\n"), expect });
    }
    Ok(entries)
}

/// Terraform's console rendering: the console's own (internal/repl/format.go, FormatValue).
fn render(v: &Value, indent: usize) -> String {
    crate::lang::console_format::format_value(v, indent)
}

/// The expected text without `tolist(`/`tomap(` wrappers (see the module comment).
fn without_type_wrappers(text: &str) -> String {
    let mut out = text.to_string();
    for wrapper in ["tolist(", "tomap("] {
        while let Some(at) = out.find(wrapper) {
            let inner_start = at + wrapper.len();
            let Some(close) = matching_close(&out, inner_start) else { break };
            out = format!("{}{}{}", &out[..at], &out[inner_start..close], &out[close + 1..]);
        }
    }
    out
}

/// The index of the `)` closing a wrapper whose content starts at `from`.
fn matching_close(text: &str, from: usize) -> Option<usize> {
    let mut depth = 0i32;
    let mut in_string = false;
    let mut escaped = false;
    for (i, ch) in text[from..].char_indices() {
        if in_string {
            match (escaped, ch) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match ch {
            '"' => in_string = true,
            '[' | '{' | '(' => depth += 1,
            ']' | '}' => depth -= 1,
            ')' if depth == 0 => return Some(from + i),
            ')' => depth -= 1,
            _ => {}
        }
    }
    None
}

/// The names the corpus refers to: a template held in a local (for `templatestring`), a
/// secret, and a value not known yet.
struct CorpusRefs(BTreeMap<String, Value>);

impl Resolver for CorpusRefs {
    fn resolve(&self, root: &RefRoot, span: Span) -> Result<Value, Diagnostic> {
        self.0
            .get(&root.to_string())
            .cloned()
            .ok_or_else(|| Diagnostic::error(format!("Reference to undeclared {root}")).at(span))
    }

    fn clock(&self) -> Clock {
        let plan_time = chrono::DateTime::parse_from_rfc3339("2024-01-02T03:04:05Z").expect("a time").to_utc();
        Clock::applying(Some(plan_time))
    }
}

fn corpus_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let files = [
        ("hello.txt", "Hello World"),
        ("greeting.tftpl", "Hello, ${name}!"),
        ("list.tftpl", "%{ for addr in ip_addrs ~}\nbackend ${addr}:${port}\n%{ endfor ~}\n"),
        ("files/hello.txt", "1"),
        ("files/world.txt", "2"),
        ("files/hello.tmpl", "3"),
        ("files/sub/nested.txt", "4"),
    ];
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("a directory");
        std::fs::write(path, text).expect("a file");
    }
    dir
}

fn evaluate(src: &str, refs: &CorpusRefs, root: &Path) -> Result<Value, String> {
    let mut sources = SourceMap::new();
    let file = sources.add(Path::new("corpus.tf"), "corpus.tf".into(), src.to_string());
    let parsed = hcl_edit::parser::parse_expr(src).map_err(|e| format!("parse error: {e}"))?;
    let expr = Expr { expr: parsed, span: Span { file, start: 0, end: src.len() } };
    let ctx = EvalCtx {
        resolver: refs,
        count_index: None,
        each: None,
        module_dir: ".".into(),
        root_dir: root,
        sources: &sources,
    };
    eval(&expr, &ctx).map_err(|d| {
        d.0.iter()
            .map(|d| format!("{}: {}", d.summary, d.detail.as_deref().unwrap_or_default()))
            .collect::<Vec<_>>()
            .join("\n")
    })
}

#[test]
fn every_corpus_expression_evaluates_as_terraform_does() {
    let entries = parse_corpus(CORPUS).unwrap_or_else(|e| panic!("tests/expressions/corpus.txt: {e}"));
    let dir = corpus_dir();
    let refs = CorpusRefs(BTreeMap::from([
        ("local.greeting_template".to_string(), Value::string("Hello, ${name}!")),
        ("local.templates".to_string(), Value::map([("hi", Value::string("Hi, ${name}."))])),
        ("local.number".to_string(), Value::from(5)),
        ("var.secret".to_string(), Value::string("hunter2").sensitive()),
        ("var.later".to_string(), Value::unknown()),
    ]));
    let mut mismatches = Vec::new();
    let mut skipped: BTreeMap<String, usize> = BTreeMap::new();
    let mut ran = 0;
    for entry in &entries {
        if let Some(needs) = &entry.needs {
            *skipped.entry(needs.clone()).or_default() += 1;
            continue;
        }
        ran += 1;
        let got = evaluate(&entry.expr, &refs, dir.path());
        let problem = match (&entry.expect, got) {
            (Expect::Rendered(want), Ok(v)) => {
                let got = render(&v, 0);
                (got != without_type_wrappers(want)).then(|| format!("want {want}\n  got  {got}"))
            }
            (Expect::Rendered(want), Err(e)) => Some(format!("want {want}\n  got error {e}")),
            (Expect::ErrorContaining(want), Err(e)) => {
                (!e.contains(want.as_str())).then(|| format!("want an error containing {want:?}\n  got error {e}"))
            }
            (Expect::ErrorContaining(want), Ok(v)) => {
                Some(format!("want an error containing {want:?}\n  got {}", render(&v, 0)))
            }
        };
        if let Some(p) = problem {
            mismatches.push(format!("line {}: {}\n  {p}", entry.line, entry.expr));
        }
    }
    let skipped_total: usize = skipped.values().sum();
    eprintln!("expression corpus: {} entries, {ran} evaluated, {skipped_total} skipped {skipped:?}", entries.len());
    assert!(entries.len() >= 300, "the corpus has {} entries; issue 17 asks for at least 300", entries.len());
    // Every built-in appears in at least one evaluated expression (try and can are the
    // evaluator's own; type is the console's).
    let missing: Vec<&str> = super::names()
        .iter()
        .copied()
        .chain(["try", "can", "templatestring"])
        .filter(|name| !entries.iter().any(|e| e.needs.is_none() && e.expr.contains(&format!("{name}("))))
        .collect();
    assert!(missing.is_empty(), "functions the corpus never calls: {missing:?}");
    assert!(
        mismatches.is_empty(),
        "{} of {ran} corpus entries differ from Terraform:\n\n{}",
        mismatches.len(),
        mismatches.join("\n\n")
    );
}

#[test]
fn the_renderer_is_terraforms() {
    // internal/repl/format_test.go shapes.
    assert_eq!(render(&Value::List(vec![]), 0), "[]");
    assert_eq!(render(&Value::List(vec![Value::from(1), Value::from("a")]), 0), "[\n  1,\n  \"a\",\n]");
    assert_eq!(render(&Value::map([("a", Value::from(true))]), 0), "{\n  \"a\" = true\n}");
    assert_eq!(render(&Value::string("a\nb"), 0), "<<EOT\na\nb\nEOT");
    assert_eq!(render(&Value::List(vec![Value::string("a\nEOT")]), 0), "[\n  <<-EOT_\n  a\n  EOT\n  EOT_,\n]");
    assert_eq!(without_type_wrappers("tolist([tomap({\"a\" = \")\"})])"), "[{\"a\" = \")\"}]");
}
