//! `plan -generate-config-out=FILE` (Terraform ≥ 1.5): the configuration of an object an
//! `import` block adopts when no resource block describes it, written from the live object.
//!
//! As a person would write it, not as the API returns it: required arguments, and optional
//! ones that are set and differ from their default; attributes only the provider computes are
//! left out (Terraform writes them as `null`; they would only be noise to review), and so are
//! optional-and-computed collections, which the provider fills in when they are not written.
//! Nested blocks stay blocks. A secret is never written: a sensitive argument becomes a
//! reference to a new `variable` (`sensitive = true`, no default) declared in the same file,
//! whose value the user supplies (`TF_VAR_…`, `-var`), as they would for any secret.
//! The text goes through `cairn fmt`'s formatter, so it is in canonical layout.

use crate::addr::InstanceAddr;
use crate::lang::fmt::hcl_quote;
use crate::lang::value::Value;
use crate::schema::{AttrType, Attribute, Nesting, Schema};

/// Terraform's header, naming Cairn as the writer (tools look for `__generated__`).
const HEADER: &str =
    "# __generated__ by Cairn\n# Please review these resources and move them into your main configuration files.\n";

/// One imported object's configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct GeneratedResource {
    pub addr: InstanceAddr,
    /// The resource block, with its `# __generated__ … from "ID"` line.
    pub block: String,
    /// `variable` blocks for the block's secrets.
    pub variables: Vec<String>,
}

/// The configuration of `object` (the live value read by import, with the schema's sensitive
/// marks) for the resource at `addr`. `import_id` is named in the comment unless it is secret.
pub fn resource_config(addr: &InstanceAddr, import_id: &Value, schema: &Schema, object: &Value) -> GeneratedResource {
    let r = &addr.resource;
    let mut w = Writer { var_prefix: format!("{}_{}", r.type_name, r.name), variables: Vec::new() };
    let mut block = String::from("# __generated__ by Cairn");
    if let Some(id) = import_id.as_str().filter(|_| !import_id.contains_sensitive()) {
        block.push_str(&format!(" from {}", hcl_quote(id)));
    }
    block.push_str(&format!("\nresource {} {} {{\n", hcl_quote(&r.type_name), hcl_quote(&r.name)));
    w.body(schema, object, &[], 1, &mut block);
    block.push_str("}\n");
    GeneratedResource { addr: addr.clone(), block, variables: w.variables }
}

/// The whole file: the header, each resource, then the variables its secrets became, in
/// `cairn fmt` layout.
pub fn file_text(resources: &[GeneratedResource]) -> Result<String, String> {
    let mut text = String::from(HEADER);
    for r in resources {
        text.push('\n');
        text.push_str(&r.block);
    }
    for v in resources.iter().flat_map(|r| &r.variables) {
        text.push('\n');
        text.push_str(v);
    }
    crate::lang::fmt::format_source(&text)
}

struct Writer {
    var_prefix: String,
    variables: Vec<String>,
}

impl Writer {
    fn body(&mut self, schema: &Schema, object: &Value, path: &[&str], depth: usize, out: &mut String) {
        let indent = "  ".repeat(depth);
        for (name, a) in &schema.attributes {
            let Some(v) = object.get(name) else { continue };
            if !written(a, v) {
                continue;
            }
            let mut at: Vec<&str> = path.to_vec();
            at.push(name);
            let shown = if a.sensitive || v.contains_sensitive() { self.variable(&at, &a.ty) } else { hcl(v) };
            out.push_str(&format!("{indent}{name} = {shown}\n"));
        }
        for (name, b) in &schema.blocks {
            let items: Vec<&Value> = match object.get(name).map(Value::peel) {
                Some(Value::List(xs)) | Some(Value::Set(xs)) => xs.iter().collect(),
                Some(m @ Value::Map(_)) if b.nesting == Nesting::Single => vec![m],
                _ => continue,
            };
            let mut at: Vec<&str> = path.to_vec();
            at.push(name);
            for item in items {
                if item.is_null() || item.is_unknown() {
                    continue;
                }
                out.push_str(&format!("{indent}{name} {{\n"));
                self.body(&b.block, item, &at, depth + 1, out);
                out.push_str(&format!("{indent}}}\n"));
            }
        }
    }

    /// Declares the variable a secret at `path` becomes and returns the reference to it.
    fn variable(&mut self, path: &[&str], ty: &AttrType) -> String {
        let name = format!("{}_{}", self.var_prefix, path.join("_")).replace('-', "_");
        self.variables.push(format!(
            "variable {} {{\n  type      = {}\n  sensitive = true\n}}\n",
            hcl_quote(&name),
            type_expr(ty)
        ));
        format!("var.{name}")
    }
}

