//! The completeness test: for every Google type Cairn supports, the arguments, blocks and
//! attributes its provider reference page documents (tests/provider_docs/, vendored from
//! terraform-provider-google, MPL-2.0) are exactly the names in Cairn's schema, level by level.
//! Reasoned exceptions are listed in [`EXCEPTIONS`], and nowhere else.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::providers::Provider;
use crate::schema::{AttrType, Schema};

/// (type, path of the name in dotted form, why the page and the schema differ there). A path
/// names one attribute or block (`settings.ip_configuration.psc_config`); an exception covers
/// that name in both directions.
pub const EXCEPTIONS: &[(&str, &str, &str)] = &[
    (
        "google_bigquery_dataset_iam_member",
        "policy_data",
        "the shared _iam page documents policy_data for google_bigquery_dataset_iam_policy only",
    ),
    (
        "google_bigquery_dataset_iam_member",
        "member",
        "the shared _iam page writes `member/members` for the member and binding types in one entry",
    ),
    (
        "google_cloud_run_v2_service_iam_member",
        "policy_data",
        "the shared _iam page documents policy_data for google_cloud_run_v2_service_iam_policy only",
    ),
    (
        "google_cloud_run_v2_service_iam_member",
        "member",
        "the shared _iam page writes `member/members` for the member and binding types in one entry",
    ),
    (
        "google_cloud_run_v2_service_iam_member",
        "condition",
        "the provider's IAM condition block (title, description, expression) is described only in the page's examples, which the vendored page leaves out",
    ),
    (
        "google_compute_managed_ssl_certificate",
        "managed.status",
        "Cairn exposes the API's provisioning status (managed.status) so check blocks can wait for ACTIVE; the provider does not",
    ),
    (
        "google_compute_managed_ssl_certificate",
        "managed.domain_status",
        "Cairn exposes the API's per-domain provisioning status (managed.domainStatus); the provider does not",
    ),
    (
        "google_secret_manager_secret",
        "enabled_version_count",
        "Cairn's own health attribute: how many versions are ENABLED, read only by `cairn check` (one versions.list per secret) and never stored",
    ),
    (
        "google_sql_database_instance",
        "state",
        "Cairn's own: the instance's state (RUNNABLE, SUSPENDED, ...), which `cairn check` reads; the provider does not export it",
    ),
    (
        "google_sql_database_instance",
        "settings.ip_configuration.psc_config.psc_auto_connections",
        "the page lists psc_auto_connections' fields inside the psc_config section, without a section of their own",
    ),
    (
        "google_sql_database_instance",
        "settings.ip_configuration.psc_config.consumer_network",
        "a field of psc_auto_connections that the page lists inside the psc_config section",
    ),
    (
        "google_sql_database_instance",
        "settings.ip_configuration.psc_config.consumer_service_project_id",
        "a field of psc_auto_connections that the page lists inside the psc_config section",
    ),
    (
        "google_sql_database_instance",
        "settings.read_pool_auto_scale_config.target_metrics",
        "the page lists target_metrics' fields inside the read_pool_auto_scale_config section",
    ),
    (
        "google_sql_database_instance",
        "settings.read_pool_auto_scale_config.metric",
        "a field of target_metrics that the page lists inside the read_pool_auto_scale_config section",
    ),
    (
        "google_sql_database_instance",
        "settings.read_pool_auto_scale_config.target_value",
        "a field of target_metrics that the page lists inside the read_pool_auto_scale_config section",
    ),
    (
        "google_sql_user",
        "password_policy.status",
        "the page lists status' output fields (locked, password_expiration_time) inside the password_policy section",
    ),
    (
        "google_sql_user",
        "password_policy.locked",
        "an output field of password_policy.status that the page lists one level up",
    ),
    (
        "google_sql_user",
        "password_policy.password_expiration_time",
        "an output field of password_policy.status that the page lists one level up",
    ),
];

/// What a reference page documents: each level's names (the root is "").
#[derive(Debug, Default)]
pub struct Documented {
    /// Block path (dotted; "" for the top) → names documented at that level.
    pub levels: BTreeMap<String, BTreeSet<String>>,
    /// Section headers whose block could not be placed in the schema.
    pub unplaced: Vec<String>,
}

/// Every block path of `schema`, dotted, with its leaf name.
fn block_paths(schema: &Schema, prefix: &str, out: &mut Vec<String>) {
    for (name, bt) in &schema.blocks {
        let path = if prefix.is_empty() { name.to_string() } else { format!("{prefix}.{name}") };
        out.push(path.clone());
        block_paths(&bt.block, &path, out);
    }
}

