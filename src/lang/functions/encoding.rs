//! JSON, base64, URL encoding and hashes.

use std::collections::BTreeMap;

use base64::Engine;
use sha2::Digest;

use super::{Call, FuncError};
use crate::lang::value::Value;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// JSON text as Terraform's `jsonencode` writes it: compact, keys sorted, integers without a
/// fraction, and `<`, `>`, `&`, U+2028, U+2029 escaped (Go's encoder does that, and configs
/// that compare `jsonencode` output with literal strings depend on it).
pub fn json_text(v: &Value) -> String {
    let raw = v.to_json().to_string();
    let mut out = String::with_capacity(raw.len());
    for ch in raw.chars() {
        match ch {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

pub fn jsonencode(c: &Call) -> Result<Value, FuncError> {
    Ok(Value::String(json_text(c.arg(0))))
}

pub fn jsondecode(c: &Call) -> Result<Value, FuncError> {
    let parsed: serde_json::Value =
        serde_json::from_str(c.str(0)).map_err(|e| c.err(0, format!("invalid JSON: {e}")))?;
    Ok(Value::from_json(&parsed))
}

pub fn base64encode(c: &Call) -> Result<Value, FuncError> {
    Ok(Value::String(B64.encode(c.str(0))))
}

pub fn base64decode(c: &Call) -> Result<Value, FuncError> {
    let bytes =
        B64.decode(c.str(0)).map_err(|_| c.fail(format!("failed to decode base64 data {}", c.shown(0, c.str(0)))))?;
    String::from_utf8(bytes)
        .map(Value::String)
        .map_err(|_| c.fail("the result of decoding the provided string is not valid UTF-8"))
}

pub fn base64sha256(c: &Call) -> Result<Value, FuncError> {
    Ok(Value::String(B64.encode(sha2::Sha256::digest(c.str(0).as_bytes()))))
}

pub fn base64sha512(c: &Call) -> Result<Value, FuncError> {
    Ok(Value::String(B64.encode(sha2::Sha512::digest(c.str(0).as_bytes()))))
}

pub fn sha256(c: &Call) -> Result<Value, FuncError> {
    Ok(Value::String(hex::encode(sha2::Sha256::digest(c.str(0).as_bytes()))))
}

pub fn sha512(c: &Call) -> Result<Value, FuncError> {
    Ok(Value::String(hex::encode(sha2::Sha512::digest(c.str(0).as_bytes()))))
}

pub fn sha1(c: &Call) -> Result<Value, FuncError> {
    Ok(Value::String(hex::encode(sha1_digest(c.str(0).as_bytes()))))
}

pub fn md5(c: &Call) -> Result<Value, FuncError> {
    Ok(Value::String(hex::encode(md5_digest(c.str(0).as_bytes()))))
}

/// Go's `url.QueryEscape`: unreserved characters stay, space becomes `+`, the rest is %XX.
pub fn urlencode(c: &Call) -> Result<Value, FuncError> {
    let mut out = String::new();
    for b in c.str(0).bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    Ok(Value::String(out))
}

/// Go's `gzip.NewWriter` then Flush and Close, as Terraform's `base64gzip` does: no file name,
/// modification time zero, operating system "unknown". The deflate stream itself comes from
/// flate2, not Go's compressor, so the bytes can differ from Terraform's while decompressing to
/// the same text (every consumer — cloud-init, a metadata server — decompresses).
pub fn base64gzip(c: &Call) -> Result<Value, FuncError> {
    use std::io::Write;
    let mut gz = flate2::GzBuilder::new().operating_system(255).write(Vec::new(), flate2::Compression::default());
    gz.write_all(c.str(0).as_bytes())
        .and_then(|_| gz.flush())
        .map_err(|e| c.fail(format!("failed to write gzip raw data: {e}")))?;
    let bytes = gz.finish().map_err(|e| c.fail(format!("failed to close gzip writer: {e}")))?;
    Ok(Value::String(B64.encode(bytes)))
}

/// An encoding named as Terraform's `textencodebase64` accepts it (IANA names and aliases,
/// case-insensitively). UTF-16 and the single-byte ISO/ASCII names are handled here because
/// the WHATWG tables behind `encoding_rs` either cannot encode them (UTF-16) or map them to
/// windows-1252 (ISO-8859-1, US-ASCII), which is not what IANA names.
enum TextEncoding {
    Utf16 { big_endian: bool, bom: bool },
    Latin1,
    Ascii,
    Whatwg(&'static encoding_rs::Encoding),
}

impl TextEncoding {
    fn lookup(label: &str) -> Option<TextEncoding> {
        let norm = label.trim().to_ascii_lowercase();
        Some(match norm.as_str() {
            "utf-16le" | "csutf16le" => TextEncoding::Utf16 { big_endian: false, bom: false },
            "utf-16be" | "csutf16be" => TextEncoding::Utf16 { big_endian: true, bom: false },
            "utf-16" | "csutf16" => TextEncoding::Utf16 { big_endian: true, bom: true },
            "iso-8859-1" | "iso_8859-1" | "iso_8859-1:1987" | "latin1" | "l1" | "ibm819" | "cp819" | "csisolatin1"
            | "iso-ir-100" => TextEncoding::Latin1,
            "us-ascii" | "ascii" | "iso646-us" | "us" | "ibm367" | "cp367" | "csascii" | "ansi_x3.4-1968"
            | "iso-ir-6" | "ansi_x3.4-1986" | "iso_646.irv:1991" => TextEncoding::Ascii,
            _ => TextEncoding::Whatwg(encoding_rs::Encoding::for_label(norm.as_bytes())?),
        })
    }

    /// The IANA name Terraform's messages use.
    fn name(&self) -> &'static str {
        match self {
            TextEncoding::Utf16 { big_endian: false, .. } => "UTF-16LE",
            TextEncoding::Utf16 { bom: false, .. } => "UTF-16BE",
            TextEncoding::Utf16 { .. } => "UTF-16",
            TextEncoding::Latin1 => "ISO-8859-1",
            TextEncoding::Ascii => "US-ASCII",
            TextEncoding::Whatwg(e) => e.name(),
        }
    }

    /// None when a character has no representation in the encoding.
    fn encode(&self, text: &str) -> Option<Vec<u8>> {
        match self {
            TextEncoding::Utf16 { big_endian, bom } => {
                let units = bom.then_some(0xFEFFu16).into_iter().chain(text.encode_utf16());
                Some(units.flat_map(|u| if *big_endian { u.to_be_bytes() } else { u.to_le_bytes() }).collect())
            }
            TextEncoding::Latin1 => text.chars().map(|ch| u8::try_from(u32::from(ch)).ok()).collect(),
            TextEncoding::Ascii => text.chars().map(|ch| ch.is_ascii().then_some(ch as u8)).collect(),
            TextEncoding::Whatwg(e) => {
                let (bytes, _, had_errors) = e.encode(text);
                (!had_errors).then(|| bytes.into_owned())
            }
        }
    }

    /// None when the bytes contain something the encoding does not define.
    fn decode(&self, bytes: &[u8]) -> Option<String> {
        let text = match self {
            TextEncoding::Utf16 { big_endian, bom } => {
                if bytes.len() % 2 != 0 {
                    return None;
                }
                let mut units: Vec<u16> =
                    bytes
                        .chunks(2)
                        .map(|p| {
                            if *big_endian {
                                u16::from_be_bytes([p[0], p[1]])
                            } else {
                                u16::from_le_bytes([p[0], p[1]])
                            }
                        })
                        .collect();
                if *bom {
                    match units.first() {
                        Some(0xFEFF) => {
                            units.remove(0);
                        }
                        Some(0xFFFE) => {
                            units = units.into_iter().skip(1).map(u16::swap_bytes).collect();
                        }
                        _ => {}
                    }
                }
                String::from_utf16(&units).ok()?
            }
            TextEncoding::Latin1 => bytes.iter().map(|b| char::from(*b)).collect(),
            TextEncoding::Ascii => {
                if !bytes.is_ascii() {
                    return None;
                }
                bytes.iter().map(|b| char::from(*b)).collect()
            }
            TextEncoding::Whatwg(e) => {
                let (text, had_errors) = e.decode_without_bom_handling(bytes);
                if had_errors {
                    return None;
                }
                text.into_owned()
            }
        };
        // Terraform treats a replacement character in the result as undecodable input.
        (!text.contains('\u{FFFD}')).then_some(text)
    }
}

fn text_encoding(c: &Call) -> Result<TextEncoding, FuncError> {
    TextEncoding::lookup(c.str(1)).ok_or_else(|| {
        c.err(1, format!("{:?} is not a supported IANA encoding name or alias in this Terraform version", c.str(1)))
    })
}

pub fn textencodebase64(c: &Call) -> Result<Value, FuncError> {
    let enc = text_encoding(c)?;
    let bytes = enc.encode(c.str(0)).ok_or_else(|| {
        c.err(0, format!("the given string contains characters that cannot be represented in {}", enc.name()))
    })?;
    Ok(Value::String(B64.encode(bytes)))
}

pub fn textdecodebase64(c: &Call) -> Result<Value, FuncError> {
    let enc = text_encoding(c)?;
    // Go reports every decoding failure as a corrupt byte at an offset; a truncated last
    // quantum is reported at its start.
    let bytes = B64.decode(c.str(0)).map_err(|e| {
        let offset = match e {
            base64::DecodeError::InvalidByte(offset, _) | base64::DecodeError::InvalidLastSymbol(offset, _) => offset,
            _ => c.str(0).len() / 4 * 4,
        };
        c.err(0, format!("the given value is has an invalid base64 symbol at offset {offset}"))
    })?;
    let text = enc.decode(&bytes).ok_or_else(|| {
        c.err(0, format!("the given string contains symbols that are not defined for {}", enc.name()))
    })?;
    Ok(Value::String(text))
}

/// `csvdecode`: RFC 4180 as Go's `encoding/csv` reads it (which Terraform uses), including
/// its errors: a bare `"` in an unquoted field and a record whose field count differs from
/// the header's are refused, where the `csv` crate would accept both silently.
pub fn csvdecode(c: &Call) -> Result<Value, FuncError> {
    let records =
        parse_csv(c.str(0)).map_err(|(line, msg)| c.fail(format!("CSV parse error on line {line}: {msg}")))?;
    let mut records = records.into_iter();
    let Some((_, headers)) = records.next() else {
        return Err(c.fail("missing header line"));
    };
    let mut seen = std::collections::BTreeSet::new();
    for h in &headers {
        if !seen.insert(h.as_str()) {
            return Err(c.fail(format!("duplicate column name {h:?}")));
        }
    }
    let mut rows = Vec::new();
    for (line, fields) in records {
        if fields.len() != headers.len() {
            return Err(c.fail(format!("CSV parse error on line {line}: wrong number of fields")));
        }
        rows.push(Value::map(headers.iter().cloned().zip(fields.into_iter().map(Value::String))));
    }
    Ok(Value::List(rows))
}

/// A CSV record and the line it starts on.
type CsvRecord = (usize, Vec<String>);

/// Records with the line each starts on. Empty lines are skipped; `\r\n` counts as `\n`.
/// An error is the line and Go's message.
fn parse_csv(text: &str) -> Result<Vec<CsvRecord>, (usize, &'static str)> {
    let chars: Vec<char> = text.chars().filter(|c| *c != '\r').collect();
    let mut records = Vec::new();
    let (mut i, mut line) = (0, 1);
    while i < chars.len() {
        if chars[i] == '\n' {
            i += 1;
            line += 1;
            continue;
        }
        let start_line = line;
        let mut fields = Vec::new();
        loop {
            let mut field = String::new();
            if chars.get(i) == Some(&'"') {
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err((line, "extraneous or missing \" in quoted-field")),
                        Some('"') if chars.get(i + 1) == Some(&'"') => {
                            field.push('"');
                            i += 2;
                        }
                        Some('"') => {
                            i += 1;
                            match chars.get(i) {
                                None | Some(',') | Some('\n') => break,
                                Some(_) => return Err((line, "extraneous or missing \" in quoted-field")),
                            }
                        }
                        Some(ch) => {
                            if *ch == '\n' {
                                line += 1;
                            }
                            field.push(*ch);
                            i += 1;
                        }
                    }
                }
            } else {
                while let Some(ch) = chars.get(i) {
                    match ch {
                        ',' | '\n' => break,
                        '"' => return Err((line, "bare \" in non-quoted-field")),
                        _ => field.push(*ch),
                    }
                    i += 1;
                }
            }
            fields.push(field);
            match chars.get(i) {
                Some(',') => i += 1,
                Some('\n') => {
                    i += 1;
                    line += 1;
                    break;
                }
                _ => break,
            }
        }
        records.push((start_line, fields));
    }
    Ok(records)
}

pub fn yamldecode(c: &Call) -> Result<Value, FuncError> {
    let text = c.str(0);
    let mut docs = serde_yaml_ng::Deserializer::from_str(text);
    let first = docs.next();
    if docs.next().is_some() {
        return Err(c.err(0, "on line 1, column 1: unexpected extra content after value"));
    }
    let Some(doc) = first else { return Ok(Value::Null) };
    let mut parsed: serde_yaml_ng::Value =
        serde::Deserialize::deserialize(doc).map_err(|e| c.err(0, yaml_error(&e)))?;
    parsed.apply_merge().map_err(|e| c.err(0, yaml_error(&e)))?;
    from_yaml(&parsed).map_err(|msg| c.err(0, msg))
}

fn yaml_error(e: &serde_yaml_ng::Error) -> String {
    match e.location() {
        Some(at) => format!("on line {}, column {}: {}", at.line(), at.column(), e),
        None => e.to_string(),
    }
}

fn from_yaml(v: &serde_yaml_ng::Value) -> Result<Value, String> {
    use serde_yaml_ng::Value as Y;
    Ok(match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(*b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                if f.is_nan() {
                    return Err("NaN is not a valid number".into());
                }
                Value::from(f)
            }
        }
        Y::String(s) => Value::String(s.clone()),
        Y::Sequence(xs) => Value::List(xs.iter().map(from_yaml).collect::<Result<_, _>>()?),
        Y::Mapping(m) => {
            let mut out = BTreeMap::new();
            for (k, v) in m {
                let key = match k {
                    Y::String(s) => s.clone(),
                    Y::Number(n) => n.to_string(),
                    Y::Bool(b) => b.to_string(),
                    Y::Null => "null".to_string(),
                    _ => return Err("only scalar values can be used as mapping keys".into()),
                };
                out.insert(key, from_yaml(v)?);
            }
            Value::object(out)
        }
        Y::Tagged(t) => from_yaml(&t.value)?,
    })
}

