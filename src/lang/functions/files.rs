//! Filesystem functions. Relative paths resolve against the stack directory
//! ([`super::FuncContext::base_dir`]), never the process's working directory.

use std::path::{Path, PathBuf};

use base64::Engine;
use sha2::Digest;

use super::{Call, FuncError};
use crate::lang::limits::MAX_COLLECTION_LEN;
use crate::lang::value::Value;

/// go-homedir's `Expand`, which Terraform's file functions and `pathexpand` use: a leading
/// `~` alone or followed by a separator becomes the home directory; `~user` is refused.
fn expand_home(path: &str) -> Result<String, String> {
    let Some(rest) = path.strip_prefix('~') else { return Ok(path.to_string()) };
    if !(rest.is_empty() || rest.starts_with('/') || rest.starts_with('\\')) {
        return Err("cannot expand user-specific home dir".into());
    }
    let home = std::env::var("HOME").map_err(|_| "$HOME is not defined".to_string())?;
    Ok(clean(&format!("{home}/{rest}")))
}

/// Go's `filepath.Clean` for slash-separated paths: no empty or `.` components, `..` folded
/// where it can be.
fn clean(path: &str) -> String {
    let absolute = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|p| *p != "..") => {
                parts.pop();
            }
            ".." if absolute => {}
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (absolute, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

/// Expands `~` to the home directory and anchors relative paths at the stack directory.
fn resolve(c: &Call, text: &str) -> Result<PathBuf, FuncError> {
    let expanded = expand_home(text).map_err(|e| c.fail(format!("failed to expand ~: {e}")))?;
    let expanded = PathBuf::from(expanded);
    Ok(if expanded.is_absolute() { expanded } else { c.ctx.base_dir.join(expanded) })
}

fn read_bytes(c: &Call) -> Result<Vec<u8>, FuncError> {
    let path = resolve(c, c.str(0))?;
    std::fs::read(&path).map_err(|e| {
        let shown = c.shown(0, c.str(0));
        if e.kind() == std::io::ErrorKind::NotFound {
            c.err(0, format!(
                "no file exists at {shown}; this function works only with files that are distributed as part of the configuration source code, so if this file will be created by a resource in this configuration you must instead obtain this result from an attribute of that resource"
            ))
        } else {
            c.err(0, format!("failed to read {shown}: {e}"))
        }
    })
}

fn read_text(c: &Call) -> Result<String, FuncError> {
    String::from_utf8(read_bytes(c)?).map_err(|_| {
        c.err(0, format!(
            "contents of {} are not valid UTF-8; use the filebase64 function to obtain the Base64 encoded contents or the other file functions (e.g. filesha256) to obtain file hashing results instead",
            c.shown(0, c.str(0))
        ))
    })
}

pub fn file(c: &Call) -> Result<Value, FuncError> {
    read_text(c).map(Value::String)
}

pub fn filebase64(c: &Call) -> Result<Value, FuncError> {
    Ok(Value::String(base64::engine::general_purpose::STANDARD.encode(read_bytes(c)?)))
}

pub fn filesha256(c: &Call) -> Result<Value, FuncError> {
    Ok(Value::String(hex::encode(sha2::Sha256::digest(read_bytes(c)?))))
}

pub fn filebase64sha256(c: &Call) -> Result<Value, FuncError> {
    Ok(Value::String(base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(read_bytes(c)?))))
}

pub fn filebase64sha512(c: &Call) -> Result<Value, FuncError> {
    Ok(Value::String(base64::engine::general_purpose::STANDARD.encode(sha2::Sha512::digest(read_bytes(c)?))))
}

pub fn filesha512(c: &Call) -> Result<Value, FuncError> {
    Ok(Value::String(hex::encode(sha2::Sha512::digest(read_bytes(c)?))))
}

pub fn filesha1(c: &Call) -> Result<Value, FuncError> {
    Ok(Value::String(hex::encode(super::encoding::sha1_digest(&read_bytes(c)?))))
}

pub fn filemd5(c: &Call) -> Result<Value, FuncError> {
    Ok(Value::String(hex::encode(super::encoding::md5_digest(&read_bytes(c)?))))
}

pub fn pathexpand(c: &Call) -> Result<Value, FuncError> {
    expand_home(c.str(0)).map(Value::String).map_err(|e| c.fail(e))
}