/// Every attribute path of `schema` that holds an output-only object (typed `Dynamic`): the
/// page documents its fields in a section of its own, which the schema does not break down.
fn object_attribute_paths(schema: &Schema, prefix: &str, out: &mut Vec<String>) {
    for (name, a) in &schema.attributes {
        let object = matches!(&a.ty, AttrType::Dynamic)
            || matches!(&a.ty, AttrType::List(t) | AttrType::Set(t) if matches!(**t, AttrType::Dynamic | AttrType::Map(_)));
        if object {
            out.push(if prefix.is_empty() { name.to_string() } else { format!("{prefix}.{name}") });
        }
    }
    for (name, bt) in &schema.blocks {
        let path = if prefix.is_empty() { name.to_string() } else { format!("{prefix}.{name}") };
        object_attribute_paths(&bt.block, &path, out);
    }
}

/// The names at one level of `schema` (attributes and blocks).
fn names_at(schema: &Schema, path: &str) -> Option<BTreeSet<String>> {
    let mut s = schema;
    if !path.is_empty() {
        for seg in path.split('.') {
            s = &s.blocks.get(seg)?.block;
        }
    }
    Some(s.attributes.keys().chain(s.blocks.keys()).map(|n| n.to_string()).collect())
}

/// Where a section's header places its block: a dotted path as written, the anchor's
/// underscore-joined path, or a leaf name that only one block has.
fn place(paths: &[String], anchor: Option<&str>, written: &str) -> Option<String> {
    if let Some(anchor) = anchor {
        let hits: Vec<&String> = paths.iter().filter(|p| p.replace('.', "_") == anchor).collect();
        if hits.len() == 1 {
            return Some(hits[0].clone());
        }
    }
    if paths.iter().any(|p| p == written) {
        return Some(written.to_string());
    }
    let leaf = written.rsplit('.').next().unwrap_or(written);
    let hits: Vec<&String> = paths.iter().filter(|p| p.rsplit('.').next() == Some(leaf)).collect();
    (hits.len() == 1).then(|| hits[0].clone())
}

/// Reads a reference page's "Argument Reference" and "Attributes Reference" sections.
pub fn documented(page: &str, schema: &Schema) -> Documented {
    let header = regex::Regex::new(
        r"^(?:<a name=.nested_([a-z0-9_]+).></a>)?\s*The (?:optional(?:, computed)? )?`([a-z0-9_.\[\]]+)`( \(Beta\))? (?:sub)?(?:block|list|sublist)s?\b",
    )
    .expect("valid regex");
    let item = regex::Regex::new(r"^\*\s+`([a-z0-9_.]+)`").expect("valid regex");
    let mut paths = Vec::new();
    block_paths(schema, "", &mut paths);
    let mut objects = Vec::new();
    object_attribute_paths(schema, "", &mut objects);
    let mut doc = Documented::default();
    let mut in_reference = false;
    let mut level = String::new();
    let lines: Vec<&str> = page.lines().collect();
    // Beta-only names (Cairn follows the GA provider), underscore-joined like the anchors, so
    // that their own sections are recognised too.
    let mut beta: Vec<String> = Vec::new();
    let is_beta_item =
        |i: usize| lines[i..lines.len().min(i + 3)].iter().any(|l| l.contains("Beta]") || l.contains(", Beta)"));
    for (i, line) in lines.iter().copied().enumerate() {
        if let Some(title) = line.strip_prefix("## ") {
            in_reference = title.starts_with("Argument Reference") || title.starts_with("Attributes Reference");
            level.clear();
            continue;
        }
        if !in_reference {
            continue;
        }
        if let Some(c) = header.captures(line) {
            let written = c[2].replace("[]", "");
            let written = written.as_str();
            let anchor = c.get(1).map(|m| m.as_str());
            if c.get(3).is_some() {
                beta.push(anchor.map(str::to_string).unwrap_or_else(|| written.replace('.', "_")));
                level = format!("?{written}");
                continue;
            }
            match place(&paths, anchor, written) {
                Some(p) => {
                    // A block with a section of its own is documented at its parent's level too.
                    let (parent, leaf) = p.rsplit_once('.').unwrap_or(("", p.as_str()));
                    doc.levels.entry(parent.to_string()).or_default().insert(leaf.to_string());
                    level = p;
                }
                None => {
                    let key = anchor.map(str::to_string).unwrap_or_else(|| written.replace('.', "_"));
                    let output_object = place(&objects, anchor, written).is_some()
                        || objects.iter().any(|o| key.starts_with(&o.replace('.', "_")));
                    if !output_object && !beta.iter().any(|b| key.starts_with(b.as_str()) || b.ends_with(&key)) {
                        doc.unplaced.push(written.to_string());
                    }
                    level = format!("?{written}");
                }
            }
            continue;
        }
        if let Some(c) = item.captures(line) {
            // A dotted item names its full path from the top (`settings.0.tier`: the `.0` is
            // the block's index, as Terraform writes it).
            let name = c[1].replace(".0.", ".");
            let (lvl, leaf) = match name.rsplit_once('.') {
                Some((parent, leaf)) => (parent.to_string(), leaf.to_string()),
                None => (level.clone(), name.to_string()),
            };
            // Inside an output-only object: the object itself is the documented name.
            if objects.contains(&lvl) {
                let (parent, object) = lvl.rsplit_once('.').unwrap_or(("", lvl.as_str()));
                doc.levels.entry(parent.to_string()).or_default().insert(object.to_string());
                continue;
            }
            if is_beta_item(i) {
                let joined = if lvl.is_empty() { leaf.clone() } else { format!("{lvl}.{leaf}") };
                beta.push(joined.replace('.', "_"));
                continue;
            }
            doc.levels.entry(lvl).or_default().insert(leaf);
        }
    }
    doc
}

