//! The generator: `products/**/*.yaml` (magic-modules' product definitions, vendored) →
//! `generated.json`. It runs as a test, the way rust-analyzer's sourcegen does: the test
//! regenerates the file and fails when the checked-in copy differs (after rewriting it), so a
//! changed definition is one `cargo test` and a commit away, and CI catches a forgotten one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_yaml_ng::Value as Yaml;

use super::definition::{underscore, Definition, Field, Kind, Timeouts, Validation};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src/providers/google/mmv1")
}

fn str_of<'a>(y: &'a Yaml, key: &str) -> Option<&'a str> {
    y.get(key).and_then(Yaml::as_str)
}

fn flag(y: &Yaml, key: &str) -> bool {
    y.get(key).and_then(Yaml::as_bool).unwrap_or(false)
}

fn strings(y: &Yaml, key: &str) -> Vec<String> {
    match y.get(key) {
        Some(Yaml::Sequence(s)) => s.iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
        Some(Yaml::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

fn to_json(y: &Yaml) -> serde_json::Value {
    serde_json::to_value(y).expect("YAML scalars convert to JSON")
}

/// Whether the GA provider has it: beta-only fields and excluded ones are left out.
fn in_ga(y: &Yaml) -> bool {
    str_of(y, "min_version") != Some("beta") && !flag(y, "exclude")
}

fn kind_of(ty: &str, context: &str) -> Kind {
    match ty {
        "String" => Kind::String,
        "Integer" => Kind::Integer,
        "Double" => Kind::Double,
        "Boolean" => Kind::Boolean,
        "Enum" => Kind::Enum,
        "Time" => Kind::Time,
        "Fingerprint" => Kind::Fingerprint,
        "ResourceRef" => Kind::ResourceRef,
        "KeyValuePairs" => Kind::KeyValuePairs,
        "KeyValueLabels" => Kind::KeyValueLabels,
        "KeyValueAnnotations" => Kind::KeyValueAnnotations,
        "NestedObject" => Kind::NestedObject,
        "Array" => Kind::Array,
        other => panic!("{context}: magic-modules type {other:?} is not known to the generator; teach it"),
    }
}

fn validation(v: &Yaml, context: &str) -> Option<Validation> {
    if let Some(regex) = str_of(v, "regex") {
        return Some(Validation::Regex(regex.to_string()));
    }
    let function = str_of(v, "function")?;
    let args = |prefix: &str| -> Option<Vec<f64>> {
        let inner = function.strip_prefix(prefix)?.strip_prefix('(')?.strip_suffix(')')?;
        inner.split(',').map(|a| a.trim().parse::<f64>().ok()).collect()
    };
    if let Some(a) = args("validation.IntBetween").or_else(|| args("validation.FloatBetween")) {
        assert_eq!(a.len(), 2, "{context}: {function}");
        return Some(Validation::Range { min: Some(a[0]), max: Some(a[1]) });
    }
    if let Some(a) = args("validation.IntAtLeast") {
        return Some(Validation::Range { min: Some(a[0]), max: None });
    }
    if function == "verify.ValidateGCEName" {
        return Some(Validation::GceName);
    }
    Some(Validation::Function(function.to_string()))
}

/// One property (or parameter) and what it contains. `inherited_immutable`: an enclosing object
/// (or the resource) replaces on change, so this field does too unless it has its own update
/// call.
fn field(y: &Yaml, inherited_immutable: bool, url_param: bool, context: &str) -> Vec<Field> {
    if !in_ga(y) {
        return Vec::new();
    }
    let camel = str_of(y, "name").unwrap_or_else(|| panic!("{context}: a property without a name"));
    let context = format!("{context}.{camel}");
    let ty = str_of(y, "type").unwrap_or_else(|| panic!("{context}: no type"));
    let mut f = Field::new(underscore(camel), kind_of(ty, &context));
    f.api = (!url_param && !flag(y, "url_param_only")).then(|| str_of(y, "api_name").unwrap_or(camel).to_string());
    f.required = flag(y, "required");
    f.output = flag(y, "output");
    f.update_url = str_of(y, "update_url").map(str::to_string);
    f.update_verb = str_of(y, "update_verb").map(str::to_string);
    f.immutable = !f.output && (flag(y, "immutable") || (inherited_immutable && f.update_url.is_none()));
    f.default_from_api = flag(y, "default_from_api");
    f.default = y.get("default_value").map(to_json);
    f.enum_values = strings(y, "enum_values");
    f.validation = y.get("validation").and_then(|v| validation(v, &context));
    f.min_size = y.get("min_size").and_then(Yaml::as_u64);
    f.max_size = y.get("max_size").and_then(Yaml::as_u64);
    f.sensitive = flag(y, "sensitive");
    f.write_only = flag(y, "write_only");
    f.ignore_read = flag(y, "ignore_read");
    f.send_empty_value = flag(y, "send_empty_value");
    f.allow_empty_object = flag(y, "allow_empty_object");
    f.exactly_one_of = strings(y, "exactly_one_of");
    f.at_least_one_of = strings(y, "at_least_one_of");
    f.conflicts = strings(y, "conflicts");
    f.required_with = strings(y, "required_with");
    f.diff_suppress = str_of(y, "diff_suppress_func").map(str::to_string);
    f.custom_expand = str_of(y, "custom_expand").map(str::to_string);
    f.custom_flatten = str_of(y, "custom_flatten").map(str::to_string);
    f.set = flag(y, "is_set");
    let children_immutable = f.immutable;
    let nested = |props: Option<&Yaml>, ctx: &str| -> Vec<Field> {
        match props {
            Some(Yaml::Sequence(ps)) => ps.iter().flat_map(|p| field(p, children_immutable, false, ctx)).collect(),
            _ => Vec::new(),
        }
    };
    match f.kind {
        Kind::NestedObject => f.fields = nested(y.get("properties"), &context),
        Kind::Array => {
            let item = y.get("item_type").unwrap_or_else(|| panic!("{context}: an array without item_type"));
            let item_ty = match item {
                Yaml::String(s) => s.as_str(),
                other => str_of(other, "type").unwrap_or_else(|| panic!("{context}: item_type without a type")),
            };
            let item_kind = kind_of(item_ty, &context);
            f.item = Some(item_kind);
            if item_kind == Kind::NestedObject {
                f.fields = nested(item.get("properties"), &context);
            }
            if f.enum_values.is_empty() {
                f.enum_values = strings(item, "enum_values");
            }
            f.item_validation = y.get("item_validation").and_then(|v| validation(v, &context));
        }
        _ => {}
    }
    if f.kind == Kind::NestedObject && flag(y, "flatten_object") {
        // Terraform shows the object's fields in its place.
        let object = f.api.clone();
        return f
            .fields
            .into_iter()
            .map(|mut child| {
                child.flattened_from = object.clone();
                child.required |= f.required && child.required;
                child
            })
            .collect();
    }
    vec![f]
}

/// A `write_only` property becomes three Terraform arguments: the sensitive one, its
/// write-only twin `X_wo` (never stored), and `X_wo_version`, whose change sends `X_wo` again.
fn write_only_variants(fields: Vec<Field>) -> Vec<Field> {
    let mut out = Vec::with_capacity(fields.len());
    for mut f in fields {
        f.fields = write_only_variants(std::mem::take(&mut f.fields));
        if !f.write_only {
            out.push(f);
            continue;
        }
        let mut wo = f.clone();
        f.write_only = false;
        wo.name = format!("{}_wo", f.name);
        (wo.required, wo.sensitive) = (false, true);
        wo.conflicts = vec![f.name.clone()];
        let mut version = Field::new(format!("{}_wo_version", f.name), Kind::String);
        version.required_with = vec![wo.name.clone()];
        version.immutable = f.immutable;
        if f.required {
            // One of the two must be set.
            f.required = false;
            f.exactly_one_of = vec![f.name.clone(), wo.name.clone()];
            wo.exactly_one_of = f.exactly_one_of.clone();
        }
        out.extend([f, wo, version]);
    }
    out
}

/// Terraform-only fields the provider adds around the definition's own.
fn provider_fields(def: &Definition, fields: &mut Vec<Field>) {
    let has = |fields: &[Field], name: &str| fields.iter().any(|f| f.name == name);
    let mut id = Field::new("id", Kind::String);
    id.output = true;
    fields.push(id);
    // The provider's resource-wide deletion_policy (PREVENT / ABANDON / DELETE).
    if !has(fields, "deletion_policy") {
        let mut policy = Field::new("deletion_policy", Kind::Enum);
        policy.virtual_field = true;
        policy.default = Some(serde_json::Value::String("DELETE".into()));
        policy.enum_values = ["DELETE", "ABANDON", "PREVENT"].map(String::from).to_vec();
        fields.push(policy);
    }
    if def.base_url.contains("{{project}}") && !has(fields, "project") {
        let mut project = Field::new("project", Kind::String);
        (project.default_from_api, project.immutable) = (true, true);
        fields.push(project);
    }
    let mut extra = Vec::new();
    for f in fields.iter() {
        let derived: &[&str] = match f.kind {
            Kind::KeyValueLabels => &["effective_labels", "terraform_labels"],
            Kind::KeyValueAnnotations => &["effective_annotations"],
            _ => &[],
        };
        for name in derived {
            let mut d = Field::new(*name, Kind::KeyValuePairs);
            d.output = true;
            // effective_labels is what the API holds; it travels under the labels' API name.
            if *name != "terraform_labels" {
                d.api = f.api.clone();
            }
            extra.push(d);
        }
    }
    fields.extend(extra);
    if def.has_self_link && !has(fields, "self_link") {
        let mut self_link = Field::new("self_link", Kind::String);
        (self_link.output, self_link.api) = (true, Some("selfLink".into()));
        fields.push(self_link);
    }
}

fn definition(product: &Yaml, res: &Yaml, file: &str) -> Definition {
    let product_name = str_of(product, "name").expect("product.yaml has a name");
    let product_legacy = str_of(product, "legacy_name").map(str::to_string).unwrap_or_else(|| underscore(product_name));
    let resource = str_of(res, "name").unwrap_or_else(|| panic!("{file}: no name"));
    let resource_legacy = str_of(res, "legacy_name").map(str::to_string).unwrap_or_else(|| underscore(resource));
    let timeouts = res.get("timeouts");
    let minutes = |key: &str| timeouts.and_then(|t| t.get(key)).and_then(Yaml::as_u64).unwrap_or(20) as u32;
    let mut def = Definition {
        type_name: format!("google_{product_legacy}_{resource_legacy}"),
        product: product_name.to_string(),
        resource: resource.to_string(),
        base_url: str_of(res, "base_url").unwrap_or_else(|| panic!("{file}: no base_url")).to_string(),
        self_link: str_of(res, "self_link").map(str::to_string),
        id_format: str_of(res, "id_format").map(str::to_string),
        import_formats: strings(res, "import_format"),
        immutable: flag(res, "immutable"),
        has_self_link: flag(res, "has_self_link"),
        update_verb: str_of(res, "update_verb").map(str::to_string),
        update_mask: flag(res, "update_mask"),
        timeouts: Timeouts {
            create: minutes("insert_minutes"),
            update: minutes("update_minutes"),
            delete: minutes("delete_minutes"),
        },
        fields: Vec::new(),
    };
    let mut fields = Vec::new();
    for (key, url_param) in [("parameters", true), ("properties", false)] {
        if let Some(Yaml::Sequence(ps)) = res.get(key) {
            // A parameter is a URL parameter only when it says so (most do).
            fields.extend(ps.iter().flat_map(|p| {
                field(p, def.immutable, url_param && flag(p, "url_param_only"), &format!("{file}:{key}"))
            }));
        }
    }
    if let Some(Yaml::Sequence(vs)) = res.get("virtual_fields") {
        for v in vs {
            let name = str_of(v, "name").unwrap_or_else(|| panic!("{file}: a virtual field without a name"));
            let ty = str_of(v, "type").unwrap_or("Boolean");
            let mut f = Field::new(name, kind_of(ty, file));
            f.virtual_field = true;
            f.default = v.get("default_value").map(to_json);
            f.enum_values = strings(v, "enum_values");
            fields.push(f);
        }
    }
    let mut fields = write_only_variants(fields);
    provider_fields(&def, &mut fields);
    def.fields = fields;
    def
}

/// Every vendored definition, by Terraform type name.
pub fn generate() -> BTreeMap<String, Definition> {
    let mut out = BTreeMap::new();
    let products = dir().join("products");
    let mut product_dirs: Vec<_> = std::fs::read_dir(&products).expect("products/ exists").flatten().collect();
    product_dirs.sort_by_key(|e| e.path());
    for product_dir in product_dirs {
        let read = |p: &Path| -> Yaml {
            let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        };
        let product = read(&product_dir.path().join("product.yaml"));
        let mut files: Vec<_> = std::fs::read_dir(product_dir.path()).expect("readable").flatten().collect();
        files.sort_by_key(|e| e.path());
        for f in files {
            let path = f.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
            if !name.ends_with(".yaml") || name == "product.yaml" {
                continue;
            }
            let def =
                definition(&product, &read(&path), &format!("{}/{name}", product_dir.file_name().to_string_lossy()));
            out.insert(def.type_name.clone(), def);
        }
    }
    out
}

/// The checked-in `generated.json` matches the definitions; when it does not, it is rewritten
/// and the test fails so that the change is reviewed and committed.
#[test]
fn generated_json_is_up_to_date() {
    let defs: Vec<Definition> = generate().into_values().collect();
    let mut text = serde_json::to_string_pretty(&defs).expect("definitions encode");
    text.push('\n');
    let path = dir().join("generated.json");
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    if current != text {
        std::fs::write(&path, &text).expect("generated.json is writable");
        panic!("{} was out of date and has been regenerated: review and commit it", path.display());
    }
}
