//! Handlers driven the way the server drives them, against the emulator in library
//! mode. Every "terraform command" gets a freshly configured provider, as a new plugin
//! process would (the client's read snapshot lives for one process).
use super::super::*;
use super::support::{config as cfg, get_str, get_strings, plan_request, saas_settings};
use crate::resources::test_harness::{self as harness, Workflow, ctx};
use crate::tfplugin::Provider;
use crate::tfplugin::plan::fill_nulls;
use crate::tfplugin::validate::validate_config as run_validators;
use crate::tfplugin::{PlanRequest, Resource};
use cfaccess_emulator::{DEFAULT_ACCOUNT_ID, Emulator, Seed, demo_ids};

const ALLOW_1: &str = "1a1a1a1a-0000-4000-8000-000000000001";
const ALLOW_2: &str = "2b2b2b2b-0000-4000-8000-000000000002";
const FOREIGN: &str = "3c3c3c3c-0000-4000-8000-000000000003";
const LAT: &str = "4d4d4d4d-0000-4000-8000-000000000004";

async fn emulator() -> Emulator {
    let mut seed = Seed::downstream_demo();
    let allow = |id: &str, name: &str| {
        json!({"id": id, "name": name, "decision": "allow",
               "include": [{"email_domain": {"domain": "example.com"}}]})
    };
    seed.policies.push(allow(ALLOW_1, "allow one"));
    seed.policies.push(allow(ALLOW_2, "allow two"));
    seed.policies.push(allow(FOREIGN, "someone else's"));
    seed.policies.push(
        json!({"id": LAT, "name": "wiki may call", "decision": "non_identity",
        "include": [{"linked_app_token": {"app_uid": demo_ids::COMPANY_WIKI_APP}}]}),
    );
    harness::emulator(seed).await
}

/// Terraform's walks over this resource against `emu`, private state carried.
fn workflow(emu: &Emulator) -> Workflow {
    Workflow::new(TYPE_NAME, schema(), emu.base_url())
}

/// A configured provider process.
struct Process {
    resource: Arc<dyn Resource>,
    data_source: Arc<dyn crate::tfplugin::DataSource>,
}

async fn process(emu: &Emulator) -> Process {
    process_at(&emu.base_url()).await
}

/// A configured provider process talking to the API at `base_url`.
async fn process_at(base_url: &str) -> Process {
    let provider = harness::provider_at(base_url).await;
    let resource = provider
        .resources()
        .into_iter()
        .find(|r| r.type_name() == TYPE_NAME)
        .unwrap();
    let data_source = provider
        .data_sources()
        .into_iter()
        .find(|r| r.type_name() == crate::data_sources::access_application::TYPE_NAME)
        .unwrap();
    Process {
        resource,
        data_source,
    }
}

struct Planned {
    req: PlanRequest,
    diags: Diagnostics,
}

impl Planned {
    fn replaces(&self) -> bool {
        !self.req.requires_replace.is_empty()
    }
}

/// Terraform's refresh of `state` (with its `private` state) in process `p`.
async fn refresh(p: &Process, state: &Value, private: &[u8]) -> crate::tfplugin::ReadResult {
    p.resource
        .read(&ctx(), state, private, crate::tfplugin::ReadMode::Refresh)
        .await
}

async fn validate(p: &Process, cfg: &Value) -> Diagnostics {
    let mut d = run_validators(&schema(), cfg);
    p.resource.validate(&ctx(), cfg, &mut d).await;
    d
}

async fn plan(p: &Process, prior: &Value, cfg: &Value) -> Planned {
    plan_with(p, prior, cfg, Vec::new()).await
}

/// [`plan`] with the private state Terraform passes along.
async fn plan_with(p: &Process, prior: &Value, cfg: &Value, private: Vec<u8>) -> Planned {
    let d = validate(p, cfg).await;
    assert!(!d.has_errors(), "{d:?}");
    let mut req = plan_request(prior, cfg, private);
    let mut diags = Diagnostics::new();
    p.resource.modify_plan(&ctx(), &mut req, &mut diags).await;
    Planned { req, diags }
}

/// `terraform apply` of `cfg` over `prior` (create or update), then a refresh and a
/// second plan that must be empty. Returns the state.
async fn apply(emu: &Emulator, wf: &Workflow, prior: &Value, cfg: &Value) -> Value {
    let state = wf.converge((!prior.is_null()).then_some(prior), cfg).await;
    assert!(state.is_wholly_known());
    assert_empty_plan(emu, wf, &state, cfg).await;
    state
}

/// `terraform plan` after a refresh shows no change (and writes nothing).
async fn assert_empty_plan(emu: &Emulator, wf: &Workflow, state: &Value, cfg: &Value) {
    let writes = emu.write_count();
    let planned = wf.plan(Some(state), cfg).await;
    assert!(!planned.diags.has_errors(), "{:?}", planned.diags);
    assert_eq!(&planned.prior, state, "refresh changed the state");
    assert!(
        planned.planned == planned.prior,
        "plan not empty:\n{:?}\nvs\n{:?}",
        planned.planned,
        planned.prior
    );
    assert_eq!(emu.write_count(), writes, "plan wrote to the API");
}

/// `terraform plan` after a refresh: true when it shows changes.
async fn plan_shows_changes(wf: &Workflow, state: &Value, cfg: &Value) -> bool {
    let planned = wf.plan(Some(state), cfg).await;
    assert!(!planned.diags.has_errors(), "{:?}", planned.diags);
    planned.prior.is_null() || planned.planned != planned.prior
}

/// `terraform import` of `id`: the import, then the read that completes it.
async fn import(wf: &Workflow, id: &str) -> Result<Value, Diagnostics> {
    wf.import(id).await
}

