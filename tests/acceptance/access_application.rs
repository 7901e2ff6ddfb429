//! Acceptance tests of the `cfaccess_access_application` data source (issue 5) with the
//! real `terraform` binary against the emulator: the three lookups, exact matching,
//! zero and several matches, and the exactly-one-key rule.

use cfaccess_emulator::demo_ids::{COMPANY_WIKI_APP, COMPANY_WIKI_EMPLOYEES_POLICY};
use serde_json::{Value, json};

use crate::support::{TestResult, extended_seed, seed_ids};

/// A data block plus an output echoing everything it found.
fn lookup(label: &str, body: &str) -> String {
    format!("data \"cfaccess_access_application\" \"{label}\" {{\n{body}\n}}\n")
}

fn outputs(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

#[tokio::test]
async fn lookups_by_id_name_and_domain() -> TestResult {
    let h = harness!(crate::support::Harness::builder().seed(Some(extended_seed())));
    let mut config = String::new();
    config.push_str(&lookup("by_id", &format!("  id = \"{COMPANY_WIKI_APP}\"")));
    config.push_str(&lookup("by_name", "  name = \"Company wiki\""));
    config.push_str(&lookup(
        "by_domain",
        "  domain = \"WIKI.internal.example.com\"",
    ));
    config.push_str(&lookup(
        "saas",
        &format!("  id = \"{}\"", seed_ids::SAAS_APP),
    ));
    config.push_str(
        r#"output "found" {
  value = {
    for k, d in {
      by_id     = data.cfaccess_access_application.by_id
      by_name   = data.cfaccess_access_application.by_name
      by_domain = data.cfaccess_access_application.by_domain
      saas      = data.cfaccess_access_application.saas
    } : k => { id = d.id, uid = d.uid, name = d.name, type = d.type, domain = d.domain, aud = d.aud, policy_ids = d.policy_ids, account_id = d.account_id }
  }
}
"#,
    );
    h.write_config(&config)?;
    h.apply().await?;
    h.assert_empty_plan().await?;
    let out = h.run_ok(&["output", "-json", "found"]).await?;
    let found = outputs(&out.stdout);
    for key in ["by_id", "by_name", "by_domain"] {
        let d = &found[key];
        assert_eq!(d["id"], json!(COMPANY_WIKI_APP), "{key}: {d}");
        assert_eq!(d["uid"], json!(COMPANY_WIKI_APP), "{key}");
        assert_eq!(d["name"], json!("Company wiki"), "{key}");
        assert_eq!(d["type"], json!("self_hosted"), "{key}");
        assert_eq!(d["domain"], json!("wiki.internal.example.com"), "{key}");
        assert_eq!(d["account_id"], json!(h.account_id()), "{key}");
        assert_eq!(
            d["policy_ids"],
            json!([COMPANY_WIKI_EMPLOYEES_POLICY]),
            "{key}"
        );
        assert!(d["aud"].as_str().is_some_and(|a| !a.is_empty()), "{key}");
    }
    assert_eq!(found["saas"]["type"], json!("saas"));
    assert_eq!(found["saas"]["name"], json!("Seed SaaS app"));
    assert_eq!(h.emulator().write_count(), 0, "a data source never writes");
    Ok(())
}

#[tokio::test]
async fn lookup_errors_name_the_count_and_the_filter() -> TestResult {
    let h = harness!(crate::support::Harness::builder().seed(Some(extended_seed())));
    // The API's filter matches substrings; only exact matches count.
    h.write_config(&lookup("d", "  name = \"Company\""))?;
    h.plan_expect_error(r#"Found 0 Access applications with name = "Company""#)
        .await?;
    h.write_config(&lookup(
        "d",
        "  id = \"9f9f9f9f-0000-4000-8000-00000000dead\"",
    ))?;
    h.plan_expect_error("Found 0 Access applications with id = ")
        .await?;
    h.write_config(&lookup("d", "  domain = \"nothing.example.com\""))?;
    h.plan_expect_error(r#"Found 0 Access applications with domain = "nothing.example.com""#)
        .await?;

    // Two apps with one name.
    let twin = |label: &str, domain: &str| {
        format!(
            "resource \"cfaccess_mcp_server_app\" \"{label}\" {{\n  name   = \"twin\"\n  domain = \"{domain}\"\n}}\n"
        )
    };
    let twins = format!(
        "{}{}",
        twin("a", "twin-a.example.com"),
        twin("b", "twin-b.example.com")
    );
    h.write_config(&twins)?;
    h.apply().await?;
    h.write_config(&format!("{twins}{}", lookup("d", "  name = \"twin\"")))?;
    h.plan_expect_error(r#"Found 2 Access applications with name = "twin""#)
        .await?;

    // Exactly one key: none, or several, refused at validate with the attributes named.
    h.write_config(&lookup("d", ""))?;
    h.validate_expect_error("Set exactly one of id, name and domain")
        .await?;
    h.write_config(&lookup(
        "d",
        "  name   = \"Company wiki\"\n  domain = \"wiki.internal.example.com\"",
    ))?;
    h.validate_expect_error(
        "Set exactly one of id, name and domain; this configuration sets name, domain",
    )
    .await?;
    h.write_config(&lookup("d", "  id = \"wiki\""))?;
    h.validate_expect_error("must be a Cloudflare Access UUID")
        .await?;

    h.write_config(&twins)?;
    h.destroy_and_pass().await
}
