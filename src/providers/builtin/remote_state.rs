//! `data "terraform_remote_state"`: the root-module outputs of another stack's state.
//!
//! Backends: `local` (`config = { path = … }`: a Cairn state directory, or a Terraform JSON
//! state file) and `gcs` (`bucket`, `prefix` and the gcs backend's credentials arguments,
//! through [`crate::state::gcs::GcsStore`]). `workspace` names the other stack's workspace:
//! for gcs, its objects under the prefix; for local, its directory under `workspace_dir`
//! (default: `state.d` beside the `path` directory, where a Cairn stack keeps its workspaces,
//! or `terraform.tfstate.d` beside a Terraform state file).
//!
//! Sensitive outputs: Cairn never stores a sensitive output's value (state keeps its name and
//! `sensitive = true` only), so a Cairn state's sensitive output reads as a withheld secret:
//! sensitive, with no value, refused with the reason by the plan of any step that would send
//! it. A Terraform JSON state holds the value itself, which is read and marked sensitive.

use std::collections::BTreeMap;
use std::path::Path;

use async_trait::async_trait;

use crate::lang::value::{Unknown, Value};
use crate::providers::{CallContext, DataSource, ProviderError};
use crate::schema::{AttrType, Attribute, Schema, Validator};
use crate::state::backend::{gcs_settings_from_env, GcsArgs};
use crate::state::gcs::GcsStore;
use crate::state::local::LocalStore;
use crate::state::workspace;
use crate::state::StateStore;

/// The `config` keys each backend takes.
const LOCAL_KEYS: &[&str] = &["path", "workspace_dir"];
const GCS_KEYS: &[&str] = &[
    "bucket",
    "prefix",
    "credentials",
    "access_token",
    "impersonate_service_account",
    "encryption_key",
    "storage_custom_endpoint",
];
/// `config` keys that hold credentials: kept in state as fingerprints only.
const SECRET_KEYS: &[&str] = &["credentials", "access_token", "encryption_key"];

pub struct RemoteState {
    schema: Schema,
}

impl RemoteState {
    pub fn new() -> Self {
        RemoteState {
            schema: Schema::new()
                .attr(
                    "backend",
                    Attribute::required(AttrType::String)
                        .validate(Validator::OneOf(vec!["local", "gcs"]))
                        .describe("The backend that holds the state: local or gcs."),
                )
                .attr(
                    "config",
                    Attribute::optional(AttrType::Dynamic)
                        .describe("The backend's settings: { path } for local, { bucket, prefix, … } for gcs."),
                )
                .attr(
                    "defaults",
                    Attribute::optional(AttrType::Dynamic)
                        .describe("Values for outputs the state does not have (or when it is empty)."),
                )
                .attr(
                    "workspace",
                    Attribute::optional(AttrType::String)
                        .describe("The workspace whose state to read (default: \"default\")."),
                )
                .attr(
                    "outputs",
                    Attribute::computed(AttrType::Dynamic).describe("The state's root-module outputs, as an object."),
                ),
        }
    }
}