/// YAML as Terraform's `yamlencode` writes it (go-cty-yaml over libyaml's emitter): block
/// style, two-space indentation, sequences inside mappings not indented, every string and key
/// double-quoted except multi-line strings, which are literal blocks (`|`, `|-`, `|+`), and a
/// top-level scalar other than a string ends its document with `...`.
pub fn yamlencode(c: &Call) -> Result<Value, FuncError> {
    let v = c.arg(0);
    let mut out = String::new();
    match v {
        Value::List(xs) | Value::Set(xs) if !xs.is_empty() => yaml_seq(xs, 0, &mut out),
        Value::Map(m) if !m.is_empty() => yaml_map(m, 0, &mut out),
        Value::String(s) => {
            // libyaml indents a root block scalar's content by its best indent, 2.
            yaml_scalar_string(s, 2, &mut out);
            out.push('\n');
        }
        Value::List(_) | Value::Set(_) => out.push_str("[]\n"),
        Value::Map(_) => out.push_str("{}\n"),
        other => {
            out.push_str(&yaml_inline(other));
            out.push_str("\n...\n");
        }
    }
    Ok(Value::String(out))
}

/// A value written on the line it starts (scalars and empty collections).
fn yaml_inline(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(_) => match v.as_f64() {
            Some(f) if f.is_infinite() => if f > 0.0 { "+Inf" } else { "-Inf" }.into(),
            _ => v.to_string(),
        },
        Value::String(s) => yaml_double_quoted(s),
        Value::List(_) | Value::Set(_) => "[]".into(),
        Value::Map(_) => "{}".into(),
        Value::Sensitive(inner) => yaml_inline(inner),
        Value::Unknown(_) => "null".into(),
    }
}