/// `saas` settings asking for `openid`, `email` and `profile`, with `pairs` set.
fn saas(pairs: Vec<(&str, Value)>) -> Value {
    saas_settings(&["openid", "email", "profile"], pairs)
}

fn id_of(state: &Value) -> String {
    get_str(state, attr::ID).unwrap()
}

fn emu_app(emu: &Emulator, id: &str) -> serde_json::Value {
    emu.app(DEFAULT_ACCOUNT_ID, id).unwrap()
}

fn emu_links(emu: &Emulator, id: &str) -> Vec<(String, u64)> {
    emu_app(emu, id)["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap().to_string(),
                p["precedence"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn links(pairs: &[(&str, u64)]) -> Vec<(String, u64)> {
    pairs.iter().map(|(i, p)| (i.to_string(), *p)).collect()
}

#[tokio::test]
async fn create_plan_shows_the_provider_account_id() {
    let emu = emulator().await;
    let p = process(&emu).await;
    let config = cfg(vec![
        (attr::NAME, Value::string("mcp")),
        (attr::DOMAIN, Value::string("mcp.example.com")),
    ]);
    let planned = plan(&p, &Value::Null, &config).await;
    assert!(!planned.diags.has_errors(), "{:?}", planned.diags);
    assert_eq!(
        planned.req.planned.get(attr::ACCOUNT_ID),
        Some(&Value::string(DEFAULT_ACCOUNT_ID))
    );
}

#[tokio::test]
async fn self_hosted_lifecycle() {
    let emu = emulator().await;
    let wf = workflow(&emu);
    let mut config = cfg(vec![
        (attr::NAME, Value::string("mcp")),
        (attr::DOMAIN, Value::string("mcp.example.com")),
        (attr::POLICY_IDS, Value::string_list([ALLOW_1, ALLOW_2])),
    ]);
    let state = apply(&emu, &wf, &Value::Null, &config).await;
    let id = id_of(&state);
    assert_eq!(get_str(&state, attr::UID).as_deref(), Some(id.as_str()));
    assert_eq!(
        get_str(&state, attr::SESSION_DURATION).as_deref(),
        Some("24h")
    );
    assert_eq!(
        get_str(&state, attr::ACCOUNT_ID).as_deref(),
        Some(DEFAULT_ACCOUNT_ID)
    );
    assert_eq!(emu_links(&emu, &id), links(&[(ALLOW_1, 1), (ALLOW_2, 2)]));
    let posts: Vec<_> = emu
        .request_log()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    assert_eq!(posts.len(), 1, "one atomic create");
    assert_eq!(
        posts[0].body.as_ref().unwrap()["policies"],
        json!([{"id": ALLOW_1, "precedence": 1}, {"id": ALLOW_2, "precedence": 2}])
    );

    // A policy attached by someone else (a linked_app_policy targeting this app).
    assert!(emu.set_attachments_out_of_band(
        DEFAULT_ACCOUNT_ID,
        &id,
        vec![(ALLOW_1.into(), 1), (ALLOW_2.into(), 2), (LAT.into(), 7)]
    ));
    assert_empty_plan(&emu, &wf, &state, &config).await;

    // Each managed field updated in place; the foreign attachment stays put.
    config.set(attr::NAME, Value::string("mcp renamed"));
    config.set(attr::DOMAIN, Value::string("mcp2.example.com"));
    config.set(attr::SESSION_DURATION, Value::string("12h"));
    config.set(attr::AUTO_REDIRECT_TO_IDENTITY, Value::Bool(false));
    config.set(attr::POLICY_IDS, Value::string_list([ALLOW_2, ALLOW_1]));
    let state2 = apply(&emu, &wf, &state, &config).await;
    assert_eq!(id_of(&state2), id, "updated in place");
    let app = emu_app(&emu, &id);
    assert_eq!(app["name"], json!("mcp renamed"));
    assert_eq!(app["domain"], json!("mcp2.example.com"));
    assert_eq!(
        app["destinations"],
        json!([{"type": "public", "uri": "mcp2.example.com"}])
    );
    assert_eq!(app["session_duration"], json!("12h"));
    assert_eq!(
        emu_links(&emu, &id),
        links(&[(ALLOW_2, 1), (ALLOW_1, 2), (LAT, 7)])
    );
    // No PUT carried `policies` except through the attachment edit, which kept LAT.
    for r in emu.request_log().iter().filter(|r| r.method == "PUT") {
        if let Some(p) = r.body.as_ref().and_then(|b| b.get("policies")) {
            assert!(
                p.to_string().contains(LAT),
                "a PUT dropped the foreign policy: {p}"
            );
        }
    }

    // Dropping a policy from the list detaches only it.
    config.set(attr::POLICY_IDS, Value::string_list([ALLOW_2]));
    let state3 = apply(&emu, &wf, &state2, &config).await;
    assert_eq!(emu_links(&emu, &id), links(&[(ALLOW_2, 1), (LAT, 7)]));

    // Out-of-band changes to managed fields show as drift and apply repairs them.
    emu.mutate_app(DEFAULT_ACCOUNT_ID, &id, |a| {
        a["name"] = json!("hijacked");
        a["session_duration"] = json!("1h");
    });
    assert!(plan_shows_changes(&wf, &state3, &config).await);
    let state4 = apply(&emu, &wf, &state3, &config).await;
    assert_eq!(emu_app(&emu, &id)["name"], json!("mcp renamed"));
    assert_eq!(emu_app(&emu, &id)["session_duration"], json!("12h"));
    // Out-of-band detach of a managed policy is drift too.
    emu.set_attachments_out_of_band(DEFAULT_ACCOUNT_ID, &id, vec![(LAT.into(), 7)]);
    assert!(plan_shows_changes(&wf, &state4, &config).await);
    let state5 = apply(&emu, &wf, &state4, &config).await;
    assert_eq!(emu_links(&emu, &id), links(&[(ALLOW_2, 1), (LAT, 7)]));
    // Fields we do not manage never cause a diff.
    emu.mutate_app(DEFAULT_ACCOUNT_ID, &id, |a| {
        a["app_launcher_visible"] = json!(false);
        a["tags"] = json!(["x"]);
    });
    assert_empty_plan(&emu, &wf, &state5, &config).await;
    // ... and an update keeps them.
    config.set(attr::NAME, Value::string("mcp again"));
    let state6 = apply(&emu, &wf, &state5, &config).await;
    assert_eq!(emu_app(&emu, &id)["app_launcher_visible"], json!(false));
    assert_eq!(emu_app(&emu, &id)["tags"], json!(["x"]));

    // Import round trip: the same state as the one Terraform holds.
    assert_eq!(import(&wf, &id).await.unwrap(), state6);
    assert_eq!(
        import(&wf, &format!("{DEFAULT_ACCOUNT_ID}/{id}"))
            .await
            .unwrap(),
        state6
    );

    // Out-of-band delete: read drops it, apply re-creates it.
    emu.delete_app_out_of_band(DEFAULT_ACCOUNT_ID, &id);
    let p = process(&emu).await;
    assert!(refresh(&p, &state6, &[]).await.new_state.is_none());
    let recreated = apply(&emu, &wf, &Value::Null, &config).await;
    assert_ne!(id_of(&recreated), id);

    // Destroy leaves nothing of ours; a second delete (already gone) is fine.
    let d = p.resource.delete(&ctx(), &recreated, &[]).await;
    assert!(!d.has_errors(), "{d:?}");
    let d = p.resource.delete(&ctx(), &recreated, &[]).await;
    assert!(!d.has_errors(), "{d:?}");
    assert_eq!(
        emu.apps(DEFAULT_ACCOUNT_ID).len(),
        2,
        "only the seed apps remain"
    );
}

#[tokio::test]
async fn saas_lifecycle_and_import() {
    let emu = emulator().await;
    let wf = workflow(&emu);
    let mut config = cfg(vec![
        (attr::NAME, Value::string("mcp-oidc")),
        (attr::TYPE, Value::string(SAAS)),
        (attr::SAAS, saas(vec![])),
        (attr::POLICY_IDS, Value::string_list([ALLOW_1])),
    ]);
    let state = apply(&emu, &wf, &Value::Null, &config).await;
    let id = id_of(&state);
    let secret = get_str(&state, attr::CLIENT_SECRET);
    assert!(secret.as_deref().is_some_and(|s| !s.is_empty()));
    assert!(get_str(&state, attr::CLIENT_ID).is_some());
    assert_eq!(
        state
            .get(attr::SAAS)
            .and_then(|s| s.get(attr::ACCESS_TOKEN_LIFETIME)),
        Some(&Value::string("5m"))
    );
    assert_eq!(
        get_str(&state, attr::DOWNSTREAM_TOKEN_PREFIX).as_deref(),
        Some("Bearer ")
    );
    assert_eq!(get_str(&state, attr::DOMAIN), None);

    // Update every saas field in place; the secret survives.
    config.set(
        attr::SAAS,
        saas(vec![
            (
                attr::REDIRECT_URIS,
                Value::string_list(["https://mcp.example.com/cb2", "http://localhost:6274/cb"]),
            ),
            (attr::GRANT_TYPES, Value::string_set(["authorization_code"])),
            (attr::SCOPES, Value::string_set(["openid"])),
            (attr::ACCESS_TOKEN_LIFETIME, Value::string("15m")),
            (attr::ALLOW_PKCE_WITHOUT_CLIENT_SECRET, Value::Bool(true)),
        ]),
    );
    let state2 = apply(&emu, &wf, &state, &config).await;
    assert_eq!(id_of(&state2), id);
    assert_eq!(get_str(&state2, attr::CLIENT_SECRET), secret);
    let saas_app = &emu_app(&emu, &id)["saas_app"];
    assert_eq!(saas_app["access_token_lifetime"], json!("15m"));
    assert_eq!(saas_app["allow_pkce_without_client_secret"], json!(true));
    assert_eq!(saas_app["grant_types"], json!(["authorization_code"]));

    // Out-of-band saas change is drift.
    emu.mutate_app(DEFAULT_ACCOUNT_ID, &id, |a| {
        a["saas_app"]["scopes"] = json!(["openid", "groups"]);
    });
    assert!(plan_shows_changes(&wf, &state2, &config).await);
    let state3 = apply(&emu, &wf, &state2, &config).await;

    // Import: equal but for the secret, which the API cannot return.
    let imported = import(&wf, &id).await.unwrap();
    let mut expected = state3.clone();
    expected.set(attr::CLIENT_SECRET, Value::Null);
    assert!(
        imported.semantically_equal(&expected),
        "{imported:?}\n{expected:?}"
    );
    assert_empty_plan(&emu, &wf, &imported, &config).await;

    // Changing the type plans a replacement.
    let p = process(&emu).await;
    let to_self_hosted = cfg(vec![
        (attr::NAME, Value::string("mcp-oidc")),
        (attr::DOMAIN, Value::string("mcp.example.com")),
    ]);
    assert!(plan(&p, &state3, &to_self_hosted).await.replaces());
}

#[tokio::test]
async fn validation_errors_write_nothing_and_ours_go_around_foreign_policies() {
    let emu = emulator().await;
    let wf = workflow(&emu);
    let p = process(&emu).await;
    let cases = vec![
        (cfg(vec![(attr::NAME, Value::string("x"))]), "domain"),
        (
            cfg(vec![
                (attr::NAME, Value::string("x")),
                (attr::TYPE, Value::string(SAAS)),
            ]),
            "saas",
        ),
        (
            cfg(vec![
                (attr::NAME, Value::string("x")),
                (attr::DOMAIN, Value::string("x.example.com")),
                (attr::SAAS, saas(vec![])),
            ]),
            "saas",
        ),
        (
            cfg(vec![
                (attr::NAME, Value::string("x")),
                (attr::DOMAIN, Value::string("x.example.com")),
                (attr::SESSION_DURATION, Value::string("1 day")),
            ]),
            "session_duration",
        ),
        (
            cfg(vec![
                (attr::NAME, Value::string("x")),
                (attr::DOMAIN, Value::string("x.example.com")),
                (attr::POLICY_IDS, Value::string_list([ALLOW_1, ALLOW_1])),
            ]),
            "policy_ids[1]",
        ),
        (
            cfg(vec![
                (attr::NAME, Value::string("x")),
                (attr::DOMAIN, Value::string("x.example.com")),
                (attr::ALLOWED_IDPS, Value::string_set(["okta"])),
            ]),
            "allowed_idps",
        ),
        (
            cfg(vec![
                (attr::NAME, Value::string("x")),
                (attr::TYPE, Value::string(SAAS)),
                (
                    attr::SAAS,
                    saas(vec![(attr::SCOPES, Value::string_set(["admin"]))]),
                ),
            ]),
            "saas.scopes",
        ),
    ];
    for (config, path) in cases {
        let d = validate(&p, &config).await;
        let got: Vec<String> = d
            .iter()
            .map(|x| x.attribute.clone().unwrap_or_default().to_string())
            .collect();
        assert_eq!(got, vec![path.to_string()], "{d:?}");
    }
    // Plan-time checks that need the API: an unknown policy, a Linked App Token
    // policy on a SaaS app.
    let missing = cfg(vec![
        (attr::NAME, Value::string("x")),
        (attr::DOMAIN, Value::string("x.example.com")),
        (
            attr::POLICY_IDS,
            Value::string_list([ALLOW_1, "9f9f9f9f-0000-4000-8000-00000000dead"]),
        ),
    ]);
    let planned = plan(&p, &Value::Null, &missing).await;
    assert_eq!(
        planned
            .diags
            .iter()
            .map(|d| d.attribute.clone().unwrap_or_default().to_string())
            .collect::<Vec<_>>(),
        vec!["policy_ids[1]"]
    );
    let lat_on_saas = cfg(vec![
        (attr::NAME, Value::string("x")),
        (attr::TYPE, Value::string(SAAS)),
        (attr::SAAS, saas(vec![])),
        (attr::POLICY_IDS, Value::string_list([LAT])),
    ]);
    let planned = plan(&p, &Value::Null, &lat_on_saas).await;
    assert!(
        planned
            .diags
            .iter()
            .any(|d| d.summary.contains("Linked App Token")),
        "{:?}",
        planned.diags
    );
    assert_eq!(emu.write_count(), 0, "validation and plan wrote nothing");
    // The same ids unknown at plan time (a policy created in the same run) and
    // known at apply: refused by create before the POST, with the same paths.
    for (config, path, summary) in [
        (&missing, "policy_ids[1]", "Policy not found"),
        (&lat_on_saas, "policy_ids[0]", "Linked App Token"),
    ] {
        let mut unknown_at_plan = config.clone();
        unknown_at_plan.set(attr::POLICY_IDS, Value::Unknown);
        let planned = plan(&p, &Value::Null, &unknown_at_plan).await;
        assert!(!planned.diags.has_errors(), "{:?}", planned.diags);
        let mut at_apply = planned.req.planned.clone();
        at_apply.set(
            attr::POLICY_IDS,
            config.get(attr::POLICY_IDS).cloned().unwrap_or(Value::Null),
        );
        let r = p.resource.create(&ctx(), config, &at_apply, &[]).await;
        assert!(r.new_state.is_none(), "nothing created, nothing tracked");
        let errors: Vec<(String, String)> = r
            .diagnostics
            .iter()
            .map(|d| {
                (
                    d.attribute.clone().unwrap_or_default().to_string(),
                    d.summary.clone(),
                )
            })
            .collect();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].0, path);
        assert!(errors[0].1.contains(summary), "{errors:?}");
    }
    assert_eq!(emu.write_count(), 0, "create refused before any write");

    // A foreign policy holding a precedence the next policy of ours would take:
    // ours goes after it, the foreign one keeps its place, the plan after is empty.
    let config = cfg(vec![
        (attr::NAME, Value::string("mcp")),
        (attr::DOMAIN, Value::string("mcp.example.com")),
        (attr::POLICY_IDS, Value::string_list([ALLOW_1])),
    ]);
    let state = apply(&emu, &wf, &Value::Null, &config).await;
    let id = id_of(&state);
    emu.set_attachments_out_of_band(
        DEFAULT_ACCOUNT_ID,
        &id,
        vec![(ALLOW_1.into(), 1), (FOREIGN.into(), 2)],
    );
    let mut two = config.clone();
    two.set(attr::POLICY_IDS, Value::string_list([ALLOW_1, ALLOW_2]));
    let state = apply(&emu, &wf, &state, &two).await;
    assert_eq!(
        emu_links(&emu, &id),
        links(&[(ALLOW_1, 1), (FOREIGN, 2), (ALLOW_2, 3)])
    );
    // Reordered: ours swap around it; it stays at 2.
    let mut swapped = config.clone();
    swapped.set(attr::POLICY_IDS, Value::string_list([ALLOW_2, ALLOW_1]));
    apply(&emu, &wf, &state, &swapped).await;
    assert_eq!(
        emu_links(&emu, &id),
        links(&[(ALLOW_2, 1), (FOREIGN, 2), (ALLOW_1, 3)])
    );
}

#[tokio::test]
async fn a_policy_deleted_outside_terraform_warns_at_plan_and_stops_the_apply() {
    let emu = emulator().await;
    let config = cfg(vec![
        (attr::NAME, Value::string("mcp")),
        (attr::DOMAIN, Value::string("mcp.example.com")),
        (attr::POLICY_IDS, Value::string_list([ALLOW_1, ALLOW_2])),
    ]);
    let p = process(&emu).await;
    let create_plan = plan(&p, &Value::Null, &config).await;
    let created = p
        .resource
        .create(&ctx(), &config, &create_plan.req.planned, &[])
        .await;
    assert!(
        !created.diagnostics.has_errors(),
        "{:?}",
        created.diagnostics
    );
    assert!(!created.private.is_empty(), "create records what it saved");
    let state = fill_nulls(&schema(), &created.new_state.unwrap());
    let id = id_of(&state);
    assert!(emu.delete_policy_out_of_band(DEFAULT_ACCOUNT_ID, ALLOW_2));

    let p = process(&emu).await;
    let read = refresh(&p, &state, &created.private).await;
    let refreshed = fill_nulls(&schema(), &read.new_state.unwrap());
    assert_eq!(
        get_strings(&refreshed, attr::POLICY_IDS),
        Some(vec![ALLOW_1.to_string()])
    );
    // Terraform keeps the private state when read answers none.
    let private = if read.private.is_empty() {
        created.private.clone()
    } else {
        read.private
    };
    let planned = plan_with(&p, &refreshed, &config, private.clone()).await;
    assert!(!planned.diags.has_errors(), "{:?}", planned.diags);
    let warning = planned.diags.iter().next().expect("a warning");
    assert!(warning.summary.contains("Policy not found"), "{warning:?}");
    assert!(warning.detail.contains(ALLOW_2), "{warning:?}");
    assert_eq!(
        warning.attribute.clone().unwrap_or_default().to_string(),
        "policy_ids[1]"
    );
    // Without the record (a policy id the configuration asks for anew) it is an
    // error, as before.
    let unrecorded = plan_with(&p, &refreshed, &config, Vec::new()).await;
    assert!(unrecorded.diags.has_errors(), "{:?}", unrecorded.diags);
    // Apply stops before any write.
    let writes = emu.write_count();
    let r = p
        .resource
        .update(&ctx(), &refreshed, &config, &planned.req.planned, &private)
        .await;
    assert!(r.diagnostics.has_errors(), "{:?}", r.diagnostics);
    assert!(
        r.diagnostics
            .iter()
            .any(|d| d.summary == "Policy not found" && d.detail.contains(ALLOW_2)),
        "{:?}",
        r.diagnostics
    );
    assert_eq!(emu.write_count(), writes, "nothing written");
    assert_eq!(emu_links(&emu, &id), links(&[(ALLOW_1, 1)]));
    // A destroy plans nothing to check (the framework never calls modify_plan for
    // one) and deletes.
    let d = p.resource.delete(&ctx(), &refreshed, &private).await;
    assert!(!d.has_errors(), "{d:?}");
    assert!(emu.app(DEFAULT_ACCOUNT_ID, &id).is_none());
}

#[tokio::test]
async fn import_around_a_linked_policy_plans_nothing_and_moves_nobody() {
    let emu = emulator().await;
    let wf = workflow(&emu);
    let config = cfg(vec![
        (attr::NAME, Value::string("mcp")),
        (attr::DOMAIN, Value::string("mcp.example.com")),
        (attr::POLICY_IDS, Value::string_list([ALLOW_1, ALLOW_2])),
    ]);
    let state = apply(&emu, &wf, &Value::Null, &config).await;
    let id = id_of(&state);
    // Ours at 1 and 3, a Linked App Token policy (owned elsewhere) at 2.
    let layout = links(&[(ALLOW_1, 1), (LAT, 2), (ALLOW_2, 3)]);
    emu.set_attachments_out_of_band(
        DEFAULT_ACCOUNT_ID,
        &id,
        layout.iter().map(|(i, p)| (i.clone(), *p as u32)).collect(),
    );
    let imported = import(&wf, &id).await.unwrap();
    assert_eq!(
        get_strings(&imported, attr::POLICY_IDS),
        Some(vec![ALLOW_1.to_string(), ALLOW_2.to_string()])
    );
    assert_empty_plan(&emu, &wf, &imported, &config).await;
    // Another change applies without renumbering anyone.
    let mut renamed = config.clone();
    renamed.set(attr::NAME, Value::string("mcp renamed"));
    let state = apply(&emu, &wf, &imported, &renamed).await;
    assert_eq!(emu_links(&emu, &id), layout);
    // A real change to the list places ours around the linked policy.
    let mut reordered = renamed.clone();
    reordered.set(attr::POLICY_IDS, Value::string_list([ALLOW_2, ALLOW_1]));
    apply(&emu, &wf, &state, &reordered).await;
    assert_eq!(
        emu_links(&emu, &id),
        links(&[(ALLOW_2, 1), (LAT, 2), (ALLOW_1, 3)])
    );
}

/// An API that never echoes `oauth_configuration` and answers a PUT without the
/// application's `policies` (both keys absent): [`scripted_api`].
async fn terse_api() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    scripted_api(None, None).await
}