/// Differences between a type's page and its schema, as lines (empty when they agree).
pub fn differences(type_name: &str, page: &str, schema: &Schema) -> Vec<String> {
    differences_except(type_name, page, schema, EXCEPTIONS)
}

fn differences_except(type_name: &str, page: &str, schema: &Schema, exceptions: &[(&str, &str, &str)]) -> Vec<String> {
    // An exception covers its path and everything below it.
    let excepted = |path: &str| {
        exceptions.iter().any(|(t, p, _)| {
            *t == type_name && (*p == path || path.strip_prefix(*p).is_some_and(|rest| rest.starts_with('.')))
        })
    };
    let doc = documented(page, schema);
    let mut out: Vec<String> = doc
        .unplaced
        .iter()
        .filter(|w| !excepted(w))
        .map(|w| format!("{type_name}: the page documents block `{w}`, which the schema does not have"))
        .collect();
    let join = |lvl: &str, n: &str| if lvl.is_empty() { n.to_string() } else { format!("{lvl}.{n}") };
    for (lvl, names) in &doc.levels {
        if lvl.starts_with('?') {
            continue;
        }
        let Some(have) = names_at(schema, lvl) else {
            if !excepted(lvl) {
                out.push(format!("{type_name}: the page documents names under `{lvl}`, which is not a block"));
            }
            continue;
        };
        for n in names.difference(&have) {
            if !excepted(&join(lvl, n)) {
                out.push(format!("{type_name}: `{}` is documented but not in the schema", join(lvl, n)));
            }
        }
        for n in have.difference(names) {
            // `id` and `timeouts` are Terraform's own, on every type.
            if lvl.is_empty() && (n == "id" || n == "timeouts") {
                continue;
            }
            if !excepted(&join(lvl, n)) {
                out.push(format!("{type_name}: `{}` is in the schema but not documented", join(lvl, n)));
            }
        }
    }
    // A block of the schema the page never describes: its names were not compared.
    let mut paths = Vec::new();
    block_paths(schema, "", &mut paths);
    for p in paths {
        let documented_here = doc.levels.contains_key(&p);
        let empty = names_at(schema, &p).is_none_or(|n| n.is_empty());
        if !documented_here && !empty && !excepted(&p) {
            out.push(format!("{type_name}: block `{p}` has no section on the page"));
        }
    }
    out
}

fn page(type_name: &str) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/provider_docs");
    let mut path = dir.join(format!("{type_name}.md"));
    // The provider documents an API's three IAM types (`_iam_member`, `_iam_binding`,
    // `_iam_policy`) on one `_iam` page.
    if let Some(base) = type_name.strip_suffix("_member").filter(|b| b.ends_with("_iam") && !path.exists()) {
        path = dir.join(format!("{base}.md"));
    }
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_supported_type_has_its_documented_schema() {
    let provider = super::GoogleProvider::new(super::GoogleOptions { emulator: None, ..Default::default() });
    let mut all = Vec::new();
    for rt in provider.resource_types() {
        all.extend(differences(rt.name(), &page(rt.name()), rt.schema()));
    }
    assert!(all.is_empty(), "{} differences:\n{}", all.len(), all.join("\n"));
}

