//! What every emulated API implements, and the request it is handed.
//!
//! Adding an API means one file implementing [`Api`] and one line in `server::apis()`. The
//! server owns HTTP (routing by [`Api::claims`], query decoding, faults, latency, recording,
//! persistence); an API sees a decoded [`ApiRequest`] and the store, and answers JSON or an
//! [`ApiError`] that the server wraps in the API's own [`Envelope`].

use std::time::Duration;

use axum::http::Method;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::errors::{invalid_argument, ApiError, Envelope};
use super::store::Store;

pub trait Api: Send + Sync + 'static {
    /// The store namespace and the scenario section, e.g. `"secretmanager"`.
    fn name(&self) -> &'static str;
    /// The error envelope of this API (also used for injected faults).
    fn envelope(&self) -> Envelope;
    /// Whether this API serves the (decoded, slash-less) path, whatever the method; paths of
    /// different APIs must not overlap.
    fn claims(&self, path: &str) -> bool;
    /// Serves one request (200 with the returned JSON, or the error).
    fn handle(&self, ctx: &mut Ctx<'_>, req: &ApiRequest) -> Result<Value, ApiError>;
    /// Seeds resources from this API's scenario section; errors name the offending entry.
    fn seed(&self, ctx: &mut Ctx<'_>, section: &Value) -> Result<(), String>;
    /// A request that should wait (without holding the store) until this moment before it is
    /// served, e.g. Compute's `operations/{op}/wait` until the operation is due. The server
    /// caps the wait at two minutes.
    fn hold_until(&self, _store: &Store, _req: &ApiRequest) -> Option<DateTime<Utc>> {
        None
    }
}

/// What a handler may touch.
pub struct Ctx<'a> {
    pub store: &'a mut Store,
    pub operation_duration: Duration,
    pub now: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct ApiRequest {
    pub method: Method,
    /// Percent-decoded path without the leading `/`, e.g. `v1/projects/p/secrets/s:addVersion`.
    pub path: String,
    pub query: QueryParams,
    pub body: Vec<u8>,
    /// The request asked for `$alt=json;enum-encoding=int`.
    pub enum_ints: bool,
    /// The `If-Match` header, for APIs with HTTP-level optimistic concurrency (BigQuery).
    pub if_match: Option<String>,
}

impl ApiRequest {
    /// A request as the server would decode it: `query` raw, a null `body` absent.
    #[cfg(test)]
    pub fn decoded(method: Method, path: &str, query: &str, body: Value) -> Self {
        let query = QueryParams::parse(query);
        ApiRequest {
            method,
            path: path.to_string(),
            enum_ints: query.wants_enum_ints(),
            query,
            body: if body.is_null() { Vec::new() } else { body.to_string().into_bytes() },
            if_match: None,
        }
    }

    /// The body as a JSON object; an absent body is `{}`.
    pub fn json_body(&self) -> Result<serde_json::Map<String, Value>, ApiError> {
        if self.body.iter().all(|b| b.is_ascii_whitespace()) {
            return Ok(serde_json::Map::new());
        }
        match serde_json::from_slice::<Value>(&self.body) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Err(invalid_argument("Invalid JSON payload received. Expected an object at the top level.")),
            Err(e) => Err(invalid_argument(format!("Invalid JSON payload received. {e}."))),
        }
    }
}

/// Decoded query parameters in order. Parameters with an empty value count as absent: the
/// SDKs send every optional parameter (`pageToken=&filter=`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    pub fn parse(raw: &str) -> Self {
        QueryParams(
            raw.split('&')
                .filter(|p| !p.is_empty())
                .map(|pair| {
                    let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                    (percent_decode(k, true), percent_decode(v, true))
                })
                .collect(),
        )
    }

    /// The first non-empty value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, v)| k == name && !v.is_empty()).map(|(_, v)| v.as_str())
    }

    /// Every value of a repeated parameter (`updateMask=a&updateMask=b` as well as `a,b`).
    pub fn get_all(&self, name: &str) -> Vec<&str> {
        self.0.iter().filter(|(k, v)| k == name && !v.is_empty()).map(|(_, v)| v.as_str()).collect()
    }

    /// Whether the system parameters ask for integer enums: `$alt=json;enum-encoding=int`
    /// (proto-based SDKs); `alt`, `prettyPrint`, `fields` and `$apiVersion` change nothing.
    pub fn wants_enum_ints(&self) -> bool {
        self.0
            .iter()
            .any(|(k, v)| (k == "$alt" || k == "alt") && v.split(';').any(|part| part.trim() == "enum-encoding=int"))
    }
}