/// A scripted API on a bare HTTP/1.1 socket: answers by method and path, counts
/// requests. A GET of the application carries `oauth_configuration = read_oauth`,
/// the answer to a POST or PUT `written_oauth` (the key absent for `None`); only
/// a GET lists the `policies`.
async fn scripted_api(
    read_oauth: Option<serde_json::Value>,
    written_oauth: Option<serde_json::Value>,
) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/client/v4", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let head_end = loop {
                if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    break at;
                }
                match socket.read(&mut chunk).await {
                    Ok(0) | Err(_) => break 0,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            };
            let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
            let length: usize = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.trim()
                        .eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .unwrap_or(0);
            let mut body_len = buf.len().saturating_sub(head_end + 4);
            while body_len < length {
                match socket.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => body_len += n,
                }
            }
            let line = head.lines().next().unwrap_or_default().to_string();
            let mut app = json!({
                "id": APP_ID, "uid": APP_ID, "aud": "aud-tag", "name": "mcp",
                "type": "self_hosted", "domain": "mcp.example.com",
                "session_duration": "24h", "auto_redirect_to_identity": false,
            });
            let (status, result) = if line.starts_with("GET ") && line.contains("/policies/") {
                (
                    200,
                    json!({"id": ALLOW_1, "name": "allow one", "decision": "allow",
                             "include": [{"email_domain": {"domain": "example.com"}}]}),
                )
            } else if line.starts_with("GET ") && line.contains(APP_ID) {
                app["policies"] = json!([{"id": ALLOW_1, "precedence": 1}]);
                if let Some(o) = &read_oauth {
                    app["oauth_configuration"] = o.clone();
                }
                (200, app)
            } else if (line.starts_with("PUT ") && line.contains(APP_ID))
                || (line.starts_with("POST ") && line.contains("/access/apps "))
            {
                if let Some(o) = &written_oauth {
                    app["oauth_configuration"] = o.clone();
                }
                (200, app)
            } else {
                (404, serde_json::Value::Null)
            };
            let body = json!({"success": status == 200, "errors": [], "messages": [],
                              "result": result})
            .to_string();
            let response = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(response.as_bytes()).await;
        }
    });
    (base, count)
}

