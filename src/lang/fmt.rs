//! `cairn fmt`: rewrites HCL source into Terraform's canonical layout.
//!
//! This follows `terraform fmt` (hclwrite's formatter) rather than pretty-printing a syntax tree,
//! so that files formatted by either tool are byte-identical. The method is token based:
//! the source is split into lines of tokens; each line gets its indentation from the brackets
//! left open by previous lines, spacing between tokens is decided pairwise, and `=` signs (and
//! trailing comments) are aligned across runs of consecutive single-line attributes. Comments
//! and heredocs are carried over verbatim. Like `terraform fmt`, two value rewrites are applied
//! to block attributes: `"${expr}"` becomes `expr`, and legacy quoted variable types
//! (`type = "string"`) are unquoted.

/// Formats HCL source. Fails (with `line:column: message`) when the input does not parse:
/// formatting a broken file would only move the breakage around.
pub fn format_source(text: &str) -> Result<String, String> {
    let text = text.replace("\r\n", "\n");
    if let Err(e) = hcl_edit::parser::parse_body(&text) {
        let loc = e.location();
        return Err(format!("{}:{}: {}", loc.line(), loc.column(), e.message()));
    }
    let mut lines = split_lines(lex(&text));
    rewrite_attribute_values(&mut lines);
    Ok(render(&lines))
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum K {
    Newline,
    Ident,
    Number,
    OQuote,
    CQuote,
    QuotedLit,
    /// `${` or `${~`
    Interp,
    /// `%{` or `%{~`
    Control,
    /// `}` or `~}` closing an interpolation or directive.
    SeqEnd,
    /// A whole heredoc, from `<<EOF` through its closing marker.
    Heredoc,
    LineComment,
    BlockComment,
    OBrace,
    CBrace,
    OBrack,
    CBrack,
    OParen,
    CParen,
    Equal,
    Comma,
    Dot,
    Ellipsis,
    Colon,
    DoubleColon,
    Question,
    FatArrow,
    Minus,
    Plus,
    Star,
    Slash,
    Percent,
    Bang,
    /// `==`, `!=`, `<`, `<=`, `>`, `>=`
    Compare,
    /// `&&`, `||`
    Logic,
    Other,
}

#[derive(Clone, Debug)]
struct Tok {
    k: K,
    text: String,
}

impl Tok {
    fn new(k: K, text: impl Into<String>) -> Tok {
        Tok { k, text: text.into() }
    }

    fn width(&self) -> usize {
        self.text.chars().count()
    }
}

enum Mode {
    /// Expression tokens; inside a template sequence, `braces` counts object braces so the
    /// sequence's closing `}` can be told apart.
    Normal {
        braces: usize,
        in_template: bool,
    },
    Quoted,
}

fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_ident_continue(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '-'
}

fn lex(src: &str) -> Vec<Tok> {
    let chars: Vec<char> = src.chars().collect();
    let mut toks = Vec::new();
    let mut modes = vec![Mode::Normal { braces: 0, in_template: false }];
    let mut i = 0;
    let at = |i: usize| chars.get(i).copied();
    let slice = |a: usize, b: usize| chars.get(a..b.min(chars.len())).unwrap_or(&[]).iter().collect::<String>();

    while i < chars.len() {
        let c = chars[i];
        match modes.last_mut() {
            Some(Mode::Quoted) => {
                let mut lit = String::new();
                while let Some(c) = at(i) {
                    match c {
                        '"' => {
                            if !lit.is_empty() {
                                toks.push(Tok::new(K::QuotedLit, std::mem::take(&mut lit)));
                            }
                            toks.push(Tok::new(K::CQuote, "\""));
                            modes.pop();
                            i += 1;
                            break;
                        }
                        '\\' => {
                            lit.push(c);
                            if let Some(next) = at(i + 1) {
                                lit.push(next);
                            }
                            i += 2;
                        }
                        '$' | '%' if at(i + 1) == Some(c) && at(i + 2) == Some('{') => {
                            lit.push(c);
                            lit.push(c);
                            lit.push('{');
                            i += 3;
                        }
                        '$' | '%' if at(i + 1) == Some('{') => {
                            if !lit.is_empty() {
                                toks.push(Tok::new(K::QuotedLit, std::mem::take(&mut lit)));
                            }
                            let strip = at(i + 2) == Some('~');
                            let text = format!("{c}{{{}", if strip { "~" } else { "" });
                            toks.push(Tok::new(if c == '$' { K::Interp } else { K::Control }, text));
                            i += if strip { 3 } else { 2 };
                            modes.push(Mode::Normal { braces: 0, in_template: true });
                            break;
                        }
                        '\n' => {
                            // Unterminated string; the parser has already rejected it, so just
                            // get back to expression mode.
                            if !lit.is_empty() {
                                toks.push(Tok::new(K::QuotedLit, std::mem::take(&mut lit)));
                            }
                            modes.pop();
                            break;
                        }
                        _ => {
                            lit.push(c);
                            i += 1;
                        }
                    }
                }
                if at(i).is_none() && !lit.is_empty() {
                    toks.push(Tok::new(K::QuotedLit, lit));
                }
            }
            Some(Mode::Normal { braces, in_template }) => {
                let two = slice(i, i + 2);
                match c {
                    ' ' | '\t' | '\r' => i += 1,
                    '\n' => {
                        toks.push(Tok::new(K::Newline, "\n"));
                        i += 1;
                    }
                    '#' => {
                        let end = (i..chars.len()).find(|&j| chars[j] == '\n').unwrap_or(chars.len());
                        toks.push(Tok::new(K::LineComment, slice(i, end).trim_end()));
                        i = end;
                    }
                    '/' if two == "//" => {
                        let end = (i..chars.len()).find(|&j| chars[j] == '\n').unwrap_or(chars.len());
                        toks.push(Tok::new(K::LineComment, slice(i, end).trim_end()));
                        i = end;
                    }
                    '/' if two == "/*" => {
                        let end = (i + 2..chars.len().saturating_sub(1))
                            .find(|&j| chars[j] == '*' && chars[j + 1] == '/')
                            .map(|j| j + 2)
                            .unwrap_or(chars.len());
                        toks.push(Tok::new(K::BlockComment, slice(i, end)));
                        i = end;
                    }
                    '<' if two == "<<" && heredoc_marker(&chars, i).is_some() => {
                        let end = heredoc_end(&chars, i);
                        toks.push(Tok::new(K::Heredoc, slice(i, end)));
                        i = end;
                    }
                    '"' => {
                        toks.push(Tok::new(K::OQuote, "\""));
                        modes.push(Mode::Quoted);
                        i += 1;
                    }
                    '~' if *in_template && *braces == 0 && at(i + 1) == Some('}') => {
                        toks.push(Tok::new(K::SeqEnd, "~}"));
                        modes.pop();
                        i += 2;
                    }
                    '}' if *in_template && *braces == 0 => {
                        toks.push(Tok::new(K::SeqEnd, "}"));
                        modes.pop();
                        i += 1;
                    }
                    '{' => {
                        *braces += 1;
                        toks.push(Tok::new(K::OBrace, "{"));
                        i += 1;
                    }
                    '}' => {
                        *braces = braces.saturating_sub(1);
                        toks.push(Tok::new(K::CBrace, "}"));
                        i += 1;
                    }
                    c if c.is_ascii_digit() => {
                        let start = i;
                        while at(i).is_some_and(|c| c.is_ascii_digit()) {
                            i += 1;
                        }
                        if at(i) == Some('.') && at(i + 1).is_some_and(|c| c.is_ascii_digit()) {
                            i += 1;
                            while at(i).is_some_and(|c| c.is_ascii_digit()) {
                                i += 1;
                            }
                        }
                        if matches!(at(i), Some('e' | 'E')) {
                            let digits_at = if matches!(at(i + 1), Some('+' | '-')) { i + 2 } else { i + 1 };
                            if at(digits_at).is_some_and(|c| c.is_ascii_digit()) {
                                i = digits_at;
                                while at(i).is_some_and(|c| c.is_ascii_digit()) {
                                    i += 1;
                                }
                            }
                        }
                        toks.push(Tok::new(K::Number, slice(start, i)));
                    }
                    c if is_ident_start(c) => {
                        let start = i;
                        while at(i).is_some_and(is_ident_continue) {
                            i += 1;
                        }
                        toks.push(Tok::new(K::Ident, slice(start, i)));
                    }
                    _ => {
                        let three = slice(i, i + 3);
                        let (k, len) = if three == "..." {
                            (K::Ellipsis, 3)
                        } else {
                            match two.as_str() {
                                "==" | "!=" | "<=" | ">=" => (K::Compare, 2),
                                "&&" | "||" => (K::Logic, 2),
                                "=>" => (K::FatArrow, 2),
                                "::" => (K::DoubleColon, 2),
                                _ => match c {
                                    '=' => (K::Equal, 1),
                                    ',' => (K::Comma, 1),
                                    '.' => (K::Dot, 1),
                                    ':' => (K::Colon, 1),
                                    '?' => (K::Question, 1),
                                    '!' => (K::Bang, 1),
                                    '-' => (K::Minus, 1),
                                    '+' => (K::Plus, 1),
                                    '*' => (K::Star, 1),
                                    '/' => (K::Slash, 1),
                                    '%' => (K::Percent, 1),
                                    '<' | '>' => (K::Compare, 1),
                                    '[' => (K::OBrack, 1),
                                    ']' => (K::CBrack, 1),
                                    '(' => (K::OParen, 1),
                                    ')' => (K::CParen, 1),
                                    _ => (K::Other, 1),
                                },
                            }
                        };
                        toks.push(Tok::new(k, slice(i, i + len)));
                        i += len;
                    }
                }
            }
            None => break,
        }
    }
    toks
}

/// The marker of a heredoc starting at `i` (`<<EOF` or `<<-EOF` followed by a newline).
fn heredoc_marker(chars: &[char], i: usize) -> Option<String> {
    let mut j = i + 2;
    if chars.get(j) == Some(&'-') {
        j += 1;
    }
    let start = j;
    if !chars.get(j).copied().is_some_and(is_ident_start) {
        return None;
    }
    while chars.get(j).copied().is_some_and(is_ident_continue) {
        j += 1;
    }
    let marker: String = chars.get(start..j)?.iter().collect();
    let mut k = j;
    while chars.get(k) == Some(&'\r') {
        k += 1;
    }
    (chars.get(k) == Some(&'\n')).then_some(marker)
}

/// Index just past the closing marker line's content (before its newline).
fn heredoc_end(chars: &[char], i: usize) -> usize {
    let Some(marker) = heredoc_marker(chars, i) else { return chars.len() };
    let mut line_start = match (i..chars.len()).find(|&j| chars[j] == '\n') {
        Some(nl) => nl + 1,
        None => return chars.len(),
    };
    while line_start < chars.len() {
        let line_end = (line_start..chars.len()).find(|&j| chars[j] == '\n').unwrap_or(chars.len());
        let line: String = chars.get(line_start..line_end).unwrap_or(&[]).iter().collect();
        if line.trim() == marker {
            return line_end;
        }
        line_start = line_end + 1;
    }
    chars.len()
}

/// One source line split into hclwrite's three cells: what precedes the `=` (with the
/// indentation), the `=` and the value, and a trailing line comment.
#[derive(Default, Debug)]
struct Line {
    lead: Vec<Tok>,
    assign: Vec<Tok>,
    comment: Option<Tok>,
}

fn bracket_change(t: &Tok) -> i32 {
    match t.k {
        K::OBrace | K::OBrack | K::OParen | K::Interp | K::Control => 1,
        K::CBrace | K::CBrack | K::CParen | K::SeqEnd => -1,
        _ => 0,
    }
}

fn split_lines(toks: Vec<Tok>) -> Vec<Line> {
    let mut lines = Vec::new();
    let mut current = Vec::new();
    for tok in toks {
        if tok.k == K::Newline {
            lines.push(std::mem::take(&mut current));
        } else {
            current.push(tok);
        }
    }
    lines.push(current);

    lines
        .into_iter()
        .map(|mut lead| {
            let mut line = Line::default();
            if lead.len() > 1 && lead.last().is_some_and(|t| t.k == K::LineComment) {
                line.comment = lead.pop();
            }
            // Only a complete single-line value joins an alignment group; `x = {` opening a
            // multi-line value does not.
            if let Some(eq) = lead.iter().skip(1).position(|t| t.k == K::Equal).map(|p| p + 1) {
                let net: i32 = lead[eq..].iter().map(bracket_change).sum();
                if net == 0 {
                    line.assign = lead.split_off(eq);
                }
            }
            line.lead = lead;
            line
        })
        .collect()
}

#[derive(Clone, PartialEq)]
enum Nest {
    Block(String),
    Expr,
}

/// Terraform fmt's value rewrites for block attributes (not object-constructor items):
/// `"${x}"` → `x`, and in top-level `variable` blocks, `type = "string"` → `type = string`.
fn rewrite_attribute_values(lines: &mut [Line]) {
    let mut stack: Vec<Nest> = Vec::new();
    for line in lines.iter_mut() {
        let in_body = matches!(stack.last(), None | Some(Nest::Block(_)));
        if in_body && line.lead.len() == 1 && line.lead[0].k == K::Ident && line.assign.len() > 1 {
            let blocks: Vec<&str> = stack
                .iter()
                .filter_map(|n| match n {
                    Nest::Block(name) => Some(name.as_str()),
                    Nest::Expr => None,
                })
                .collect();
            let value = line.assign.split_off(1);
            let value = if blocks == ["variable"] && line.lead[0].text == "type" {
                format_type_expr(value)
            } else {
                format_value_expr(value)
            };
            line.assign.extend(value);
        }

        let mut header = in_body;
        let mut first_ident: Option<String> = None;
        for tok in line.lead.iter().chain(&line.assign) {
            match tok.k {
                K::Ident | K::OQuote | K::QuotedLit | K::CQuote => {
                    if tok.k == K::Ident && first_ident.is_none() {
                        first_ident = Some(tok.text.clone());
                    }
                }
                K::OBrace if header => {
                    stack.push(Nest::Block(first_ident.clone().unwrap_or_default()));
                    header = true;
                    first_ident = None;
                }
                _ => {
                    header = false;
                    match bracket_change(tok) {
                        1 => stack.push(Nest::Expr),
                        -1 => {
                            stack.pop();
                            header = matches!(stack.last(), None | Some(Nest::Block(_)));
                            first_ident = None;
                        }
                        _ => {}
                    }
                }
            }
        }
    }
}

fn format_type_expr(tokens: Vec<Tok>) -> Vec<Tok> {
    let call = |name: &str, elem: &str| {
        vec![Tok::new(K::Ident, name), Tok::new(K::OParen, "("), Tok::new(K::Ident, elem), Tok::new(K::CParen, ")")]
    };
    match tokens.as_slice() {
        [kw] if kw.k == K::Ident && matches!(kw.text.as_str(), "list" | "map" | "set") => call(&kw.text, "any"),
        [o, lit, c] if o.k == K::OQuote && lit.k == K::QuotedLit && c.k == K::CQuote => match lit.text.as_str() {
            "string" => vec![Tok::new(K::Ident, "string")],
            "list" => call("list", "string"),
            "map" => call("map", "string"),
            _ => tokens,
        },
        _ => tokens,
    }
}

fn format_value_expr(tokens: Vec<Tok>) -> Vec<Tok> {
    let n = tokens.len();
    if n < 5
        || tokens[0].k != K::OQuote
        || tokens[1].k != K::Interp
        || tokens[n - 2].k != K::SeqEnd
        || tokens[n - 1].k != K::CQuote
    {
        return tokens;
    }
    let inside = &tokens[2..n - 2];
    let mut quotes = 0;
    for tok in inside {
        match tok.k {
            K::OQuote => quotes += 1,
            K::CQuote => quotes -= 1,
            _ if quotes > 0 => {}
            K::Interp | K::SeqEnd | K::QuotedLit | K::Control => return tokens,
            _ => {}
        }
    }
    inside.to_vec()
}

/// hclwrite's spacing rule: whether one space goes between `subject` and `after`.
fn space_between(before: Option<&Tok>, subject: &Tok, after: &Tok) -> bool {
    use K::*;
    let before_k = before.map(|t| t.k);
    match (subject.k, after.k) {
        (Ident, OParen) => false,
        (Ident, DoubleColon) | (DoubleColon, Ident) => false,
        (Dot, _) | (_, Dot) => false,
        (_, Comma) | (_, Ellipsis) => false,
        (Comma, _) => true,
        (QuotedLit | OQuote, _) | (_, QuotedLit | CQuote) => false,
        (Ident, _) if subject.text == "in" && before_k == Some(Ident) => true,
        (Ident | Number, OBrack) => false,
        (s, OBrack) if bracket_change(&Tok::new(s, "")) < 0 => false,
        (Minus, _) => !matches!(
            before_k,
            None | Some(
                OParen
                    | OBrace
                    | OBrack
                    | Equal
                    | Colon
                    | Comma
                    | Question
                    | Plus
                    | Star
                    | Slash
                    | Percent
                    | Minus
                    | Compare
                    | Logic
                    | Bang
                    | Interp
                    | Control
                    | FatArrow
            )
        ),
        (Bang, _) => false,
        (OBrace, CBrace) => false,
        (OBrace, _) | (_, CBrace) => true,
        (Interp | Control, OBrace) => true,
        (CBrace, SeqEnd) => true,
        (SeqEnd, Interp | Control) => false,
        _ if bracket_change(subject) > 0 => false,
        _ if bracket_change(after) < 0 => false,
        _ => true,
    }
}

/// Spaces before each token of a cell, the first token's from `first`.
fn cell_spaces(cell: &[Tok], first: usize) -> Vec<usize> {
    (0..cell.len())
        .map(|i| {
            if i == 0 {
                first
            } else {
                let before = if i >= 2 { cell.get(i - 2) } else { None };
                usize::from(space_between(before, &cell[i - 1], &cell[i]))
            }
        })
        .collect()
}

fn columns(cell: &[Tok], spaces: &[usize]) -> usize {
    cell.iter().map(Tok::width).sum::<usize>() + spaces.iter().sum::<usize>()
}

/// Indentation per line: each line that leaves brackets open indents the following lines one
/// level; closing them dedents back, tolerating unbalanced lines as hclwrite does.
fn indents(lines: &[Line]) -> Vec<usize> {
    let mut stack: Vec<i32> = Vec::new();
    lines
        .iter()
        .map(|line| {
            if line.lead.is_empty() {
                return 0;
            }
            let net: i32 = line.lead.iter().chain(&line.assign).map(bracket_change).sum();
            if net > 0 {
                let indent = 2 * stack.len();
                stack.push(net);
                return indent;
            }
            let mut closed = -net;
            while closed > 0 {
                let Some(top) = stack.last_mut() else { break };
                if closed >= *top {
                    closed -= *top;
                    stack.pop();
                } else {
                    *top -= closed;
                    closed = 0;
                }
            }
            2 * stack.len()
        })
        .collect()
}

fn render(lines: &[Line]) -> String {
    let indent = indents(lines);
    let lead_spaces: Vec<Vec<usize>> = lines.iter().zip(&indent).map(|(l, i)| cell_spaces(&l.lead, *i)).collect();
    let mut assign_spaces: Vec<Vec<usize>> = lines.iter().map(|l| cell_spaces(&l.assign, 1)).collect();

    // Align `=` across each run of consecutive lines that have a single-line assignment.
    let mut i = 0;
    while i < lines.len() {
        if lines[i].assign.is_empty() {
            i += 1;
            continue;
        }
        let start = i;
        while i < lines.len() && !lines[i].assign.is_empty() {
            i += 1;
        }
        let widest = (start..i).map(|j| columns(&lines[j].lead, &lead_spaces[j])).max().unwrap_or(0);
        for j in start..i {
            let cols = columns(&lines[j].lead, &lead_spaces[j]);
            if let Some(first) = assign_spaces[j].first_mut() {
                *first = widest - cols + 1;
            }
        }
    }

    // Then align trailing comments across runs of lines that have one.
    let mut comment_spaces = vec![1usize; lines.len()];
    let mut i = 0;
    while i < lines.len() {
        if lines[i].comment.is_none() {
            i += 1;
            continue;
        }
        let start = i;
        while i < lines.len() && lines[i].comment.is_some() {
            i += 1;
        }
        let width = |j: usize| columns(&lines[j].lead, &lead_spaces[j]) + columns(&lines[j].assign, &assign_spaces[j]);
        let widest = (start..i).map(width).max().unwrap_or(0);
        for (j, spaces) in comment_spaces.iter_mut().enumerate().take(i).skip(start) {
            *spaces = widest - width(j) + 1;
        }
    }

    let mut out = String::new();
    for (j, line) in lines.iter().enumerate() {
        let mut text = String::new();
        for (tok, spaces) in line.lead.iter().zip(&lead_spaces[j]).chain(line.assign.iter().zip(&assign_spaces[j])) {
            text.push_str(&" ".repeat(*spaces));
            text.push_str(&tok.text);
        }
        if let Some(comment) = &line.comment {
            text.push_str(&" ".repeat(comment_spaces[j]));
            text.push_str(&comment.text);
        }
        out.push_str(&text);
        out.push('\n');
    }
    let trimmed = out.trim_end_matches('\n');
    if trimmed.is_empty() {
        String::new()
    } else {
        format!("{trimmed}\n")
    }
}

/// A string as an HCL quoted literal: quotes, backslashes and control characters escaped, and
/// `${`/`%{` doubled so no template sequence is read into it (plan rendering, generated
/// configuration).
pub fn hcl_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' | '%' if chars.peek() == Some(&'{') => {
                out.push(c);
                out.push(c);
            }
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

    fn fmt(src: &str) -> String {
        match format_source(src) {
            Ok(out) => {
                assert_eq!(format_source(&out).as_deref(), Ok(out.as_str()), "not idempotent for:\n{src}");
                out
            }
            Err(e) => panic!("format failed: {e}\n{src}"),
        }
    }

    #[test]
    fn aligns_equals_in_consecutive_attributes() {
        let src = "resource \"google_compute_instance\" \"web\" {\nname = \"web\"\nmachine_type=\"e2-small\"\n\nzone    =   \"us-central1-a\"\n}\n";
        assert_eq!(
            fmt(src),
            "resource \"google_compute_instance\" \"web\" {\n  name         = \"web\"\n  machine_type = \"e2-small\"\n\n  zone = \"us-central1-a\"\n}\n"
        );
    }

    #[test]
    fn multi_line_values_break_alignment_and_reindent() {
        let src =
            "locals {\na = 1\ntags = {\n      env = \"dev\"\n   owner=\"me\"\n}\nlong_name = [\n\"x\",\n\"y\",\n]\n}\n";
        assert_eq!(
            fmt(src),
            "locals {\n  a = 1\n  tags = {\n    env   = \"dev\"\n    owner = \"me\"\n  }\n  long_name = [\n    \"x\",\n    \"y\",\n  ]\n}\n"
        );
    }

    #[test]
    fn spacing_inside_expressions() {
        assert_eq!(fmt("a = [1,2,  3]\n"), "a = [1, 2, 3]\n");
        assert_eq!(fmt("a = {x=1}\n"), "a = { x = 1 }\n");
        assert_eq!(fmt("a = foo( 1 , -2 )\n"), "a = foo(1, -2)\n");
        assert_eq!(fmt("a = var.x[0].y\n"), "a = var.x[0].y\n");
        assert_eq!(fmt("a = b -1\n"), "a = b - 1\n");
        // Dashes belong to identifiers in HCL.
        assert_eq!(fmt("a = b-1\n"), "a = b-1\n");
        assert_eq!(fmt("a = !var.enabled ? 1 : -1\n"), "a = !var.enabled ? 1 : -1\n");
        assert_eq!(fmt("a = [for s in var.list: upper(s)]\n"), "a = [for s in var.list : upper(s)]\n");
        assert_eq!(fmt("a = {for k,v in var.m: k=>v}\n"), "a = { for k, v in var.m : k => v }\n");
        assert_eq!(fmt("a = aws_instance.x[*].id\n"), "a = aws_instance.x[*].id\n");
        assert_eq!(fmt("a = concat(var.x...)\n"), "a = concat(var.x...)\n");
        assert_eq!(fmt("a = \"pre-${ var.x }-post\"\n"), "a = \"pre-${var.x}-post\"\n");
        assert_eq!(fmt("a = \"%{ if var.x }yes%{ endif }\"\n"), "a = \"%{if var.x}yes%{endif}\"\n");
        assert_eq!(fmt("a = {}\nb {}\n"), "a = {}\nb {}\n");
        assert_eq!(fmt("a = 1.5e3\n"), "a = 1.5e3\n");
        assert_eq!(fmt("a = x==y&&z!=w\n"), "a = x == y && z != w\n");
    }

    #[test]
    fn comments_are_kept_and_trailing_ones_aligned() {
        let src =
            "# top\nlocals {\n  // note\n  a = 1 # one\n  bbb = 2   # two\n  /* block\n     stays */\n  c = 3\n}\n";
        assert_eq!(
            fmt(src),
            "# top\nlocals {\n  // note\n  a   = 1 # one\n  bbb = 2 # two\n  /* block\n     stays */\n  c = 3\n}\n"
        );
    }

    #[test]
    fn heredocs_are_verbatim() {
        let src = "locals {\n    script = <<-EOT\n   echo  hi   \n      indented\n    EOT\n  other=1\n}\n";
        assert_eq!(fmt(src), "locals {\n  script = <<-EOT\n   echo  hi   \n      indented\n    EOT\n  other  = 1\n}\n");
    }

    #[test]
    fn interpolation_only_strings_are_unwrapped_in_attributes() {
        assert_eq!(fmt("a = \"${var.x}\"\n"), "a = var.x\n");
        assert_eq!(fmt("a = \"${var.x}-${var.y}\"\n"), "a = \"${var.x}-${var.y}\"\n");
        assert_eq!(fmt("a = \"x${var.x}\"\n"), "a = \"x${var.x}\"\n");
        // Object items are expressions, not attributes: terraform fmt leaves them.
        assert_eq!(fmt("a = {\n  b = \"${var.x}\"\n}\n"), "a = {\n  b = \"${var.x}\"\n}\n");
    }

    #[test]
    fn legacy_variable_types_are_unquoted() {
        assert_eq!(fmt("variable \"x\" {\n  type = \"string\"\n}\n"), "variable \"x\" {\n  type = string\n}\n");
        assert_eq!(fmt("variable \"x\" {\n  type = \"list\"\n}\n"), "variable \"x\" {\n  type = list(string)\n}\n");
        assert_eq!(fmt("variable \"x\" {\n  type = map\n}\n"), "variable \"x\" {\n  type = map(any)\n}\n");
        assert_eq!(fmt("output \"x\" {\n  type = \"string\"\n}\n"), "output \"x\" {\n  type = \"string\"\n}\n");
    }

    #[test]
    fn whitespace_normalization() {
        assert_eq!(fmt("a = 1   \r\nb = 2"), "a = 1\nb = 2\n");
        assert_eq!(fmt("a = 1\n\n\n"), "a = 1\n");
        assert_eq!(fmt("a = 1\n\n\nb = 2\n"), "a = 1\n\n\nb = 2\n");
        assert_eq!(fmt(""), "");
        assert_eq!(fmt("\tlocals {\n\t\ta = 1\n\t}\n"), "locals {\n  a = 1\n}\n");
    }

    #[test]
    fn parse_errors_are_reported_with_position() {
        let e = format_source("locals {\n  a = \n}\n").unwrap_err();
        assert!(e.starts_with("3:") || e.starts_with("2:"), "{e}");
        assert!(format_source("a = [1, 2\n").is_err());
    }

    const SAMPLE: &str = r#"terraform {
required_providers {
google = {
source = "hashicorp/google"
version = "~> 5.0"
}
}
}

