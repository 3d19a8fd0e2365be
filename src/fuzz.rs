//! Fuzz targets, run on the stable toolchain as ordinary tests (cargo-fuzz needs nightly).
//!
//! Each target is a libFuzzer-shaped `fn(&[u8])` that must never panic whatever the bytes. The
//! driver mutates a seed corpus (`tests/fuzz/corpus/<target>/`) with a seeded RNG for a bounded
//! time: `CAIRN_FUZZ_SECONDS` per target (default 2, so `cargo test` stays fast; `.ci/run`
//! gives more), `CAIRN_FUZZ_SEED` to replay a run. A panicking input is written to
//! `target/fuzz-crashes/<target>-<n>.bin` and fails the test; the input being run is kept in
//! `target/fuzz-crashes/<target>.current` so that an abort (stack overflow) leaves it behind.
//! Each crash found is then committed as a regression test next to the code it broke.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::lang::value::Value;

struct Target {
    name: &'static str,
    /// Tokens the mutator splices in, so that short runs reach the grammar's corners.
    dictionary: &'static [&'static str],
    run: fn(&[u8]),
}

fn budget() -> Duration {
    let secs = std::env::var("CAIRN_FUZZ_SECONDS").ok().and_then(|s| s.parse::<f64>().ok()).unwrap_or(2.0);
    Duration::from_secs_f64(secs.clamp(0.0, 3600.0))
}

fn seed() -> u64 {
    std::env::var("CAIRN_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x0C41_2E5E_ED00_0014)
}

fn corpus(name: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/corpus").join(name);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("seed corpus {}: {e}", dir.display()))
        .map(|e| e.expect("corpus entry").path())
        .collect();
    paths.sort();
    let seeds: Vec<Vec<u8>> = paths.iter().map(|p| std::fs::read(p).expect("corpus file")).collect();
    assert!(!seeds.is_empty(), "seed corpus {} is empty", dir.display());
    seeds
}

/// One random edit: libFuzzer's basic moves (flip, insert, erase, copy, splice, dictionary).
fn mutate(rng: &mut StdRng, input: &mut Vec<u8>, seeds: &[Vec<u8>], dictionary: &[&str]) {
    let pos = |rng: &mut StdRng, len: usize| if len == 0 { 0 } else { rng.gen_range(0..=len) };
    match rng.gen_range(0..7) {
        0 if !input.is_empty() => {
            let i = rng.gen_range(0..input.len());
            input[i] ^= 1 << rng.gen_range(0..8);
        }
        1 => {
            let i = pos(rng, input.len());
            input.insert(i, rng.gen());
        }
        2 if !input.is_empty() => {
            let i = rng.gen_range(0..input.len());
            let n = rng.gen_range(1..=(input.len() - i).min(16));
            input.drain(i..i + n);
        }
        3 if !input.is_empty() => {
            let i = rng.gen_range(0..input.len());
            let n = rng.gen_range(1..=(input.len() - i).min(64));
            let chunk = input[i..i + n].to_vec();
            let at = pos(rng, input.len());
            input.splice(at..at, chunk);
        }
        4 => {
            let other = &seeds[rng.gen_range(0..seeds.len())];
            if !other.is_empty() {
                let i = rng.gen_range(0..other.len());
                let n = rng.gen_range(1..=(other.len() - i).min(64));
                let at = pos(rng, input.len());
                input.splice(at..at, other[i..i + n].iter().copied());
            }
        }
        _ if !dictionary.is_empty() => {
            let token = dictionary[rng.gen_range(0..dictionary.len())].as_bytes();
            let at = pos(rng, input.len());
            input.splice(at..at, token.iter().copied());
        }
        _ => {}
    }
    input.truncate(64 * 1024);
}

/// Runs one target for its time budget; returns (executions, crashing inputs written).
fn drive(target: &Target) -> (u64, Vec<PathBuf>) {
    let seeds = corpus(target.name);
    let out_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fuzz-crashes");
    std::fs::create_dir_all(&out_dir).expect("crash directory");
    let current = out_dir.join(format!("{}.current", target.name));
    let mut rng =
        StdRng::seed_from_u64(seed() ^ target.name.bytes().fold(0u64, |h, b| h.rotate_left(5) ^ u64::from(b)));
    let deadline = Instant::now() + budget();
    let mut executions = 0u64;
    let mut crashes = Vec::new();
    // Every seed runs as is first, then mutants until the deadline (at least once each).
    let mut queue: Vec<Vec<u8>> = seeds.clone();
    loop {
        let input = match queue.pop() {
            Some(seed) => seed,
            None if Instant::now() >= deadline => break,
            None => {
                let mut input = seeds[rng.gen_range(0..seeds.len())].clone();
                for _ in 0..rng.gen_range(1..=8) {
                    mutate(&mut rng, &mut input, &seeds, target.dictionary);
                }
                input
            }
        };
        let _ = std::fs::write(&current, &input);
        executions += 1;
        if catch_unwind(AssertUnwindSafe(|| (target.run)(&input))).is_err() {
            let path = out_dir.join(format!("{}-{}.bin", target.name, crashes.len()));
            std::fs::write(&path, &input).expect("write crashing input");
            crashes.push(path);
        }
    }
    let _ = std::fs::remove_file(&current);
    (executions, crashes)
}

fn fuzz(target: &Target) {
    let (executions, crashes) = drive(target);
    eprintln!("fuzz {}: {executions} executions, {} crashes", target.name, crashes.len());
    assert!(crashes.is_empty(), "fuzz {}: inputs that panicked: {crashes:?}", target.name);
}

// ---- Targets -------------------------------------------------------------------------------

/// A whole stack: the bytes as `main.tf`, loaded and validated (no provider calls).
pub fn fuzz_stack(data: &[u8]) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("main.tf"), data).expect("write main.tf");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let common = crate::ops::Common::new(dir.path());
    let _ = runtime.block_on(crate::ops::validate(&common));
}