const APP_ID: &str = "5e5e5e5e-0000-4000-8000-000000000005";

/// `oauth_configuration` with every member set, as a configuration.
fn full_oauth_config(lifetime: &str) -> Value {
    Value::object([
        (attr::ENABLED, Value::Bool(false)),
        (
            attr::DYNAMIC_CLIENT_REGISTRATION,
            Value::object([
                (attr::ENABLED, Value::Bool(true)),
                (
                    attr::ALLOWED_URIS,
                    Value::string_list(["https://claude.ai/api/mcp/auth_callback"]),
                ),
                (attr::ALLOW_ANY_ON_LOCALHOST, Value::Bool(true)),
                (attr::ALLOW_ANY_ON_LOOPBACK, Value::Bool(false)),
            ]),
        ),
        (
            attr::GRANT,
            Value::object([
                (attr::ACCESS_TOKEN_LIFETIME, Value::string(lifetime)),
                (attr::SESSION_DURATION, Value::string("336h")),
            ]),
        ),
    ])
}

#[tokio::test]
async fn write_answers_with_null_oauth_members_keep_the_plan() {
    let nulls = json!({
        "enabled": null,
        "dynamic_client_registration": {"enabled": null, "allowed_uris": null,
                                        "allow_any_on_localhost": null, "allow_any_on_loopback": null},
        "grant": null
    });
    let (base, _requests) = scripted_api(Some(nulls.clone()), Some(nulls)).await;
    let p = process_at(&base).await;
    let with = |lifetime: &str| {
        cfg(vec![
            (attr::NAME, Value::string("mcp")),
            (attr::DOMAIN, Value::string("mcp.example.com")),
            (attr::OAUTH_CONFIGURATION, full_oauth_config(lifetime)),
        ])
    };
    // Create: the POST answer reports every member as null.
    let config = with("15m");
    let planned = plan(&p, &Value::Null, &config).await;
    assert!(!planned.diags.has_errors(), "{:?}", planned.diags);
    let r = p
        .resource
        .create(&ctx(), &config, &planned.req.planned, &[])
        .await;
    assert!(!r.diagnostics.has_errors(), "{:?}", r.diagnostics);
    let state = fill_nulls(&schema(), &r.new_state.unwrap());
    harness::assert_consistent(&planned.req.planned, &state);
    assert_eq!(
        state.get(attr::OAUTH_CONFIGURATION),
        Some(&full_oauth_config("15m"))
    );
    // A refresh reporting nothing either keeps the state, so the plan is empty.
    let read = refresh(&p, &state, &r.private).await;
    assert!(!read.diagnostics.has_errors(), "{:?}", read.diagnostics);
    let refreshed = fill_nulls(&schema(), &read.new_state.unwrap());
    assert_eq!(
        refreshed.get(attr::OAUTH_CONFIGURATION),
        state.get(attr::OAUTH_CONFIGURATION)
    );
    let same = plan(&p, &refreshed, &config).await;
    assert_eq!(
        same.req.planned.get(attr::OAUTH_CONFIGURATION),
        refreshed.get(attr::OAUTH_CONFIGURATION)
    );
    // Update: the PUT answer reports every member as null too.
    let config = with("5m");
    let planned = plan(&p, &refreshed, &config).await;
    let r = p
        .resource
        .update(
            &ctx(),
            &refreshed,
            &config,
            &planned.req.planned,
            &read.private,
        )
        .await;
    assert!(!r.diagnostics.has_errors(), "{:?}", r.diagnostics);
    let state = fill_nulls(&schema(), &r.new_state.unwrap());
    harness::assert_consistent(&planned.req.planned, &state);
    assert_eq!(
        state.get(attr::OAUTH_CONFIGURATION),
        Some(&full_oauth_config("5m"))
    );
}