variable "region" {
  type = string
  default = "us-central1"   # where things go
  description = "The region"
}

resource "google_compute_network" "vpc" {
name                    = "vpc"
  auto_create_subnetworks=false
}

resource "google_compute_subnetwork" "subnet" {
  count = length(var.cidrs)
  name = "subnet-${count.index}"
  ip_cidr_range = cidrsubnet( "10.0.0.0/16" , 8 , count.index )
  network = google_compute_network.vpc.id
  secondary_ip_range {
    range_name = "pods"
    ip_cidr_range = "10.1.0.0/16"
  }
  labels = merge(var.labels, {
    tier = "net"
  })
}

output "ids" {
  value = [for s in google_compute_subnetwork.subnet: s.id]
}
"#;

    #[test]
    fn snapshot_sample_configuration() {
        insta::assert_snapshot!(fmt(SAMPLE));
    }

    #[test]
    fn snapshot_nested_collections() {
        let src = "locals {\n  rules = [\n  {\n  port = 80\n  protocol=\"tcp\"\n  },\n  {\n  port = 443\n  protocol=\"tcp\" # tls\n  },\n  ]\n  matrix = [[1,2],\n  [3,4]]\n  }\n";
        insta::assert_snapshot!(fmt(src));
    }

    #[test]
    fn formatting_is_idempotent_on_varied_inputs() {
        for src in [
            SAMPLE,
            "a = <<EOF\nx\nEOF\n",
            "x = [{\n a = 1\n }, {\n a = 2\n}]\n",
            "locals {\n  x = (\n    1 +\n    2\n  )\n}\n",
            "a = {\n  \"quoted key\" = 1\n  b            = 2\n}\n",
            "a = var.x ? {\n  y = 1\n} : null\n",
        ] {
            let _ = fmt(src);
        }
    }
}
