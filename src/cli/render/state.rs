//! `cairn show` without a plan file: the current state as Terraform's `terraform show` prints
//! it (one `resource` block per instance, then the outputs).

use crate::lang::config::ResourceMode;
use crate::lang::value::Value;
use crate::state::State;

use crate::lang::console_format::format_value_as;

/// `terraform show` says this where a value is secret.
const SENSITIVE: &str = "(sensitive value)";

fn format_value(v: &Value, indent: usize) -> String {
    format_value_as(v, indent, SENSITIVE)
}

/// The state in Terraform's human form; `No state.` when there is none or it is empty.
pub fn state_text(state: Option<&State>) -> String {
    let Some(state) = state.filter(|s| !s.resources.is_empty() || !s.outputs.is_empty()) else {
        return "No state.\n".to_string();
    };
    let mut out = String::new();
    for (addr, r) in &state.resources {
        let keyword = match addr.resource.mode {
            ResourceMode::Managed => "resource",
            ResourceMode::Data => "data",
        };
        let tainted = if r.tainted { " (tainted)" } else { "" };
        let deposed = r.deposed.as_deref().map(|k| format!(" (deposed object {k})")).unwrap_or_default();
        out.push_str(&format!("# {addr}:{tainted}{deposed}\n"));
        out.push_str(&format!("{keyword} \"{}\" \"{}\" {{\n", r.type_name, addr.resource.name));
        // By name, as Terraform lists them (the stored document keeps the API's order).
        let mut attributes: Vec<(&String, Value)> = match r.attributes.as_object() {
            Some(m) => m
                .iter()
                .map(|(k, v)| {
                    // Secrets were never stored: a sensitive attribute is null plus a
                    // fingerprint, shown as Terraform shows a sensitive value.
                    let value = if r.sensitive_fingerprints.contains_key(k) {
                        Value::string("").sensitive()
                    } else {
                        Value::from_json(v)
                    };
                    (k, value)
                })
                .filter(|(_, v)| !v.is_null())
                .collect(),
            None => vec![],
        };
        attributes.sort_by(|a, b| a.0.cmp(b.0));
        let width = attributes.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        for (k, v) in attributes {
            out.push_str(&format!("    {k:<width$} = {}\n", format_value(&v, 4)));
        }
        out.push_str("}\n\n");
    }
    if !state.outputs.is_empty() {
        out.push_str("\nOutputs:\n\n");
        let width = state.outputs.keys().map(String::len).max().unwrap_or(0);
        for (name, o) in &state.outputs {
            let shown = if o.sensitive {
                "(sensitive value)".to_string()
            } else {
                format_value(&Value::from_json(&o.value), 0)
            };
            out.push_str(&format!("{name:<width$} = {shown}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::{InstanceKey, ModulePath, ResourceAddr};
    use crate::state::{OutputState, ResourceInstanceState};

    #[test]
    fn an_instance_is_a_block_with_aligned_attributes_and_secrets_withheld() {
        assert_eq!(state_text(None), "No state.\n");
        assert_eq!(state_text(Some(&State::new())), "No state.\n");
        let mut state = State::new();
        let addr = ResourceAddr::managed(ModulePath::root(), "google_sql_user", "app").instance(InstanceKey::Int(0));
        state.resources.insert(
            addr,
            ResourceInstanceState {
                type_name: "google_sql_user".into(),
                provider: "google".into(),
                attributes: serde_json::json!({"name": "app", "password": null, "instance": "db", "host": null}).into(),
                sensitive_fingerprints: [("password".to_string(), "fp".to_string())].into(),
                dependencies: vec![].into(),
                create_before_destroy: false,
                tainted: true,
                deposed: None,
            },
        );
        state.outputs.insert("n".into(), OutputState { value: serde_json::json!(["a"]), sensitive: false });
        state.outputs.insert("secret".into(), OutputState { value: serde_json::Value::Null, sensitive: true });
        assert_eq!(
            state_text(Some(&state)),
            "# google_sql_user.app[0]: (tainted)\nresource \"google_sql_user\" \"app\" {\n    instance = \"db\"\n    name     = \"app\"\n    password = (sensitive value)\n}\n\n\nOutputs:\n\nn      = [\n  \"a\",\n]\nsecret = (sensitive value)\n"
        );
    }
}