/// Builds a value from bytes: the first byte picks the kind, the rest fills it in.
fn value_from(bytes: &mut &[u8], depth: usize) -> Value {
    let mut take = |n: usize| {
        let (head, tail) = bytes.split_at(n.min(bytes.len()));
        *bytes = tail;
        head.to_vec()
    };
    const NUMBERS: &[f64] = &[
        0.0,
        1.0,
        -1.0,
        0.5,
        2.0,
        8.0,
        32.0,
        64.0,
        128.0,
        255.0,
        4294967295.0,
        4294967296.0,
        9e15,
        9007199254740993.0,
        1e19,
        -1e19,
        1e300,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        f64::MIN_POSITIVE,
    ];
    // Arguments that reach the corners: format verbs, CIDRs, regexes, encodings, paths.
    const STRINGS: &[&str] = &[
        "",
        "%v",
        "%.70000f",
        "%99999999999999999999d",
        "%[3]s",
        "%-5q",
        "%#x",
        "10.0.0.0/24",
        "fd00::/8",
        "0.0.0.0/0",
        "/(a+)+$/",
        "/[/",
        "$1",
        "\n",
        "e30=",
        "{\"a\":[1]}",
        "[[[[[[",
        "../../etc/passwd",
        "\u{0}",
        "é",
        "a,b",
        "-",
        "0x10",
        "2026-12-31T23:59:59+01:00",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59.999999999-23:59",
        "-2562047h47m16.854775808s",
        "720h",
        "DD MMM YYYY hh:mm ZZZ",
        "'",
    ];
    let kind = take(1).first().copied().unwrap_or(0);
    match kind % 8 {
        0 => Value::Null,
        1 => Value::Bool(kind & 0x80 != 0),
        2 => Value::from(NUMBERS[usize::from(kind >> 3) % NUMBERS.len()]),
        3 => {
            let raw = take(8);
            let mut b = [0u8; 8];
            b[..raw.len()].copy_from_slice(&raw);
            Value::from(f64::from_le_bytes(b))
        }
        4 => {
            let n = usize::from(take(1).first().copied().unwrap_or(0) % 48);
            Value::String(String::from_utf8_lossy(&take(n)).into_owned())
        }
        5 => Value::string(STRINGS[usize::from(kind >> 3) % STRINGS.len()]),
        6 if depth < 4 => {
            let n = usize::from(take(1).first().copied().unwrap_or(0) % 6);
            let items: Vec<Value> = (0..n).map(|_| value_from(bytes, depth + 1)).collect();
            if kind & 0x80 != 0 {
                Value::set(items)
            } else {
                Value::List(items)
            }
        }
        7 if depth < 4 => {
            let n = usize::from(take(1).first().copied().unwrap_or(0) % 5);
            let mut map = BTreeMap::new();
            for i in 0..n {
                let key = match value_from(bytes, depth + 1) {
                    Value::String(s) => s,
                    _ => format!("k{i}"),
                };
                map.insert(key, value_from(bytes, depth + 1));
            }
            Value::object(map)
        }
        _ => Value::string("10.0.0.0/16"),
    }
}