/// Whether an attribute with this live value belongs in the configuration: arguments only,
/// set, not the default, and not a collection the provider fills in by itself.
fn written(a: &Attribute, v: &Value) -> bool {
    if !(a.required || a.optional) || a.write_only {
        return false;
    }
    if v.is_null() || matches!(v.peel(), Value::Unknown(_)) && !v.is_sensitive() {
        return false;
    }
    if a.required {
        return true;
    }
    if a.default.as_ref().is_some_and(|d| d.same_as(v)) {
        return false;
    }
    let empty = match v.peel() {
        Value::List(xs) | Value::Set(xs) => xs.is_empty(),
        Value::Map(m) => m.is_empty(),
        Value::String(s) => s.is_empty(),
        _ => false,
    };
    let collection = matches!(a.ty, AttrType::List(_) | AttrType::Set(_) | AttrType::Map(_));
    !(empty || (a.computed && collection))
}

fn type_expr(ty: &AttrType) -> String {
    match ty {
        AttrType::String => "string".into(),
        AttrType::Number => "number".into(),
        AttrType::Bool => "bool".into(),
        AttrType::List(e) => format!("list({})", type_expr(e)),
        AttrType::Set(e) => format!("set({})", type_expr(e)),
        AttrType::Map(e) => format!("map({})", type_expr(e)),
        AttrType::Dynamic => "any".into(),
    }
}

fn is_identifier(k: &str) -> bool {
    let mut cs = k.chars();
    cs.next().is_some_and(|c| c.is_alphabetic() || c == '_') && cs.all(|c| c.is_alphanumeric() || c == '_' || c == '-')
}

/// A known, non-secret value as an HCL expression.
fn hcl(v: &Value) -> String {
    match v.peel() {
        Value::Null | Value::Unknown(_) => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => hcl_quote(s),
        Value::List(xs) | Value::Set(xs) => format!("[{}]", xs.iter().map(hcl).collect::<Vec<_>>().join(", ")),
        Value::Map(m) if m.is_empty() => "{}".into(),
        Value::Map(m) => {
            let mut s = String::from("{\n");
            for (k, x) in m.iter() {
                let key = if is_identifier(k) { k.clone() } else { hcl_quote(k) };
                s.push_str(&format!("{key} = {}\n", hcl(x)));
            }
            s.push('}');
            s
        }
        Value::Sensitive(_) => "null".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::{InstanceKey, ModulePath, ResourceAddr};
    use crate::schema::BlockType;

    fn schema() -> Schema {
        let mut inner = Schema::default();
        inner.attributes.insert("port", Attribute::optional(AttrType::Number));
        inner.attributes.insert("path", Attribute::optional(AttrType::String).default("/"));
        let mut s = Schema::default();
        s.attributes.insert("name", Attribute::required(AttrType::String));
        s.attributes.insert("id", Attribute::computed(AttrType::String));
        s.attributes.insert("project", Attribute::optional_computed(AttrType::String));
        s.attributes.insert("labels", Attribute::optional(AttrType::Map(Box::new(AttrType::String))));
        s.attributes.insert("effective", Attribute::optional_computed(AttrType::Map(Box::new(AttrType::String))));
        s.attributes.insert("timeout", Attribute::optional(AttrType::Number).default(5.0));
        s.attributes.insert("password", Attribute::optional(AttrType::String).sensitive());
        s.blocks.insert("http", BlockType::single(inner));
        s
    }

    #[test]
    fn arguments_as_a_person_writes_them_and_secrets_as_variables() {
        let addr =
            ResourceAddr::managed(ModulePath::root(), "google_compute_health_check", "hc").instance(InstanceKey::None);
        let object = Value::map([
            ("name", Value::from("hc-1")),
            ("id", Value::from("projects/p/global/healthChecks/hc-1")),
            ("project", Value::from("p")),
            ("labels", Value::map([("team", Value::from("a${b}")), ("the key", Value::from("x"))])),
            ("effective", Value::map([("goog", Value::from("y"))])),
            ("timeout", Value::from(5)),
            ("password", Value::from("hunter2").sensitive()),
            ("http", Value::List(vec![Value::map([("port", Value::from(80)), ("path", Value::from("/"))])])),
        ]);
        let g = resource_config(&addr, &Value::from("hc-1"), &schema(), &object);
        let text = file_text(std::slice::from_ref(&g)).unwrap();
        assert_eq!(
            text,
            "# __generated__ by Cairn\n# Please review these resources and move them into your main configuration files.\n\n\
             # __generated__ by Cairn from \"hc-1\"\n\
             resource \"google_compute_health_check\" \"hc\" {\n\
             \x20 name    = \"hc-1\"\n\
             \x20 project = \"p\"\n\
             \x20 labels = {\n\
             \x20   team      = \"a$${b}\"\n\
             \x20   \"the key\" = \"x\"\n\
             \x20 }\n\
             \x20 password = var.google_compute_health_check_hc_password\n\
             \x20 http {\n\
             \x20   port = 80\n\
             \x20 }\n\
             }\n\n\
             variable \"google_compute_health_check_hc_password\" {\n\
             \x20 type      = string\n\
             \x20 sensitive = true\n\
             }\n"
        );
        assert!(!text.contains("hunter2"));
        // A secret id is not named in the comment.
        let g = resource_config(&addr, &Value::from("hc-1").sensitive(), &schema(), &object);
        assert!(g.block.starts_with("# __generated__ by Cairn\nresource"), "{}", g.block);
    }
}