/// Writes a string scalar after its key or dash: a literal block (content at `indent`) when
/// it spans lines and libyaml would allow a block, else double-quoted.
fn yaml_scalar_string(s: &str, indent: usize, out: &mut String) {
    if !s.contains('\n') || !yaml_block_allowed(s) {
        out.push_str(&yaml_double_quoted(s));
        return;
    }
    out.push('|');
    if s.starts_with(' ') || s.starts_with('\n') {
        out.push('2');
    }
    let body = s.trim_end_matches('\n');
    let trailing = s.len() - body.len();
    match trailing {
        0 => out.push('-'),
        1 => {}
        _ => out.push('+'),
    }
    for line in body.split('\n') {
        out.push('\n');
        if !line.is_empty() {
            out.push_str(&" ".repeat(indent));
            out.push_str(line);
        }
    }
    // The kept trailing line breaks beyond the one that ends the last line.
    for _ in 1..trailing {
        out.push('\n');
    }
}

/// libyaml refuses a block scalar for text with a space before a line break, a trailing
/// space, or characters it cannot print.
fn yaml_block_allowed(s: &str) -> bool {
    !s.ends_with(' ')
        && !s.contains(" \n")
        && s.chars().all(|ch| ch == '\n' || yaml_printable(ch))
        && !s.contains('\u{FEFF}')
}