#[tokio::test]
async fn a_write_answer_with_a_null_oauth_object_keeps_the_plan() {
    let (base, _requests) = scripted_api(None, Some(serde_json::Value::Null)).await;
    let p = process_at(&base).await;
    let config = cfg(vec![
        (attr::NAME, Value::string("mcp")),
        (attr::DOMAIN, Value::string("mcp.example.com")),
        (attr::OAUTH_CONFIGURATION, full_oauth_config("15m")),
    ]);
    let planned = plan(&p, &Value::Null, &config).await;
    let r = p
        .resource
        .create(&ctx(), &config, &planned.req.planned, &[])
        .await;
    assert!(!r.diagnostics.has_errors(), "{:?}", r.diagnostics);
    let state = fill_nulls(&schema(), &r.new_state.unwrap());
    harness::assert_consistent(&planned.req.planned, &state);
}

#[tokio::test]
async fn an_update_answer_without_oauth_or_policies_keeps_the_plan() {
    let (base, _requests) = terse_api().await;
    let p = process_at(&base).await;
    // The state before: ALLOW_1 attached, no Managed OAuth in the configuration.
    let base_cfg = vec![
        (attr::NAME, Value::string("mcp")),
        (attr::DOMAIN, Value::string("mcp.example.com")),
        (attr::POLICY_IDS, Value::string_list([ALLOW_1])),
    ];
    let imported = Value::object([
        (attr::ID, Value::string(APP_ID)),
        (attr::ACCOUNT_ID, Value::string(DEFAULT_ACCOUNT_ID)),
    ]);
    let read = p
        .resource
        .read(
            &ctx(),
            &fill_nulls(&schema(), &imported),
            &[],
            crate::tfplugin::ReadMode::Import,
        )
        .await;
    assert!(!read.diagnostics.has_errors(), "{:?}", read.diagnostics);
    let prior = fill_nulls(&schema(), &read.new_state.unwrap());
    assert_eq!(
        get_strings(&prior, attr::POLICY_IDS),
        Some(vec![ALLOW_1.to_string()])
    );
    // Managed OAuth turned on: the update's PUT answer has neither key.
    let mut with_oauth = base_cfg.clone();
    with_oauth.push((
        attr::OAUTH_CONFIGURATION,
        Value::object([(attr::ENABLED, Value::Bool(true))]),
    ));
    let config = cfg(with_oauth);
    let planned = plan(&p, &prior, &config).await;
    assert!(!planned.diags.has_errors(), "{:?}", planned.diags);
    let r = p
        .resource
        .update(&ctx(), &prior, &config, &planned.req.planned, &[])
        .await;
    assert!(!r.diagnostics.has_errors(), "{:?}", r.diagnostics);
    let state = fill_nulls(&schema(), &r.new_state.unwrap());
    harness::assert_consistent(&planned.req.planned, &state);
    assert_eq!(
        get_strings(&state, attr::POLICY_IDS),
        Some(vec![ALLOW_1.to_string()]),
        "attachments read again, not recorded as gone"
    );
    assert_eq!(
        state
            .get(attr::OAUTH_CONFIGURATION)
            .and_then(|o| o.get(attr::ENABLED)),
        Some(&Value::Bool(true))
    );
    // A later refresh reads what the API returns: no Managed OAuth, which shows.
    let refreshed = refresh(&p, &state, &r.private).await;
    let refreshed = fill_nulls(&schema(), &refreshed.new_state.unwrap());
    assert_eq!(
        refreshed
            .get(attr::OAUTH_CONFIGURATION)
            .and_then(|o| o.get(attr::ENABLED)),
        Some(&Value::Bool(false))
    );
}