/// `fileset(path, pattern)`: the regular files under `path` matching `pattern` (doublestar
/// rules, which Terraform uses: `*` and `?` stay within one directory, `**` crosses any
/// number, `{a,b}` and `[...]` as in shells), relative to `path`, with `/` separators.
pub fn fileset(c: &Call) -> Result<Value, FuncError> {
    let root = clean(&resolve(c, c.str(0))?.to_string_lossy());
    let full = clean(&format!("{root}/{}", c.str(1)));
    let shown = if c.sensitive.iter().any(|s| *s) { "(sensitive value)".to_string() } else { full.clone() };
    let matcher = globset::GlobBuilder::new(&full)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map_err(|_| c.fail(format!("failed to glob pattern {shown}: syntax error in pattern")))?
        .compile_matcher();
    // Walk only below the pattern's literal leading directories.
    let mut start = Vec::new();
    for part in full.split('/') {
        if part.contains(['*', '?', '[', '{', '\\']) {
            break;
        }
        start.push(part);
    }
    let start =
        if start.len() == full.split('/').count() { start[..start.len() - 1].join("/") } else { start.join("/") };
    let start = if start.is_empty() && full.starts_with('/') { "/".to_string() } else { start };
    let mut found = Vec::new();
    let mut pending = vec![PathBuf::from(if start.is_empty() { "." } else { &start })];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = std::fs::metadata(&path) else { continue };
            let text = path.to_string_lossy().into_owned();
            if meta.is_dir() {
                if found.len() + pending.len() > MAX_COLLECTION_LEN {
                    return Err(c.fail(format!("more than {MAX_COLLECTION_LEN} files match {shown}")));
                }
                pending.push(path);
            } else if meta.is_file() && matcher.is_match(&text) {
                found.push(Value::String(relative(&root, &text)));
            }
        }
    }
    Ok(Value::set(found))
}

/// Go's `filepath.Rel(base, target)` for cleaned, slash-separated paths.
fn relative(base: &str, target: &str) -> String {
    let b: Vec<&str> = base.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
    let t: Vec<&str> = target.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
    let common = b.iter().zip(&t).take_while(|(x, y)| x == y).count();
    let ups = std::iter::repeat_n("..", b.len() - common);
    let rel: Vec<&str> = ups.chain(t[common..].iter().copied()).collect();
    if rel.is_empty() {
        ".".into()
    } else {
        rel.join("/")
    }
}

pub fn fileexists(c: &Call) -> Result<Value, FuncError> {
    let path = resolve(c, c.str(0))?;
    match std::fs::metadata(&path) {
        Ok(meta) if meta.is_file() => Ok(Value::Bool(true)),
        Ok(_) => Err(c.err(0, format!("{} is not a regular file", c.shown(0, c.str(0))))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Value::Bool(false)),
        Err(e) => Err(c.err(0, format!("failed to stat {}: {e}", c.shown(0, c.str(0))))),
    }
}

pub fn templatefile(c: &Call) -> Result<Value, FuncError> {
    let text = read_text(c)?;
    let vars = c.map(1).cloned().unwrap_or_default();
    for key in vars.keys() {
        if hcl_edit::Ident::try_new(key.as_str()).is_err() {
            return Err(c.err(1, format!("invalid template variable name {key:?}: must start with a letter, followed by zero or more letters, digits, and underscores")));
        }
    }
    (c.ctx.render_template)(&text, &vars)
        .map_err(|e| c.fail(format!("error rendering template {}: {e}", c.shown(0, c.str(0)))))
}

pub fn abspath(c: &Call) -> Result<Value, FuncError> {
    let path = resolve(c, c.str(0))?;
    let absolute = std::fs::canonicalize(&path)
        .or_else(|_| std::path::absolute(&path))
        .map_err(|e| c.err(0, format!("cannot make {} absolute: {e}", c.shown(0, c.str(0)))))?;
    // A string holds only UTF-8: a path that is not (a stack under a directory with a Latin-1
    // name) is refused, where a lossy conversion would hand back a path that names nothing.
    absolute.into_os_string().into_string().map(Value::String).map_err(|raw| {
        c.err(0, format!("the absolute path of {} is not valid UTF-8: {:?}", c.shown(0, c.str(0)), Path::new(&raw)))
    })
}

pub fn basename(c: &Call) -> Result<Value, FuncError> {
    let p = c.str(0);
    let trimmed = p.trim_end_matches('/');
    if trimmed.is_empty() {
        return Ok(Value::string(if p.is_empty() { "." } else { "/" }));
    }
    Ok(Value::string(trimmed.rsplit('/').next().unwrap_or(trimmed)))
}