fn yaml_printable(ch: char) -> bool {
    matches!(u32::from(ch), 0x20..=0x7E | 0x85 | 0xA0..=0xD7FF | 0xE000..=0xFFFD | 0x10000..=0x10FFFF)
        && ch != '\u{FEFF}'
}

/// libyaml's double-quoted style, with its escapes.
fn yaml_double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for ch in s.chars() {
        let code = u32::from(ch);
        let needs_escape =
            !yaml_printable(ch) || matches!(ch, '"' | '\\' | '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}');
        if !needs_escape {
            out.push(ch);
            continue;
        }
        out.push('\\');
        match ch {
            '\0' => out.push('0'),
            '\u{7}' => out.push('a'),
            '\u{8}' => out.push('b'),
            '\t' => out.push('t'),
            '\n' => out.push('n'),
            '\u{B}' => out.push('v'),
            '\u{C}' => out.push('f'),
            '\r' => out.push('r'),
            '\u{1B}' => out.push('e'),
            '"' => out.push('"'),
            '\\' => out.push('\\'),
            '\u{85}' => out.push('N'),
            '\u{A0}' => out.push('_'),
            '\u{2028}' => out.push('L'),
            '\u{2029}' => out.push('P'),
            _ if code <= 0xFF => out.push_str(&format!("x{code:02X}")),
            _ if code <= 0xFFFF => out.push_str(&format!("u{code:04X}")),
            _ => out.push_str(&format!("U{code:08X}")),
        }
    }
    out.push('"');
    out
}