/// Every built-in function with arbitrary arguments: byte 0 picks the function, byte 1 the
/// argument count, the rest the arguments. Files resolve in an empty directory.
pub fn fuzz_functions(data: &[u8]) {
    let names = crate::lang::functions::names();
    let Some((&pick, rest)) = data.split_first() else { return };
    let name = names[usize::from(pick) % names.len()];
    let mut bytes = rest;
    let count = bytes.first().map(|b| usize::from(b % 5)).unwrap_or(0);
    bytes = bytes.get(1..).unwrap_or(&[]);
    let args: Vec<Value> = (0..count).map(|_| value_from(&mut bytes, 0)).collect();
    let dir = std::env::temp_dir();
    let render = |text: &str, _: &BTreeMap<String, Value>| Ok(Value::string(text));
    // Both clocks known: the time functions run their whole bodies.
    let clock = crate::lang::functions::Clock::applying(Some(crate::lang::functions::Clock::now()));
    let ctx = crate::lang::functions::FuncContext { base_dir: dir, render_template: &render, clock };
    let _ = crate::lang::functions::call(name, args, &ctx);
}

/// A plan file as `apply PLANFILE` and `show` read it, turned back into a plan when it parses.
pub fn fuzz_planfile(data: &[u8]) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("fuzz.cairnplan");
    std::fs::write(&path, data).expect("write plan file");
    // The signed read refuses almost every mutated input at the signature; the display read
    // decodes the rest of the container, which is what a signature-valid file reaches.
    let _ = crate::plan::file::read(&path, &crate::plan::file::PlanKey::derive(&[7; 32]));
    if let Ok(file) = crate::plan::file::read_for_display(&path) {
        let _ = file.to_plan();
    }
}

/// State as the backends store it (the JSON document), each resource decoded through its
/// type's schema when the type is known.
pub fn fuzz_state(data: &[u8]) {
    let Ok(state) = serde_json::from_slice::<crate::state::State>(data) else { return };
    static REGISTRY: std::sync::OnceLock<crate::providers::Registry> = std::sync::OnceLock::new();
    let registry = REGISTRY
        .get_or_init(|| crate::providers::Registry::standard(crate::providers::google::GoogleOptions::default()));
    for (addr, res) in &state.resources {
        let _ = addr.to_string();
        if let Some(resource_type) = registry.get(&res.type_name) {
            let _ = crate::state::codec::decode(&res.attributes, &res.sensitive_fingerprints, resource_type.schema());
        }
    }
}