#[test]
fn every_exception_is_used_and_argued() {
    let provider = super::GoogleProvider::new(super::GoogleOptions { emulator: None, ..Default::default() });
    let types: Vec<String> = provider.resource_types().iter().map(|t| t.name().to_string()).collect();
    for (t, p, why) in EXCEPTIONS {
        assert!(types.iter().any(|n| n == t), "exception for unknown type {t}");
        assert!(why.len() > 20, "{t} {p}: say why");
    }
    // None is stale: without it, its type's check reports its path.
    for rt in provider.resource_types() {
        let raw = differences_except(rt.name(), &page(rt.name()), rt.schema(), &[]);
        for (_, p, _) in EXCEPTIONS.iter().filter(|(t, _, _)| *t == rt.name()) {
            assert!(raw.iter().any(|d| d.contains(&format!("`{p}"))), "{} {p}: no longer needed", rt.name());
        }
    }
}

#[test]
fn the_check_sees_a_missing_argument_and_an_undocumented_one() {
    use crate::schema::{Attribute, BlockType};
    let page = "## Argument Reference\n\n* `name` - (Required)\n* `size` - (Optional)\n* `http` - block\n\n\
        <a name=\"nested_http\"></a>The `http` block supports:\n\n* `port` - (Optional)\n\n## Timeouts\n* `create` - x\n";
    let schema = Schema::new()
        .attr("name", Attribute::required(AttrType::String))
        .attr("extra", Attribute::optional(AttrType::String))
        .block("http", BlockType::single(Schema::new().attr("path", Attribute::optional(AttrType::String))));
    let d = differences("t", page, &schema);
    assert_eq!(
        d,
        [
            "t: `size` is documented but not in the schema",
            "t: `extra` is in the schema but not documented",
            "t: `http.port` is documented but not in the schema",
            "t: `http.path` is in the schema but not documented",
        ]
    );
}

/// The generator alone reproduces every page it has a definition for.
#[test]
fn generated_schemas_match_their_pages() {
    let mut all = Vec::new();
    for t in super::mmv1::type_names() {
        if !Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/provider_docs").join(format!("{t}.md")).exists() {
            continue;
        }
        all.extend(differences(t, &page(t), &super::mmv1::schema(t)));
    }
    assert!(all.is_empty(), "{} differences:\n{}", all.len(), all.join("\n"));
}

/// Data sources whose schema is their own (no resource type to derive it from): their page
/// lists every argument and attribute, so the check is the resource types' one.
const HAND_WRITTEN_DATA_SOURCES: &[&str] =
    &["google_compute_network", "google_compute_subnetwork", "google_secret_manager_secret_version"];

/// Every data source against its `data-` page. Pages of data sources derived from a resource
/// type list the arguments only ("See the resource for the attributes"), and the provider's
/// derived schemas export more than a page lists: for those, every documented name must be in
/// the schema, and the documented required arguments required. Hand-written schemas must
/// match their page exactly.
#[test]
fn every_data_source_has_its_documented_names() {
    let provider = super::GoogleProvider::new(super::GoogleOptions { emulator: None, ..Default::default() });
    let mut all = Vec::new();
    for ds in provider.data_sources() {
        let name = ds.name();
        let text = page(&format!("data-{name}"));
        if HAND_WRITTEN_DATA_SOURCES.contains(&name) {
            all.extend(differences_except(name, &text, ds.schema(), &[]));
            continue;
        }
        let doc = documented(&text, ds.schema());
        all.extend(
            doc.unplaced
                .iter()
                .map(|w| format!("{name}: the page documents block `{w}`, which the schema does not have")),
        );
        for (lvl, names) in &doc.levels {
            let have = names_at(ds.schema(), lvl).unwrap_or_default();
            for n in names.difference(&have) {
                all.push(format!("{name}: `{n}` (under `{lvl}`) is documented but not in the schema"));
            }
        }
        for line in text.lines() {
            let Some(arg) = line
                .strip_prefix("* `")
                .and_then(|l| l.split_once("` - (Required)").or(l.split_once("` - (required)")))
            else {
                continue;
            };
            if !ds.schema().attributes.get(arg.0).is_some_and(|a| a.required) {
                all.push(format!("{name}: `{}` is a required argument on the page but not in the schema", arg.0));
            }
        }
    }
    assert!(all.is_empty(), "{} differences:\n{}", all.len(), all.join("\n"));
}