/// A non-empty mapping whose keys start at column `indent`; the first key's indentation is
/// already written when the mapping is a sequence item.
fn yaml_map(m: &BTreeMap<String, Value>, indent: usize, out: &mut String) {
    for (i, (k, v)) in m.iter().enumerate() {
        if i > 0 || !out.ends_with("- ") {
            out.push_str(&" ".repeat(indent));
        }
        out.push_str(&yaml_double_quoted(k));
        out.push(':');
        match v.peel() {
            Value::Map(inner) if !inner.is_empty() => {
                out.push('\n');
                yaml_map(inner, indent + 2, out);
            }
            Value::List(xs) | Value::Set(xs) if !xs.is_empty() => {
                out.push('\n');
                yaml_seq(xs, indent, out);
            }
            Value::String(s) => {
                out.push(' ');
                yaml_scalar_string(s, indent + 2, out);
                out.push('\n');
            }
            other => {
                out.push(' ');
                out.push_str(&yaml_inline(other));
                out.push('\n');
            }
        }
    }
}

/// A non-empty sequence whose dashes start at column `indent`.
fn yaml_seq(xs: &[Value], indent: usize, out: &mut String) {
    for (i, v) in xs.iter().enumerate() {
        if i > 0 || !out.ends_with("- ") {
            out.push_str(&" ".repeat(indent));
        }
        out.push_str("- ");
        match v.peel() {
            Value::Map(inner) if !inner.is_empty() => yaml_map(inner, indent + 2, out),
            Value::List(inner) | Value::Set(inner) if !inner.is_empty() => yaml_seq(inner, indent + 2, out),
            Value::String(s) => {
                yaml_scalar_string(s, indent + 2, out);
                out.push('\n');
            }
            other => {
                out.push_str(&yaml_inline(other));
                out.push('\n');
            }
        }
    }
}