/// Decodes `%XX` escapes (and `+` as space in query strings); malformed escapes stay as they are.
pub fn percent_decode(s: &str, plus_is_space: bool) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Pagination over a listed collection: `pageSize` (0 or absent → the API default, capped at
/// the API maximum) and an opaque `pageToken` that encodes the offset.
pub fn paginate<T>(
    items: Vec<T>,
    query: &QueryParams,
    default_size: usize,
    max_size: usize,
) -> Result<(Vec<T>, Option<String>), ApiError> {
    let size = match query.get("pageSize") {
        None => default_size,
        Some(s) => match s.parse::<i64>() {
            Ok(n) if n < 0 => return Err(invalid_argument("page_size must be non-negative")),
            Ok(0) => default_size,
            Ok(n) => (n as usize).min(max_size),
            Err(_) => return Err(invalid_argument(format!("Invalid value at 'page_size' (TYPE_INT32), \"{s}\""))),
        },
    };
    let offset = match query.get("pageToken") {
        None => 0,
        Some(token) => {
            decode_page_token(token).ok_or_else(|| invalid_argument(format!("Invalid page token: {token}")))?
        }
    };
    let total = items.len();
    let page: Vec<T> = items.into_iter().skip(offset).take(size).collect();
    let next = (offset + size < total).then(|| encode_page_token(offset + size));
    Ok((page, next))
}

/// A list response in the AIP form: the page's items under `field` (left out when there are
/// none, as the APIs answer) and `nextPageToken` when more follow.
pub fn list_response(field: &str, items: Vec<Value>, next: Option<String>) -> Value {
    let mut out = serde_json::Map::new();
    if !items.is_empty() {
        out.insert(field.into(), Value::Array(items));
    }
    if let Some(token) = next {
        out.insert("nextPageToken".into(), Value::String(token));
    }
    Value::Object(out)
}

fn encode_page_token(offset: usize) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("cairn-offset:{offset}"))
}

fn decode_page_token(token: &str) -> Option<usize> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token).ok()?;
    String::from_utf8(bytes).ok()?.strip_prefix("cairn-offset:")?.parse().ok()
}

/// A field as the JSON body spells it. Update masks may name fields in proto form
/// (`rotation.next_rotation_time`); bodies always use lowerCamelCase (`nextRotationTime`).
/// The emulator keeps its own copy of this rule rather than the provider's: it is the
/// provider's test oracle, and shared code would hide a bug in both.
pub fn json_field_name(proto: &str) -> String {
    let mut words = proto.split('_');
    let first = words.next().unwrap_or_default().to_string();
    words.fold(first, |mut out, word| {
        let mut chars = word.chars();
        if let Some(head) = chars.next() {
            out.extend(head.to_uppercase());
            out.push_str(chars.as_str());
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_sdk_system_parameter_in_both_spellings() {
        let q = QueryParams::parse("%24alt=json%3Benum-encoding%3Dint&pageToken=");
        assert!(q.wants_enum_ints());
        assert_eq!(q.get("pageToken"), None, "empty values count as absent");
        assert!(QueryParams::parse("$alt=json;enum-encoding=int").wants_enum_ints());
        assert!(!QueryParams::parse("alt=json&prettyPrint=false&fields=name").wants_enum_ints());
        assert!(!QueryParams::parse("$alt=json&$apiVersion=v1").wants_enum_ints());
    }

    #[test]
    fn percent_decoding_handles_plus_and_malformed_escapes() {
        assert_eq!(percent_decode("labels.env%3Aprod+x", true), "labels.env:prod x");
        assert_eq!(percent_decode("a+b", false), "a+b");
        assert_eq!(percent_decode("100%", true), "100%");
        assert_eq!(percent_decode("%zz%4", true), "%zz%4");
    }

    #[test]
    fn pagination_walks_every_item_once() {
        let items: Vec<u32> = (0..5).collect();
        let q = QueryParams::parse("pageSize=2");
        let (page, next) = paginate(items.clone(), &q, 100, 100).unwrap();
        assert_eq!(page, [0, 1]);
        let q = QueryParams::parse(&format!("pageSize=2&pageToken={}", next.unwrap()));
        let (page, next) = paginate(items.clone(), &q, 100, 100).unwrap();
        assert_eq!(page, [2, 3]);
        let q = QueryParams::parse(&format!("pageSize=2&pageToken={}", next.unwrap()));
        let (page, next) = paginate(items.clone(), &q, 100, 100).unwrap();
        assert_eq!((page, next), (vec![4], None));
        assert!(paginate(items, &QueryParams::parse("pageToken=garbage"), 10, 10).is_err());
    }
}