pub fn dirname(c: &Call) -> Result<Value, FuncError> {
    let p = Path::new(c.str(0));
    let dir = match p.parent() {
        Some(d) if d.as_os_str().is_empty() => ".".to_string(),
        Some(d) => d.to_string_lossy().into_owned(),
        None if c.str(0).starts_with('/') => "/".to_string(),
        None => ".".to_string(),
    };
    Ok(Value::String(dir))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::testutil::*;
    use super::super::{call, Clock, FuncContext};
    use crate::lang::value::Value;

    fn render(text: &str, vars: &BTreeMap<String, Value>) -> Result<Value, String> {
        let mut out = text.to_string();
        for (k, v) in vars {
            out = out.replace(&format!("${{{k}}}"), v.as_str().unwrap_or("?"));
        }
        Ok(Value::String(out))
    }

    #[test]
    fn file_functions_resolve_against_base_dir() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("hello.txt"), "Hello World").expect("write");
        std::fs::write(dir.path().join("t.tpl"), "Hi ${name}!").expect("write");
        std::fs::write(dir.path().join("bin"), [0xffu8, 0xfe]).expect("write");
        let ctx = FuncContext { base_dir: dir.path().to_path_buf(), render_template: &render, clock: Clock::default() };
        let run = |name: &str, args: Vec<Value>| call(name, args, &ctx);

        assert_eq!(run("file", vec![s("hello.txt")]), Ok(s("Hello World")));
        assert_eq!(run("fileexists", vec![s("hello.txt")]), Ok(Value::Bool(true)));
        assert_eq!(run("fileexists", vec![s("nope.txt")]), Ok(Value::Bool(false)));
        assert!(run("fileexists", vec![s(".")]).is_err());
        assert_eq!(run("filebase64", vec![s("hello.txt")]), Ok(s("SGVsbG8gV29ybGQ=")));
        assert_eq!(
            run("filesha256", vec![s("hello.txt")]),
            Ok(s("a591a6d40bf420404a011733cfb7b190d62c65bf0bcda32b57b277d9ad9f146e"))
        );
        let e = run("file", vec![s("missing.txt")]).expect_err("missing file");
        assert!(e.message.contains("no file exists at \"missing.txt\""), "{}", e.message);
        let e = run("file", vec![s("bin")]).expect_err("binary file");
        assert!(e.message.contains("not valid UTF-8"), "{}", e.message);
        let vars = Value::map([("name", s("Ada"))]);
        assert_eq!(run("templatefile", vec![s("t.tpl"), vars]), Ok(s("Hi Ada!")));
        let e = run("templatefile", vec![s("t.tpl"), Value::map([("1bad", s("x"))])]).expect_err("bad var");
        assert_eq!(e.arg, Some(1));
        let secret = run("file", vec![s("hello.txt").sensitive()]).expect("sensitive path");
        assert!(secret.is_sensitive());
    }

    #[cfg(unix)]
    #[test]
    fn abspath_refuses_a_path_that_is_not_utf8() {
        use std::os::unix::ffi::OsStrExt;
        let base = std::path::absolute(std::path::Path::new(std::ffi::OsStr::from_bytes(b"/tmp/caf\xe9-stack")))
            .expect("absolute");
        let ctx = FuncContext { base_dir: base, render_template: &no_template, clock: Clock::default() };
        let e = call("abspath", vec![s("main.tf")], &ctx).expect_err("not UTF-8");
        assert_eq!(e.arg, Some(0));
        assert!(e.message.contains("not valid UTF-8") && e.message.contains("caf\\xE9-stack/main.tf"), "{}", e.message);
        assert!(!e.message.contains('\u{FFFD}'), "{}", e.message);
    }

    #[test]
    fn templatefile_errors_are_wrapped() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("t.tpl"), "x").expect("write");
        let ctx =
            FuncContext { base_dir: dir.path().to_path_buf(), render_template: &no_template, clock: Clock::default() };
        let e = call("templatefile", vec![s("t.tpl"), Value::map::<&str>([])], &ctx).expect_err("render fails");
        assert!(e.message.contains("error rendering template"), "{}", e.message);
    }

    #[test]
    fn path_functions() {
        assert_eq!(ok("basename", vec![s("foo/bar/baz.txt")]), s("baz.txt"));
        assert_eq!(ok("dirname", vec![s("foo/bar/baz.txt")]), s("foo/bar"));
        assert_eq!(ok("dirname", vec![s("baz.txt")]), s("."));
        let abs = ok("abspath", vec![s("some/dir")]);
        assert!(
            abs.as_str().is_some_and(|p| std::path::Path::new(p).is_absolute() && p.ends_with("some/dir")),
            "{abs}"
        );
    }
}