/// Padding shared by MD5 and SHA-1: 0x80, zeros, then the bit length (little-endian for MD5,
/// big-endian for SHA-1).
fn pad_message(data: &[u8], big_endian: bool) -> Vec<u8> {
    let bit_len = (data.len() as u64).wrapping_mul(8);
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&if big_endian { bit_len.to_be_bytes() } else { bit_len.to_le_bytes() });
    msg
}

/// MD5 (RFC 1321). Only for Terraform's `md5()`/`filemd5()`; not a security primitive.
pub fn md5_digest(data: &[u8]) -> [u8; 16] {
    const S: [u32; 64] = [
        7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14,
        20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6,
        10, 15, 21,
    ];
    let k: Vec<u32> = (0..64).map(|i: i32| ((i as f64 + 1.0).sin().abs() * 4294967296.0) as u32).collect();
    let (mut a0, mut b0, mut c0, mut d0) = (0x67452301u32, 0xefcdab89u32, 0x98badcfeu32, 0x10325476u32);
    for chunk in pad_message(data, false).chunks(64) {
        let m: Vec<u32> = chunk.chunks(4).map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]])).collect();
        let (mut a, mut b, mut c, mut d) = (a0, b0, c0, d0);
        for i in 0..64 {
            let (f, g) = match i / 16 {
                0 => ((b & c) | (!b & d), i),
                1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                2 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            let f = f.wrapping_add(a).wrapping_add(k[i]).wrapping_add(m[g]);
            a = d;
            d = c;
            c = b;
            b = b.wrapping_add(f.rotate_left(S[i]));
        }
        a0 = a0.wrapping_add(a);
        b0 = b0.wrapping_add(b);
        c0 = c0.wrapping_add(c);
        d0 = d0.wrapping_add(d);
    }
    let mut out = [0u8; 16];
    for (i, word) in [a0, b0, c0, d0].iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&word.to_le_bytes());
    }
    out
}

