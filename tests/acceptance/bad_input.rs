//! The bad-input corpus (issue 7): every configuration below is wrong, and each must be
//! refused by `terraform validate` or `terraform plan` with an error whose message
//! matches the case's pattern and names the attribute at fault, while the emulator's
//! request log shows **zero writes**.
//!
//! Each case is its own test (so they run in parallel and fail individually). A case
//! marked `Validate` must already fail at `validate` (everything that needs no API
//! call); `Plan` cases may fail at validate or plan.

use crate::support::{Harness, Stage, TestResult, extended_seed, seed_ids};

const WIKI: &str = cfaccess_emulator::demo_ids::COMPANY_WIKI_APP;
const API: &str = cfaccess_emulator::demo_ids::INTERNAL_API_APP;
const MCP: &str = seed_ids::MCP_SELF_HOSTED_APP;
/// A well-formed UUID no object has.
const MISSING: &str = "0f0e0d0c-0b0a-4909-8807-060504030201";

fn policy(body: &str) -> String {
    format!(
        "resource \"cfaccess_linked_app_policy\" \"bad\" {{\n  name = \"bad-input policy\"\n{body}\n}}\n"
    )
}

fn linked_policy(extra: &str) -> String {
    policy(&format!("  linked_app_uids = [\"{MCP}\"]\n{extra}"))
}

fn app(body: &str) -> String {
    format!(
        "resource \"cfaccess_mcp_server_app\" \"bad\" {{\n  name = \"bad-input app\"\n{body}\n}}\n"
    )
}

fn saas(extra_app: &str, saas_body: &str) -> String {
    app(&format!(
        "  type = \"saas\"\n{extra_app}\n  saas = {{\n{saas_body}\n  }}"
    ))
}

const GOOD_SAAS: &str = "    redirect_uris = [\"https://mcp.example.com/oauth/callback\"]\n    grant_types = [\"authorization_code_with_pkce\"]\n    scopes = [\"openid\", \"email\"]";

async fn run_case(
    hcl: String,
    pattern: &str,
    attr: &str,
    latest: Stage,
    env: &[(&str, Option<&str>)],
) -> TestResult {
    let h = harness!(Harness::builder().seed(Some(extended_seed())));
    for (k, v) in env {
        h.set_env(k, *v);
    }
    h.set_provider_body("requests_per_second = 200\n  max_retries = 1");
    h.write_config(&hcl)?;
    let stage = h.expect_invalid(pattern, attr).await?;
    if latest == Stage::Validate && stage != Stage::Validate {
        return h.fail(format!("this mistake needs no API call and must be refused by `terraform validate`, but only {stage:?} refused it"));
    }
    Ok(())
}

macro_rules! corpus {
    ($($name:ident: $stage:ident, $attr:literal, $pattern:literal, $hcl:expr $(, env = $env:expr)?;)*) => {
        $(
            #[tokio::test]
            async fn $name() -> TestResult {
                #[allow(unused_variables)]
                let env: &[(&str, Option<&str>)] = &[];
                $(let env = $env;)?
                run_case($hcl, $pattern, $attr, Stage::$stage, env).await
            }
        )*
        /// Names of every case, for the corpus-size check.
        const CASES: &[&str] = &[$(stringify!($name)),*];
    };
}