#[tokio::test]
async fn import_lists_a_mixed_service_auth_policy_and_skips_only_pure_linked_ones() {
    let emu = emulator().await;
    let wf = workflow(&emu);
    // Service Auth with a linked_app_token rule *and* a service-token rule: not a
    // Linked App Token policy (cfaccess_linked_app_policy refuses to import it),
    // so the application's import lists it like any other policy.
    let (client, account) = harness::client(&emu);
    let mixed_body = crate::cloudflare::PolicyBody {
        name: "service tokens and the wiki".into(),
        decision: crate::cloudflare::Decision::NonIdentity,
        include: vec![
            crate::cloudflare::Rule::linked_app_token(demo_ids::COMPANY_WIKI_APP),
            crate::cloudflare::Rule::AnyValidServiceToken,
        ],
        ..Default::default()
    };
    let mixed = client.create_policy(&account, &mixed_body).await.unwrap();
    assert!(!mixed.is_linked_app_token() && mixed.has_linked_app_token_rule());
    emu.set_attachments_out_of_band(
        DEFAULT_ACCOUNT_ID,
        demo_ids::INTERNAL_API_APP,
        vec![
            (demo_ids::INTERNAL_API_EMPLOYEES_POLICY.into(), 1),
            (mixed.id.to_string(), 2),
            (LAT.into(), 3),
        ],
    );
    let state = import(&wf, demo_ids::INTERNAL_API_APP).await.unwrap();
    assert_eq!(
        get_strings(&state, attr::POLICY_IDS),
        Some(vec![
            demo_ids::INTERNAL_API_EMPLOYEES_POLICY.to_string(),
            mixed.id.to_string()
        ])
    );
    let config = cfg(vec![
        (attr::NAME, Value::string("Internal API")),
        (attr::DOMAIN, Value::string("api.internal.example.com")),
        (
            attr::POLICY_IDS,
            Value::string_list([demo_ids::INTERNAL_API_EMPLOYEES_POLICY, &mixed.id]),
        ),
    ]);
    assert_empty_plan(&emu, &wf, &state, &config).await;
}