/// SHA-1 (FIPS 180-4). Only for Terraform's `sha1()`; not a security primitive.
pub fn sha1_digest(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0];
    for chunk in pad_message(data, true).chunks(64) {
        let mut w = [0u32; 80];
        for (i, word) in chunk.chunks(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i / 20 {
                0 => ((b & c) | (!b & d), 0x5A827999),
                1 => (b ^ c ^ d, 0x6ED9EBA1),
                2 => ((b & c) | (b & d) | (c & d), 0x8F1BBCDC),
                _ => (b ^ c ^ d, 0xCA62C1D6u32),
            };
            let temp = a.rotate_left(5).wrapping_add(f).wrapping_add(e).wrapping_add(k).wrapping_add(*wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = temp;
        }
        for (slot, v) in h.iter_mut().zip([a, b, c, d, e]) {
            *slot = slot.wrapping_add(v);
        }
    }
    let mut out = [0u8; 20];
    for (i, word) in h.iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&word.to_be_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use crate::lang::value::Value;

    #[test]
    fn json_round_trip_and_shape() {
        let v = Value::map([("b", n(1.0)), ("a", list(vec![n(1.5), Value::Bool(true), Value::Null, s("<x>")]))]);
        assert_eq!(ok("jsonencode", vec![v]), s(r#"{"a":[1.5,true,null,"\u003cx\u003e"],"b":1}"#));
        assert_eq!(ok("jsonencode", vec![Value::Null]), s("null"));
        assert_eq!(
            ok("jsondecode", vec![s(r#"{"hello": "world", "n": [1, 2.5]}"#)]),
            Value::map([("hello", s("world")), ("n", nums(&[1.0, 2.5]))])
        );
        let e = err("jsondecode", vec![s("{nope")]);
        assert_eq!(e.arg, Some(0));
        assert!(e.message.contains("invalid JSON"), "{}", e.message);
    }

    #[test]
    fn base64() {
        assert_eq!(ok("base64encode", vec![s("Hello World")]), s("SGVsbG8gV29ybGQ="));
        assert_eq!(ok("base64decode", vec![s("SGVsbG8gV29ybGQ=")]), s("Hello World"));
        assert!(err("base64decode", vec![s("!!!")]).message.contains("failed to decode base64 data"));
        assert!(err("base64decode", vec![s("/w==")]).message.contains("not valid UTF-8"));
        assert_eq!(ok("base64sha256", vec![s("hello world")]), s("uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek="));
        let b512 = ok("base64sha512", vec![s("hello world")]);
        assert!(
            b512.as_str()
                .is_some_and(|h| h.starts_with("MJ7MSJwS1utMxA9QyQLytNDtd+5RGnx6m808qG1M2G+Y") && h.len() == 88),
            "{b512}"
        );
    }

    #[test]
    fn hashes_match_reference_vectors() {
        assert_eq!(ok("md5", vec![s("hello world")]), s("5eb63bbbe01eeed093cb22bb8f5acdc3"));
        assert_eq!(ok("md5", vec![s("")]), s("d41d8cd98f00b204e9800998ecf8427e"));
        assert_eq!(ok("sha1", vec![s("hello world")]), s("2aae6c35c94fcfb415dbe95f408b9ce91ee846ed"));
        assert_eq!(ok("sha1", vec![s(&"a".repeat(100))]), s("7f9000257a4918d7072655ea468540cdcbd42e0c"));
        assert_eq!(
            ok("sha256", vec![s("hello world")]),
            s("b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9")
        );
        let sha512 = ok("sha512", vec![s("hello world")]);
        assert!(sha512.as_str().is_some_and(|h| h.starts_with("309ecc489c12d6eb4cc40f50c902f2b4") && h.len() == 128));
    }

    #[test]
    fn urlencode_like_go() {
        assert_eq!(ok("urlencode", vec![s("Hello World!")]), s("Hello+World%21"));
        assert_eq!(ok("urlencode", vec![s("a/b?c=d&é")]), s("a%2Fb%3Fc%3Dd%26%C3%A9"));
    }

    #[test]
    fn yamlencode_writes_libyamls_styles() {
        // Multi-line strings are literal blocks, with the chomping indicator for the trailing
        // line breaks (libyaml's yaml_emitter_write_block_scalar_hints).
        assert_eq!(ok("yamlencode", vec![Value::map([("a", s("x\ny"))])]), s("\"a\": |-\n  x\n  y\n"));
        assert_eq!(ok("yamlencode", vec![s("x\ny\n")]), s("|\n  x\n  y\n"));
        assert_eq!(ok("yamlencode", vec![list(vec![s("x\n\n")])]), s("- |+\n  x\n\n"));
        // A space before a line break rules a block out: double quotes with escapes.
        assert_eq!(ok("yamlencode", vec![s("x \ny")]), s("\"x \\ny\"\n"));
        assert_eq!(ok("yamlencode", vec![s("tab\there \"q\" \\")]), s("\"tab\\there \\\"q\\\" \\\\\"\n"));
        // Nested sequences and mappings.
        let nested = list(vec![list(vec![n(1.0), n(2.0)]), Value::map([("k", list(vec![s("v")]))])]);
        assert_eq!(ok("yamlencode", vec![nested]), s("- - 1\n  - 2\n- \"k\":\n  - \"v\"\n"));
        // What yamlencode writes, yamldecode reads back.
        let v = Value::map([("a", s("x\ny")), ("b", list(vec![n(1.5), Value::Bool(false), Value::Null]))]);
        let text = ok("yamlencode", vec![v.clone()]);
        assert_eq!(ok("yamldecode", vec![text]), v);
    }

    #[test]
    fn text_encodings() {
        assert_eq!(ok("textencodebase64", vec![s("Hello"), s("utf-16be")]), s("AEgAZQBsAGwAbw=="));
        assert_eq!(ok("textencodebase64", vec![s("é"), s("ISO-8859-1")]), s("6Q=="));
        assert_eq!(ok("textdecodebase64", vec![s("6Q=="), s("latin1")]), s("é"));
        assert_eq!(ok("textencodebase64", vec![s("Hi"), s("Shift_JIS")]), s("SGk="));
        let e = err("textencodebase64", vec![s("é"), s("US-ASCII")]);
        assert_eq!(e.arg, Some(0));
        assert!(e.message.contains("cannot be represented in US-ASCII"), "{}", e.message);
    }

    #[test]
    fn marks() {
        assert!(ok("sha256", vec![s("pw").sensitive()]).is_sensitive());
        assert!(ok("jsonencode", vec![Value::map([("a", s("pw").sensitive())])]).is_sensitive());
        assert!(ok("jsonencode", vec![list(vec![Value::unknown()])]).is_unknown());
    }
}