corpus! {
    // --- cfaccess_linked_app_policy: decision -------------------------------------------------
    policy_decision_allow: Validate, "decision", r"non_identity", linked_policy("  decision = \"allow\"");
    policy_decision_bypass: Validate, "decision", r"non_identity", linked_policy("  decision = \"bypass\"");
    policy_decision_deny: Validate, "decision", r"non_identity", linked_policy("  decision = \"deny\"");
    policy_decision_empty: Validate, "decision", r"non_identity", linked_policy("  decision = \"\"");
    // --- linked apps ------------------------------------------------------------------------------
    policy_linked_not_uuid: Validate, "linked_app_uids", r"(?i)uuid", policy("  linked_app_uids = [\"mcp-server\"]");
    policy_linked_empty: Validate, "linked_app_uids", r"(?i)at least 1|at least one|empty", policy("  linked_app_uids = []");
    policy_linked_missing_app: Plan, "linked_app_uids", r"(?i)not found|no access application", policy(&format!("  linked_app_uids = [\"{MISSING}\"]"));
    policy_linked_is_ssh_app: Plan, "linked_app_uids", r"(?i)ssh", policy(&format!("  linked_app_uids = [\"{}\"]", seed_ids::SSH_APP));
    policy_missing_linked_attribute: Validate, "linked_app_uids", r"(?i)required|missing", policy("");
    // --- targets -------------------------------------------------------------------------------------
    policy_target_not_uuid: Validate, "target_app_ids", r"(?i)uuid", linked_policy("  target_app_ids = [\"company-wiki\"]");
    policy_target_saas: Plan, "target_app_ids", r"(?i)self.hosted", linked_policy(&format!("  target_app_ids = [\"{}\"]", seed_ids::SAAS_APP));
    policy_target_ssh: Plan, "target_app_ids", r"(?i)self.hosted", linked_policy(&format!("  target_app_ids = [\"{}\"]", seed_ids::SSH_APP));
    policy_target_mcp_type: Plan, "target_app_ids", r"(?i)self.hosted", linked_policy(&format!("  target_app_ids = [\"{}\"]", seed_ids::MCP_TYPE_APP));
    policy_target_missing: Plan, "target_app_ids", r"(?i)not found|no access application", linked_policy(&format!("  target_app_ids = [\"{MISSING}\"]"));
    policy_target_one_of_two_saas: Plan, "target_app_ids", r"(?i)self.hosted", linked_policy(&format!("  target_app_ids = [\"{WIKI}\", \"{}\"]", seed_ids::SAAS_APP));
    policy_target_equals_linked: Plan, "target_app_ids", r"(?i)both|linked", linked_policy(&format!("  target_app_ids = [\"{MCP}\", \"{WIKI}\"]"));
    // --- other policy attributes ---------------------------------------------------------------------
    policy_precedence_zero: Validate, "precedence", r"(?i)at least 1|precedence", linked_policy("  precedence = 0");
    policy_precedence_fraction: Validate, "precedence", r"(?i)whole number|integer", linked_policy("  precedence = 1.5");
    policy_session_duration_words: Validate, "session_duration", r"(?i)duration", linked_policy("  session_duration = \"one day\"");
    policy_session_duration_no_unit: Validate, "session_duration", r"(?i)duration", linked_policy("  session_duration = \"24\"");
    policy_name_blank: Validate, "name", r"(?i)blank|empty", linked_policy("").replace("name = \"bad-input policy\"", "name = \"  \"");
    policy_account_malformed: Validate, "account_id", r"(?i)32 hexadecimal", linked_policy("  account_id = \"my-account\"");
    policy_precedence_taken: Plan, "precedence", r"(?i)precedence 1 .*already|already used", linked_policy(&format!("  target_app_ids = [\"{WIKI}\"]\n  precedence = 1"));
    // --- cfaccess_mcp_server_app ------------------------------------------------------------------------
    app_self_hosted_without_domain: Validate, "domain", r"(?i)domain", app("  type = \"self_hosted\"");
    app_saas_without_saas_block: Validate, "saas", r"(?i)saas", app("  type = \"saas\"");
    app_saas_block_on_self_hosted: Validate, "saas", r"(?i)self-hosted|self_hosted", app(&format!("  domain = \"mcp-bad.example.com\"\n  saas = {{\n{GOOD_SAAS}\n  }}"));
    app_domain_on_saas: Validate, "domain", r"(?i)domain", saas("  domain = \"mcp-bad.example.com\"", GOOD_SAAS);
    app_session_duration_on_saas: Validate, "session_duration", r"(?i)session_duration", saas("  session_duration = \"24h\"", GOOD_SAAS);
    app_type_ssh: Validate, "type", r"(?i)self_hosted", app("  type = \"ssh\"\n  domain = \"mcp-bad.example.com\"");
    app_type_mcp: Validate, "type", r"(?i)self_hosted", app("  type = \"mcp\"\n  domain = \"mcp-bad.example.com\"");
    app_unknown_grant_type: Validate, "grant_types", r"(?i)password", saas("", "    redirect_uris = [\"https://mcp.example.com/cb\"]\n    grant_types = [\"password\"]\n    scopes = [\"openid\"]");
    app_empty_grant_types: Validate, "grant_types", r"(?i)at least", saas("", "    redirect_uris = [\"https://mcp.example.com/cb\"]\n    grant_types = []\n    scopes = [\"openid\"]");
    app_unknown_scope: Validate, "scopes", r"(?i)admin", saas("", "    redirect_uris = [\"https://mcp.example.com/cb\"]\n    grant_types = [\"authorization_code\"]\n    scopes = [\"openid\", \"admin\"]");
    app_token_lifetime_seconds: Validate, "access_token_lifetime", r"(?i)duration", saas("", &format!("{GOOD_SAAS}\n    access_token_lifetime = \"30s\""));
    app_token_lifetime_too_long: Validate, "access_token_lifetime", r"(?i)24h", saas("", &format!("{GOOD_SAAS}\n    access_token_lifetime = \"48h\""));
    app_redirect_uri_plain_http: Validate, "redirect_uris", r"(?i)http", saas("", "    redirect_uris = [\"http://mcp.example.com/cb\"]\n    grant_types = [\"authorization_code\"]\n    scopes = [\"openid\"]");
    app_session_duration_malformed: Validate, "session_duration", r"(?i)duration", app("  domain = \"mcp-bad.example.com\"\n  session_duration = \"1 day\"");
    app_domain_with_scheme: Validate, "domain", r"(?i)scheme|https://", app("  domain = \"https://mcp-bad.example.com\"");
    app_duplicate_policy_ids: Validate, "policy_ids", r"(?i)duplicate|unique|twice|more than once", app(&format!("  domain = \"mcp-bad.example.com\"\n  policy_ids = [\"{p}\", \"{p}\"]", p = cfaccess_emulator::demo_ids::COMPANY_WIKI_EMPLOYEES_POLICY));
    app_policy_ids_not_uuid: Validate, "policy_ids", r"(?i)uuid", app("  domain = \"mcp-bad.example.com\"\n  policy_ids = [\"employees\"]");
    app_allowed_idps_not_uuid: Validate, "allowed_idps", r"(?i)uuid", app("  domain = \"mcp-bad.example.com\"\n  allowed_idps = [\"google\"]");
    app_auto_redirect_with_two_idps: Validate, "auto_redirect_to_identity", r"(?i)single|one", app("  domain = \"mcp-bad.example.com\"\n  auto_redirect_to_identity = true\n  allowed_idps = [\"5c1a3e6e-3f7e-4e2b-9a55-0c6f2b1d9e01\", \"5c1a3e6e-3f7e-4e2b-9a55-0c6f2b1d9e02\"]");
    app_policy_id_missing: Plan, "policy_ids", r"(?i)not found|no reusable", app(&format!("  domain = \"mcp-bad.example.com\"\n  policy_ids = [\"{MISSING}\"]"));
    app_name_blank: Validate, "name", r"(?i)blank|empty", app("  domain = \"mcp-bad.example.com\"").replace("name = \"bad-input app\"", "name = \"\"");
    app_account_malformed: Validate, "account_id", r"(?i)32 hexadecimal", app("  domain = \"mcp-bad.example.com\"\n  account_id = \"023e105f\"");
    // --- cfaccess_access_application ---------------------------------------------------------------------
    lookup_two_keys: Validate, "name", r"(?i)exactly one|conflicting", format!("data \"cfaccess_access_application\" \"x\" {{\n  name = \"Company wiki\"\n  id = \"{WIKI}\"\n}}\n");
    lookup_no_match: Plan, "name", r"(?i)found 0", "data \"cfaccess_access_application\" \"x\" {\n  name = \"No such app\"\n}\n".to_string();
    // --- provider and credentials ---------------------------------------------------------------------
    bad_token: Plan, "token", r"403", linked_policy(&format!("  target_app_ids = [\"{API}\"]")), env = &[("CLOUDFLARE_API_TOKEN", Some("not-the-right-token"))];
    unknown_account: Plan, "account", r"403", linked_policy(&format!("  target_app_ids = [\"{API}\"]\n  account_id = \"0123456789abcdef0123456789abcdef\""));
    unreachable_base_url: Plan, "base_url", r"(?i)connect|refused|unreachable", linked_policy(&format!("  target_app_ids = [\"{API}\"]")), env = &[("CLOUDFLARE_BASE_URL", Some("http://127.0.0.1:9/client/v4"))];
    missing_token: Plan, "api_token", r"CLOUDFLARE_API_TOKEN", linked_policy(""), env = &[("CLOUDFLARE_API_TOKEN", None)];
}

#[test]
fn corpus_has_at_least_thirty_cases() {
    assert!(CASES.len() >= 30, "only {} bad-input cases", CASES.len());
    let unique: std::collections::BTreeSet<&&str> = CASES.iter().collect();
    assert_eq!(unique.len(), CASES.len());
}