/// One emulator request through the API that claims its path, as the server hands it over:
/// line 1 the method, line 2 the path, line 3 the query, the rest the body.
pub fn fuzz_emulator(data: &[u8]) {
    use crate::emulator::api::{ApiRequest, Ctx, QueryParams};
    let mut parts = data.splitn(4, |b| *b == b'\n');
    let method = match parts.next().unwrap_or_default() {
        b"GET" => axum::http::Method::GET,
        b"POST" => axum::http::Method::POST,
        b"PATCH" => axum::http::Method::PATCH,
        b"PUT" => axum::http::Method::PUT,
        _ => axum::http::Method::DELETE,
    };
    let path = String::from_utf8_lossy(parts.next().unwrap_or_default()).trim_start_matches('/').to_string();
    let query = QueryParams::parse(&String::from_utf8_lossy(parts.next().unwrap_or_default()));
    let body = parts.next().unwrap_or_default().to_vec();
    let req = ApiRequest { method, path, enum_ints: query.wants_enum_ints(), query, body, if_match: None };
    let apis = crate::emulator::server::apis();
    let Some(api) = apis.iter().find(|a| a.claims(&req.path)) else { return };
    let mut store = crate::emulator::store::Store::default();
    let mut ctx = Ctx { store: &mut store, operation_duration: Duration::ZERO, now: chrono::Utc::now() };
    let _ = api.hold_until(ctx.store, &req);
    // A create followed by the same request again, so handlers that read what they stored run.
    let _ = api.handle(&mut ctx, &req);
    let _ = api.handle(&mut ctx, &req);
}

const HCL_TOKENS: &[&str] = &[
    "${",
    "}",
    "%{ for x in ",
    "%{ endfor }",
    "%{ if ",
    "%{ endif }",
    "count = ",
    "for_each = ",
    "9e15",
    "1e19",
    "-1",
    "4294967295",
    "[for k, v in ",
    " : ",
    "=>",
    "...",
    "templatefile(",
    "format(\"%",
    "cidrsubnet(",
    "setproduct(",
    "range(",
    "jsondecode(",
    "timeadd(",
    "timecmp(",
    "formatdate(",
    "plantimestamp()",
    "timestamp()",
    "\"",
    "<<EOT\n",
    "\nEOT\n",
    "resource \"terraform_data\" \"a\" {\n",
    "variable \"v\" {\n",
    "locals {\n",
    "output \"o\" {\n",
    "module \"m\" {\n",
    "dynamic \"d\" {\n",
    "}\n",
    "[",
    "]",
    "(",
    ")",
    "?",
    "!",
    "&&",
    ".*",
    "[*]",
    "null",
    "true",
    "sensitive(",
    "try(",
    "can(",
];

const JSON_TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "null",
    "true",
    "1e400",
    "-1",
    "18446744073709551616",
    "4294967297",
    "\"format_version\":",
    "\"resources\":",
    "\"attributes\":",
    "\"fingerprints\":",
    "\"serial\":",
    "\"changes\":",
];

const EMULATOR_TOKENS: &[&str] = &[
    "POST\n",
    "GET\n",
    "PATCH\n",
    "DELETE\n",
    "v1/projects/p/secrets",
    "/versions/",
    ":addVersion",
    ":access",
    "compute/v1/projects/p/global/healthChecks",
    "v2/projects/p/locations/l/services",
    "sql/v1beta4/projects/p/instances",
    "v1/projects/p/locations/l/connectors",
    "v2/projects/p/sinks",
    "?pageSize=",
    "pageToken=",
    "updateMask=",
    "\"name\":",
    "\"payload\":",
    "{",
    "}",
    "[",
    "]",
    "-1",
    "4294967296",
    "1e400",
    "%00",
    "%2F",
    "..",
];

macro_rules! fuzz_test {
    ($test:ident, $target:literal, $dictionary:expr, $run:path) => {
        #[test]
        fn $test() {
            fuzz(&Target { name: $target, dictionary: $dictionary, run: $run });
        }
    };
}

fuzz_test!(fuzz_target_stack, "stack", HCL_TOKENS, fuzz_stack);
fuzz_test!(fuzz_target_functions, "functions", &[], fuzz_functions);
fuzz_test!(fuzz_target_planfile, "planfile", JSON_TOKENS, fuzz_planfile);
fuzz_test!(fuzz_target_state, "state", JSON_TOKENS, fuzz_state);
fuzz_test!(fuzz_target_emulator, "emulator", EMULATOR_TOKENS, fuzz_emulator);