#[tokio::test]
async fn import_refuses_other_types_and_skips_linked_app_policies() {
    let emu = emulator().await;
    let wf = workflow(&emu);
    // A seed app with an allow policy and a Linked App Token policy attached:
    // import manages the allow policy only.
    emu.set_attachments_out_of_band(
        DEFAULT_ACCOUNT_ID,
        demo_ids::INTERNAL_API_APP,
        vec![
            (demo_ids::INTERNAL_API_EMPLOYEES_POLICY.into(), 1),
            (LAT.into(), 2),
        ],
    );
    let state = import(&wf, demo_ids::INTERNAL_API_APP).await.unwrap();
    assert_eq!(
        get_strings(&state, attr::POLICY_IDS),
        Some(vec![demo_ids::INTERNAL_API_EMPLOYEES_POLICY.to_string()])
    );
    assert_eq!(get_str(&state, attr::NAME).as_deref(), Some("Internal API"));
    let config = cfg(vec![
        (attr::NAME, Value::string("Internal API")),
        (attr::DOMAIN, Value::string("api.internal.example.com")),
        (
            attr::POLICY_IDS,
            Value::string_list([demo_ids::INTERNAL_API_EMPLOYEES_POLICY]),
        ),
    ]);
    assert_empty_plan(&emu, &wf, &state, &config).await;

    // Other types: a clear error naming the type.
    let p = process(&emu).await;
    let (client, account) = harness::client(&emu);
    let ssh = client
        .create_app(
            &account,
            &json!({"type": "ssh", "name": "bastion", "domain": "ssh.example.com"}),
        )
        .await
        .unwrap();
    let saml = client
        .create_app(
            &account,
            &json!({"type": "saas", "name": "crm", "saas_app": {"auth_type": "saml"}}),
        )
        .await
        .unwrap();
    let r = p.resource.import(&ctx(), &ssh.id).await;
    let text: String = r.diagnostics.iter().map(|d| d.detail.clone()).collect();
    assert!(text.contains("\"ssh\""), "{text}");
    let r = p.resource.import(&ctx(), &saml.id).await;
    let text: String = r.diagnostics.iter().map(|d| d.detail.clone()).collect();
    assert!(text.contains("saml"), "{text}");
    let r = p.resource.import(&ctx(), "not-an-id").await;
    assert!(r.diagnostics.has_errors());
    let r = p
        .resource
        .import(&ctx(), "9f9f9f9f-0000-4000-8000-00000000dead")
        .await;
    assert!(
        r.diagnostics
            .iter()
            .any(|d| d.summary.contains("non-existent"))
    );
}