impl Default for RemoteState {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl DataSource for RemoteState {
    fn name(&self) -> &'static str {
        "terraform_remote_state"
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    async fn read(&self, ctx: &CallContext, config: &Value) -> Result<Value, ProviderError> {
        let workspace = match config.get("workspace").filter(|w| !w.is_null()) {
            None => workspace::DEFAULT.to_string(),
            Some(w) => match w.as_str() {
                Some(name) if workspace::valid_name(name) => name.to_string(),
                _ => {
                    return Err(ProviderError::new(format!(
                        "workspace {} is not a workspace name (URL safe characters, no path separators)",
                        shown(w)
                    )))
                }
            },
        };
        let backend = config.get("backend").and_then(Value::as_str).unwrap_or_default();
        let settings = config.get("config").cloned().unwrap_or(Value::Null);
        let settings = match settings.peel() {
            Value::Null => BTreeMap::new(),
            Value::Map(m) => (**m).clone(),
            other => {
                return Err(ProviderError::new(format!(
                    "config must be an object like {{ path = \"…\" }}, not a {}",
                    other.type_name()
                )))
            }
        };
        let allowed = if backend == "gcs" { GCS_KEYS } else { LOCAL_KEYS };
        for key in settings.keys() {
            if !allowed.contains(&key.as_str()) {
                let hint = crate::lang::diag::suggest(key, allowed.iter().copied())
                    .map(|s| format!(" ({s})"))
                    .unwrap_or_default();
                return Err(ProviderError::new(format!(
                    "the {backend} backend has no setting \"{key}\"{hint}; it takes: {}",
                    allowed.join(", ")
                )));
            }
        }
        let text = |key: &str| -> Result<Option<String>, ProviderError> {
            match settings.get(key).map(Value::peel) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(other) => {
                    Err(ProviderError::new(format!("config.{key} must be a string, not a {}", other.type_name())))
                }
            }
        };
        let outputs = match backend {
            "gcs" => {
                let bucket =
                    text("bucket")?.ok_or_else(|| ProviderError::new("the gcs backend needs config.bucket"))?;
                let prefix = text("prefix")?.unwrap_or_default();
                let args = GcsArgs {
                    credentials: text("credentials")?,
                    access_token: text("access_token")?,
                    impersonate_service_account: text("impersonate_service_account")?,
                    encryption_key: text("encryption_key")?,
                    storage_custom_endpoint: text("storage_custom_endpoint")?,
                };
                let gcs = gcs_settings_from_env(&bucket, prefix.trim_matches('/'), Some(&args))
                    .map_err(ProviderError::new)?;
                let store = GcsStore::new(gcs.for_workspace(&workspace));
                let state = store.load().await.map_err(|e| {
                    ProviderError::new(format!("reading the state in {}: {e}", store.settings().location()))
                })?;
                state.map(|s| cairn_outputs(&s)).unwrap_or_default()
            }
            _ => {
                let path = text("path")?.ok_or_else(|| {
                    ProviderError::new("the local backend needs config.path (the other stack's state directory)")
                })?;
                // Relative to the root module, as Terraform's working directory is.
                let resolve = |p: &str| match &ctx.root_dir {
                    Some(root) if Path::new(p).is_relative() => root.join(p),
                    _ => Path::new(p).to_path_buf(),
                };
                let path = resolve(&path);
                let path = if workspace == workspace::DEFAULT {
                    path
                } else {
                    let is_file = path.is_file();
                    let dir = match text("workspace_dir")? {
                        Some(d) => resolve(&d),
                        None => {
                            let beside = path.parent().unwrap_or(Path::new("."));
                            beside.join(if is_file { "terraform.tfstate.d" } else { "state.d" })
                        }
                    };
                    let dir = dir.join(&workspace);
                    if is_file {
                        dir.join("terraform.tfstate")
                    } else {
                        dir
                    }
                };
                read_local(&path).await?
            }
        };
        let mut outputs = outputs;
        if let Some(defaults) = config.get("defaults").filter(|d| !d.is_null()) {
            let Some(d) = defaults.as_map() else {
                return Err(ProviderError::new(format!("defaults must be an object, not a {}", defaults.type_name())));
            };
            for (k, v) in d.iter() {
                outputs.entry(k.clone()).or_insert_with(|| v.clone().mark_if(defaults.is_sensitive()));
            }
        }
        let mut result = config.as_map().cloned().unwrap_or_default();
        if let Some(Value::Map(m)) = result.get_mut("config") {
            let m = std::sync::Arc::make_mut(m);
            for key in SECRET_KEYS {
                if let Some(v) = m.remove(*key) {
                    m.insert(key.to_string(), v.sensitive());
                }
            }
        }
        result.insert("outputs".into(), Value::object(outputs));
        Ok(Value::object(result))
    }
}

