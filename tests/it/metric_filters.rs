//! Issue 15, done-when 4: a misspelt metric type in a Monitoring filter written in HCL is
//! reported at its own file:line:col inside the string literal, with a suggestion. The
//! monitoring resource types check their `filter` arguments with `metrics::filter_check`, which
//! the schema layer locates in the source (tests/it/google_monitoring.rs shows it through
//! `cairn validate`); here `metrics::filter_diagnostics`, the same check and the same locating,
//! runs over locals, which hold the same kinds of expressions.

use cairn::lang::diag::Diagnostics;
use cairn::lang::load::load;
use cairn::providers::google::metrics;

fn diagnostics_for(source: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("main.tf"), source).unwrap();
    let config = load(dir.path()).unwrap_or_else(|e| panic!("the stack loads: {e:?}"));
    let mut all = Diagnostics::new();
    for local in config.root().locals.values() {
        // The filters here are literals: their text is the decoded HCL string.
        let value = cairn::lang::eval::eval(
            &local.expr,
            &cairn::lang::eval::EvalCtx {
                resolver: &cairn::lang::eval::NoReferences,
                count_index: None,
                each: None,
                module_dir: ".".into(),
                root_dir: dir.path(),
                sources: &config.sources,
            },
        )
        .unwrap();
        let filter = value.as_str().unwrap().to_string();
        for d in metrics::filter_diagnostics(&local.expr, &filter) {
            all.push(d);
        }
    }
    config.sources.render_all_plain(&all).replace(&format!("{}/", dir.path().display()), "")
}

#[test]
fn a_misspelt_metric_type_is_located_inside_the_string_with_a_suggestion() {
    let out = diagnostics_for(concat!(
        "locals {\n",
        "  ok   = \"metric.type=\\\"cloudsql.googleapis.com/database/postgresql/num_backends\\\" AND resource.type=\\\"cloudsql_database\\\"\"\n",
        "  cert = \"resource.type=\\\"uptime_url\\\" AND metric.type=\\\"monitoring.googleapis.com/uptime_check/time_until_ssl_cert_expire\\\"\"\n",
        "  conn = <<-EOT\n",
        "    resource.type = \"cloud_sql_database\" AND\n",
        "    metric.type = \"cloudsql.googleapis.com/database/postgresql/num_backends\"\n",
        "  EOT\n",
        "}\n",
    ));
    insta::assert_snapshot!(out);
    // The typo's own column: after `  cert = "resource.type=\"uptime_url\" AND metric.type=\"`.
    assert!(out.contains("main.tf:3:58"), "{out}");
    assert!(out.contains("main.tf:5:22"), "{out}");
}