#[tokio::test]
async fn data_source_lookups() {
    let emu = emulator().await;
    let wf = workflow(&emu);
    let p = process(&emu).await;
    use crate::data_sources::access_application::schema as ds_schema;
    let ds_cfg =
        |k: &str, v: &str| fill_nulls(&ds_schema(), &Value::object([(k, Value::string(v))]));
    let by = |k: &'static str, v: &'static str| {
        let p = &p;
        let c = ds_cfg(k, v);
        async move { p.data_source.read(&ctx(), &c).await }
    };
    for (k, v) in [
        ("id", demo_ids::COMPANY_WIKI_APP),
        ("name", "Company wiki"),
        ("domain", "wiki.internal.example.com"),
    ] {
        let (state, d) = by(k, v).await;
        assert!(!d.has_errors(), "{d:?}");
        let state = state.unwrap();
        assert_eq!(
            get_str(&state, "id").as_deref(),
            Some(demo_ids::COMPANY_WIKI_APP)
        );
        assert_eq!(
            get_str(&state, "uid").as_deref(),
            Some(demo_ids::COMPANY_WIKI_APP)
        );
        assert_eq!(get_str(&state, "type").as_deref(), Some("self_hosted"));
        assert_eq!(get_str(&state, "name").as_deref(), Some("Company wiki"));
        assert_eq!(
            get_str(&state, "domain").as_deref(),
            Some("wiki.internal.example.com")
        );
        assert!(get_str(&state, "aud").is_some());
        assert_eq!(
            get_strings(&state, "policy_ids"),
            Some(vec![demo_ids::COMPANY_WIKI_EMPLOYEES_POLICY.to_string()])
        );
        assert!(state.is_wholly_known());
    }
    // Substring matches of the API's filters do not count.
    let (state, d) = by("name", "Company").await;
    assert!(state.is_none());
    let text: String = d.iter().map(|x| x.detail.clone()).collect();
    assert!(
        text.contains("Found 0") && text.contains("name = \"Company\""),
        "{text}"
    );
    let (_, d) = by("id", "9f9f9f9f-0000-4000-8000-00000000dead").await;
    assert!(d.iter().any(|x| x.detail.contains("Found 0")));
    // Several apps with one name.
    let twin = cfg(vec![
        (attr::NAME, Value::string("twin")),
        (attr::DOMAIN, Value::string("twin1.example.com")),
    ]);
    apply(&emu, &wf, &Value::Null, &twin).await;
    let mut twin2 = twin.clone();
    twin2.set(attr::DOMAIN, Value::string("twin2.example.com"));
    apply(&emu, &wf, &Value::Null, &twin2).await;
    let p2 = process(&emu).await;
    let (state, d) = p2.data_source.read(&ctx(), &ds_cfg("name", "twin")).await;
    assert!(state.is_none());
    let text: String = d.iter().map(|x| x.detail.clone()).collect();
    assert!(text.contains("Found 2"), "{text}");
    // Exactly one key.
    let mut both = ds_cfg("name", "twin");
    both.set("domain", Value::string("twin1.example.com"));
    let mut d = Diagnostics::new();
    p2.data_source.validate(&ctx(), &both, &mut d).await;
    assert_eq!(d.0.len(), 1);
    assert_eq!(d.0[0].attribute, Some(AttributePath::root("domain")));
    let mut d = Diagnostics::new();
    p2.data_source
        .validate(
            &ctx(),
            &fill_nulls(&ds_schema(), &Value::object::<[(&str, Value); 0], &str>([])),
            &mut d,
        )
        .await;
    assert!(d.has_errors());
    assert!(d.0[0].detail.contains("id, name and domain"));
}
