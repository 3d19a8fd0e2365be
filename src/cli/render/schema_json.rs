//! `cairn providers schema -json`: the schemas of the providers a stack uses, in Terraform's
//! shape (`internal/command/jsonprovider`), so that tools written against
//! `terraform providers schema -json` (editors, linters, documentation generators) read Cairn's.
//!
//! Cairn's schema model maps onto Terraform's one to one, except that a `Single` block (at most
//! one) is what terraform-provider-google declares as a list with `MaxItems: 1`, and so it is
//! written here: `nesting_mode: "list"`, `max_items: 1`, as Terraform prints it for that
//! provider.

use std::sync::Arc;

use serde_json::{json, Map, Value as Json};

use crate::providers::Provider;
use crate::schema::{AttrType, Attribute, BlockType, Nesting, Schema};

/// Terraform's `format_version` for this document.
const FORMAT_VERSION: &str = "1.0";

/// The document for `providers`: each a source address and the provider Cairn ships for it.
pub fn provider_schemas_json(providers: &[(String, Arc<dyn Provider>)]) -> Json {
    let mut schemas = Map::new();
    for (source, provider) in providers {
        let resources: Map<String, Json> =
            provider.resource_types().iter().map(|t| (t.name().to_string(), schema_json(t.schema()))).collect();
        let data_sources: Map<String, Json> =
            provider.data_sources().iter().map(|d| (d.name().to_string(), schema_json(d.schema()))).collect();
        let mut entry = Map::new();
        entry.insert("provider".into(), schema_json(&provider.configuration_schema()));
        // Terraform leaves the maps out when a provider has none (`omitempty`).
        if !resources.is_empty() {
            entry.insert("resource_schemas".into(), Json::Object(resources));
        }
        if !data_sources.is_empty() {
            entry.insert("data_source_schemas".into(), Json::Object(data_sources));
        }
        schemas.insert(source.clone(), Json::Object(entry));
    }
    let mut doc = Map::new();
    doc.insert("format_version".into(), json!(FORMAT_VERSION));
    if !schemas.is_empty() {
        doc.insert("provider_schemas".into(), Json::Object(schemas));
    }
    Json::Object(doc)
}

/// A type's schema: Cairn's types have no schema versions (state is upgraded by format
/// version, not per type), so every version is 0 as for a provider that never bumped one.
fn schema_json(schema: &Schema) -> Json {
    json!({ "version": 0, "block": block_json(schema) })
}

fn block_json(schema: &Schema) -> Json {
    let mut block = Map::new();
    if !schema.attributes.is_empty() {
        let attrs: Map<String, Json> =
            schema.attributes.iter().map(|(name, a)| (name.to_string(), attribute_json(a))).collect();
        block.insert("attributes".into(), Json::Object(attrs));
    }
    if !schema.blocks.is_empty() {
        let blocks: Map<String, Json> =
            schema.blocks.iter().map(|(name, b)| (name.to_string(), block_type_json(b))).collect();
        block.insert("block_types".into(), Json::Object(blocks));
    }
    block.insert("description_kind".into(), json!("plain"));
    Json::Object(block)
}

fn attribute_json(a: &Attribute) -> Json {
    let mut out = Map::new();
    out.insert("type".into(), type_json(&a.ty));
    if !a.description.is_empty() {
        out.insert("description".into(), json!(a.description));
    }
    out.insert("description_kind".into(), json!("plain"));
    // Each flag only when set, as Terraform writes them (`omitempty`).
    for (flag, set) in [
        ("required", a.required),
        ("optional", a.optional),
        ("computed", a.computed),
        ("sensitive", a.sensitive),
        ("write_only", a.write_only),
    ] {
        if set {
            out.insert(flag.into(), json!(true));
        }
    }
    Json::Object(out)
}

fn block_type_json(b: &BlockType) -> Json {
    let (mode, max_items) = match b.nesting {
        Nesting::Single => ("list", 1),
        Nesting::List => ("list", b.max_items),
        Nesting::Set => ("set", b.max_items),
    };
    let mut out = Map::new();
    out.insert("nesting_mode".into(), json!(mode));
    out.insert("block".into(), block_json(&b.block));
    if b.min_items > 0 {
        out.insert("min_items".into(), json!(b.min_items));
    }
    if max_items > 0 {
        out.insert("max_items".into(), json!(max_items));
    }
    Json::Object(out)
}

/// cty's JSON type notation: `"string"`, `["list","string"]`, `"dynamic"`.
fn type_json(t: &AttrType) -> Json {
    match t {
        AttrType::String => json!("string"),
        AttrType::Number => json!("number"),
        AttrType::Bool => json!("bool"),
        AttrType::Dynamic => json!("dynamic"),
        AttrType::List(e) => json!(["list", type_json(e)]),
        AttrType::Set(e) => json!(["set", type_json(e)]),
        AttrType::Map(e) => json!(["map", type_json(e)]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::Registry;

    fn google() -> Json {
        let registry = Registry::for_schemas();
        let google = registry.provider("google").expect("google ships").clone();
        provider_schemas_json(&[("registry.terraform.io/hashicorp/google".into(), google)])
    }

    #[test]
    fn attributes_and_blocks_are_written_as_terraform_writes_them() {
        let doc = google();
        assert_eq!(doc["format_version"], "1.0");
        let p = &doc["provider_schemas"]["registry.terraform.io/hashicorp/google"];
        let sql = &p["resource_schemas"]["google_sql_database_instance"]["block"];
        assert_eq!(p["resource_schemas"]["google_sql_database_instance"]["version"], 0);
        assert_eq!(sql["attributes"]["database_version"]["type"], "string");
        assert_eq!(sql["attributes"]["database_version"]["required"], true);
        assert_eq!(sql["attributes"]["database_version"]["description_kind"], "plain");
        // Only set flags are written.
        assert!(sql["attributes"]["database_version"].get("computed").is_none());
        // `settings` is a list of at most one block, as the provider declares it.
        assert_eq!(sql["block_types"]["settings"]["nesting_mode"], "list");
        assert_eq!(sql["block_types"]["settings"]["max_items"], 1);
        let flags = &sql["block_types"]["settings"]["block"]["block_types"]["database_flags"];
        assert_eq!(flags["nesting_mode"], "set");
        let secret_data = &p["resource_schemas"]["google_secret_manager_secret_version"]["block"]["attributes"];
        assert_eq!(secret_data["secret_data"]["sensitive"], true);
        assert_eq!(p["data_source_schemas"]["google_project"]["block"]["attributes"]["project_id"]["type"], "string");
        assert_eq!(p["provider"]["block"]["attributes"]["project"]["optional"], true);
    }

    #[test]
    fn collection_types_use_cty_notation() {
        assert_eq!(type_json(&AttrType::List(Box::new(AttrType::String))), json!(["list", "string"]));
        assert_eq!(
            type_json(&AttrType::Map(Box::new(AttrType::Set(Box::new(AttrType::Number))))),
            json!(["map", ["set", "number"]])
        );
        assert_eq!(type_json(&AttrType::Dynamic), json!("dynamic"));
    }

    #[test]
    fn every_shipped_type_and_data_source_is_present() {
        let registry = Registry::for_schemas();
        let doc = google();
        let p = &doc["provider_schemas"]["registry.terraform.io/hashicorp/google"];
        let google = registry.provider("google").unwrap();
        for t in google.resource_types() {
            assert!(p["resource_schemas"].get(t.name()).is_some(), "{} missing", t.name());
        }
        for d in google.data_sources() {
            assert!(p["data_source_schemas"].get(d.name()).is_some(), "{} missing", d.name());
        }
    }
}