/// The outputs of a local state: a Cairn state directory, or a Terraform JSON state file. A
/// directory with nothing written yet has none; a path that does not exist is an error.
async fn read_local(path: &Path) -> Result<BTreeMap<String, Value>, ProviderError> {
    let missing = || ProviderError {
        not_found: true,
        ..ProviderError::new(format!(
            "there is no state at {} (give the other stack's state directory, e.g. ../network/state)",
            path.display()
        ))
    };
    let meta = std::fs::metadata(path).map_err(|_| missing())?;
    if meta.is_file() {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ProviderError::new(format!("cannot read {}: {e}", path.display())))?;
        return terraform_outputs(&text)
            .map_err(|e| ProviderError::new(format!("{} is not a Terraform state file: {e}", path.display())));
    }
    let store = LocalStore::open(path).map_err(|e| ProviderError::new(e.to_string()))?;
    let state =
        store.load().await.map_err(|e| ProviderError::new(format!("reading the state in {}: {e}", path.display())))?;
    Ok(state.map(|s| cairn_outputs(&s)).unwrap_or_default())
}

/// A Cairn state's outputs; a sensitive one has no stored value (see the module docs).
fn cairn_outputs(state: &crate::state::State) -> BTreeMap<String, Value> {
    state
        .outputs
        .iter()
        .map(|(name, o)| {
            let v = if o.sensitive {
                Value::Unknown(Unknown::Withheld { fingerprint: None }).sensitive()
            } else {
                Value::from_json(&o.value)
            };
            (name.clone(), v)
        })
        .collect()
}

/// A Terraform state file's (format version 4) root outputs, sensitive ones marked.
fn terraform_outputs(text: &str) -> Result<BTreeMap<String, Value>, String> {
    let doc: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    if doc.get("version").and_then(serde_json::Value::as_u64) != Some(4) {
        return Err("only format version 4 (Terraform 0.12 and later) is read".into());
    }
    let Some(outputs) = doc.get("outputs").and_then(serde_json::Value::as_object) else { return Ok(BTreeMap::new()) };
    Ok(outputs
        .iter()
        .map(|(name, o)| {
            let v = Value::from_json(o.get("value").unwrap_or(&serde_json::Value::Null));
            let sensitive = o.get("sensitive").and_then(serde_json::Value::as_bool).unwrap_or(false);
            (name.clone(), v.mark_if(sensitive))
        })
        .collect())
}

fn shown(v: &Value) -> String {
    match v.as_str() {
        Some(s) => format!("\"{s}\""),
        None => v.type_name().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terraform_state_files_give_their_outputs_with_sensitive_marks() {
        let text = r#"{"version":4,"outputs":{"net":{"value":"vpc-1","type":"string"},"pw":{"value":"s3cret","type":"string","sensitive":true}}}"#;
        let out = terraform_outputs(text).unwrap();
        assert_eq!(out["net"], Value::string("vpc-1"));
        assert!(out["pw"].is_sensitive());
        assert!(terraform_outputs(r#"{"version":3}"#).unwrap_err().contains("version 4"));
    }

    #[tokio::test]
    async fn a_missing_local_state_is_not_found_and_workspace_names_are_checked() {
        let ds = RemoteState::new();
        let cc = CallContext::new(Value::Null);
        let conf = Value::map([
            ("backend", Value::string("local")),
            ("config", Value::map([("path", Value::string("/nonexistent/cairn/state"))])),
        ]);
        let e = ds.read(&cc, &conf).await.unwrap_err();
        assert!(e.not_found && e.message.contains("no state at"), "{}", e.message);
        let mut with_ws = conf.clone();
        with_ws.map_mut().unwrap().insert("workspace".into(), Value::string("staging"));
        let e = ds.read(&cc, &with_ws).await.unwrap_err();
        assert!(e.not_found && e.message.contains("/nonexistent/cairn/state.d/staging"), "{}", e.message);
        with_ws.map_mut().unwrap().insert("workspace".into(), Value::string("../x"));
        let e = ds.read(&cc, &with_ws).await.unwrap_err();
        assert!(e.message.contains("not a workspace name"), "{}", e.message);
        let mut bad_key = conf;
        bad_key.map_mut().unwrap().insert("config".into(), Value::map([("paht", Value::string("x"))]));
        let e = ds.read(&cc, &bad_key).await.unwrap_err();
        assert!(e.message.contains("no setting \"paht\"") && e.message.contains("path"), "{}", e.message);
    }
}
