//! Managed OAuth (`oauth_configuration`): validation, plan, state and request bodies.
use super::super::*;
use super::support::{all_diags, config, model, paths, plan};
use crate::tfplugin::plan::fill_nulls;

const APP_ID: &str = "6cdc3892-f9f1-4813-a5ce-38c2753e1208";
const ACCOUNT: &str = "023e105f4ecef8ad9ca31a8372d0c353";

/// A self-hosted configuration with `oauth_configuration = oauth`.
fn with_oauth(oauth: Value) -> Value {
    config(vec![
        (attr::NAME, Value::string("mcp")),
        (attr::DOMAIN, Value::string("mcp.example.com")),
        (attr::OAUTH_CONFIGURATION, oauth),
    ])
}

/// An `oauth_configuration` object with every member given (null unless set).
fn oauth(enabled: Value, dcr: Value, grant: Value) -> Value {
    Value::object([
        (attr::ENABLED, enabled),
        (attr::DYNAMIC_CLIENT_REGISTRATION, dcr),
        (attr::GRANT, grant),
    ])
}

fn dcr(uris: Value, localhost: Value) -> Value {
    Value::object([
        (attr::ENABLED, Value::Bool(true)),
        (attr::ALLOWED_URIS, uris),
        (attr::ALLOW_ANY_ON_LOCALHOST, localhost),
        (attr::ALLOW_ANY_ON_LOOPBACK, Value::Null),
    ])
}

fn grant(lifetime: Value, session: Value) -> Value {
    Value::object([
        (attr::ACCESS_TOKEN_LIFETIME, lifetime),
        (attr::SESSION_DURATION, session),
    ])
}

fn app_with(oauth: Option<serde_json::Value>) -> App {
    let mut app = json!({
        "id": APP_ID, "uid": APP_ID, "name": "mcp", "type": "self_hosted",
        "domain": "mcp.example.com", "session_duration": "24h", "policies": [],
        "tags": ["kept"]
    });
    if let Some(o) = oauth {
        app["oauth_configuration"] = o;
    }
    serde_json::from_value(app).unwrap()
}

fn managed() -> PolicyScope {
    PolicyScope::Managed(Vec::new())
}

#[test]
fn valid_oauth_configurations_pass() {
    let full = with_oauth(oauth(
        Value::Bool(true),
        dcr(
            Value::string_list([
                "https://claude.ai/api/mcp/auth_callback",
                "https://chatgpt.com/connector/oauth/*",
                "http://localhost:6274/oauth/callback",
                "http://127.0.0.1:19876/mcp/oauth/callback",
                "http://[::1]:8080/cb",
            ]),
            Value::Bool(false),
        ),
        grant(Value::string("15m"), Value::string("336h")),
    ));
    assert!(!all_diags(&full).has_errors(), "{:?}", all_diags(&full));
    let minimal = with_oauth(oauth(Value::Null, Value::Null, Value::Null));
    assert!(!all_diags(&minimal).has_errors());
    let go_units = with_oauth(oauth(
        Value::Null,
        Value::Null,
        grant(Value::string("1h30m"), Value::string("90000ms")),
    ));
    assert!(!all_diags(&go_units).has_errors());
}

#[test]
fn oauth_on_saas_is_refused_with_its_path() {
    let saas = |oauth_value: Value| {
        config(vec![
            (attr::NAME, Value::string("mcp")),
            (attr::TYPE, Value::string(SAAS)),
            (
                attr::SAAS,
                Value::object([
                    (
                        attr::REDIRECT_URIS,
                        Value::string_list(["https://a.example.com/cb"]),
                    ),
                    (attr::GRANT_TYPES, Value::string_set(["authorization_code"])),
                    (attr::SCOPES, Value::string_set(["openid"])),
                    (attr::ACCESS_TOKEN_LIFETIME, Value::Null),
                    (attr::ALLOW_PKCE_WITHOUT_CLIENT_SECRET, Value::Null),
                ]),
            ),
            (attr::OAUTH_CONFIGURATION, oauth_value),
        ])
    };
    let d = all_diags(&saas(oauth(Value::Bool(true), Value::Null, Value::Null)));
    assert_eq!(paths(&d), vec![attr::OAUTH_CONFIGURATION.to_string()]);
    assert!(d.0[0].detail.contains("type = \"self_hosted\""));
    // Unknown (from another resource) is not judged yet; null is fine.
    assert!(!all_diags(&saas(Value::Unknown)).has_errors());
    assert!(!all_diags(&saas(Value::Null)).has_errors());
}

#[test]
fn allowed_uris_and_durations_are_checked_with_paths() {
    let d = all_diags(&with_oauth(oauth(
        Value::Null,
        dcr(
            Value::List(vec![
                Value::string("https://ok.example.com/cb"),
                Value::string("http://mcp.example.com/cb"),
                Value::Unknown,
                Value::string("com.example.app:/oauth/callback"),
                Value::string("https://ok.example.com/cb#frag"),
                Value::string("not a url"),
            ]),
            Value::Null,
        ),
        grant(Value::string("15 minutes"), Value::string("-1h")),
    )));
    let base = "oauth_configuration.dynamic_client_registration.allowed_uris";
    assert_eq!(
        paths(&d),
        vec![
            format!("{base}[1]"),
            format!("{base}[3]"),
            format!("{base}[4]"),
            format!("{base}[5]"),
            "oauth_configuration.grant.access_token_lifetime".to_string(),
            "oauth_configuration.grant.session_duration".to_string(),
        ],
        "{d:?}"
    );
    assert!(d.0[0].detail.contains("other than localhost"));
    assert!(d.0[4].detail.contains("must be a duration"));
    assert!(d.0[5].detail.contains("longer than 0s"));
    let dup = all_diags(&with_oauth(oauth(
        Value::Null,
        dcr(
            Value::string_list(["https://a.example.com/cb", "https://a.example.com/cb"]),
            Value::Null,
        ),
        Value::Null,
    )));
    assert!(dup.has_errors());
    let zero = all_diags(&with_oauth(oauth(
        Value::Null,
        Value::Null,
        grant(Value::string("0s"), Value::Null),
    )));
    assert_eq!(
        paths(&zero),
        vec!["oauth_configuration.grant.access_token_lifetime".to_string()]
    );
}

fn planned(prior: &Value, cfg: &Value) -> Value {
    plan(prior, cfg).planned
}

#[test]
fn plan_fills_omitted_members_from_prior_or_leaves_them_unknown() {
    let cfg = with_oauth(oauth(
        Value::Null,
        dcr(
            Value::string_list(["https://a.example.com/cb"]),
            Value::Null,
        ),
        Value::Null,
    ));
    // Create: `enabled` defaults to true, the rest is up to the API.
    let create = planned(&Value::Null, &cfg);
    let o = create.get(attr::OAUTH_CONFIGURATION).unwrap();
    assert_eq!(o.get(attr::ENABLED), Some(&Value::Bool(true)));
    assert_eq!(o.get(attr::GRANT), Some(&Value::Unknown));
    let d = o.get(attr::DYNAMIC_CLIENT_REGISTRATION).unwrap();
    assert_eq!(d.get(attr::ALLOW_ANY_ON_LOCALHOST), Some(&Value::Unknown));
    assert_eq!(
        d.get(attr::ALLOWED_URIS),
        Some(&Value::string_list(["https://a.example.com/cb"]))
    );

    // The state the API produced (nulls included) plans without a change.
    let app = app_with(Some(json!({
        "enabled": null,
        "dynamic_client_registration": {"enabled": true, "allowed_uris": ["https://a.example.com/cb"],
                                        "allow_any_on_localhost": null, "allow_any_on_loopback": false},
        "grant": {"access_token_lifetime": "15m", "session_duration": null}
    })));
    let plan_model = model(&create);
    let state = state_from_app(&app, &plan_model, ACCOUNT, None, &managed())
        .unwrap()
        .to_value();
    let prior = fill_nulls(&schema(), &state);
    let again = planned(&prior, &cfg);
    assert_eq!(
        again.get(attr::OAUTH_CONFIGURATION),
        prior.get(attr::OAUTH_CONFIGURATION),
        "no diff for members the API returned as null or defaulted"
    );

    // Drift of `enabled` is planned back to true although the config omits it.
    let mut drifted = prior.clone();
    if let Some(o) = drifted.get_mut(attr::OAUTH_CONFIGURATION) {
        o.set(attr::ENABLED, Value::Bool(false));
    }
    let repaired = planned(&drifted, &cfg);
    assert_eq!(
        repaired
            .get(attr::OAUTH_CONFIGURATION)
            .and_then(|o| o.get(attr::ENABLED)),
        Some(&Value::Bool(true))
    );

    // Omitted: not managed. The prior object is shown unchanged (no diff after an
    // import or once the configuration stops setting it); a create plans null.
    let kept = planned(&prior, &with_oauth(Value::Null));
    assert_eq!(
        kept.get(attr::OAUTH_CONFIGURATION),
        prior.get(attr::OAUTH_CONFIGURATION)
    );
    let none = planned(&Value::Null, &with_oauth(Value::Null));
    assert_eq!(none.get(attr::OAUTH_CONFIGURATION), Some(&Value::Null));
    // Replaced by a saas application: nothing of the old object is planned.
    let mut saas_cfg = with_oauth(Value::Null);
    saas_cfg.set(attr::TYPE, Value::string(SAAS));
    saas_cfg.set(attr::DOMAIN, Value::Null);
    let replaced = planned(&prior, &saas_cfg);
    assert_eq!(replaced.get(attr::OAUTH_CONFIGURATION), Some(&Value::Null));
}

#[test]
fn what_is_sent_follows_the_configuration_not_the_plan() {
    let prior_oauth = Model {
        oauth_configuration: Field::Known(OAuthModel {
            enabled: Field::Known(true),
            dynamic_client_registration: Field::Known(DcrModel {
                enabled: Field::Known(true),
                allowed_uris: Field::Known(vec!["https://a/cb".into()]),
                allow_any_on_localhost: Field::Known(true),
                allow_any_on_loopback: Field::Null,
            }),
            grant: Field::Null,
        }),
        ..Model::default()
    };
    // Omitted: the object shown in the plan is not sent.
    let send = to_send(&prior_oauth, &model(&with_oauth(Value::Null)));
    assert_eq!(send.oauth_configuration, Field::Null);
    assert!(create_body(&send).get("oauth_configuration").is_none());
    // Set: the configured members, and `enabled` as planned; members only filled
    // from the prior state are not sent.
    let cfg = with_oauth(oauth(
        Value::Null,
        dcr(Value::string_list(["https://a/cb"]), Value::Null),
        Value::Null,
    ));
    let send = to_send(&prior_oauth, &model(&cfg));
    assert_eq!(
        send.oauth_configuration,
        Field::Known(OAuthModel {
            enabled: Field::Known(true),
            dynamic_client_registration: Field::Known(DcrModel {
                enabled: Field::Known(true),
                allowed_uris: Field::Known(vec!["https://a/cb".into()]),
                allow_any_on_localhost: Field::Null,
                allow_any_on_loopback: Field::Null,
            }),
            grant: Field::Null,
        })
    );
}

#[test]
fn state_is_managed_only_when_configured_or_imported() {
    let api = json!({"enabled": true, "grant": {"session_duration": "24h"}});
    let basis_none = Model::default();
    // Not in the configuration: never in state, whatever the app holds.
    let st = state_from_app(
        &app_with(Some(api.clone())),
        &basis_none,
        ACCOUNT,
        None,
        &managed(),
    )
    .unwrap();
    assert_eq!(st.oauth_configuration, Field::Null);
    // Import adopts it when the app has one, and only then.
    let imported = PolicyScope::Imported {
        excluded: HashSet::new(),
    };
    let st = state_from_app(&app_with(Some(api)), &basis_none, ACCOUNT, None, &imported).unwrap();
    assert_eq!(
        st.oauth_configuration,
        Field::Known(OAuthModel {
            enabled: Field::Known(true),
            dynamic_client_registration: Field::Null,
            grant: Field::Known(GrantModel {
                access_token_lifetime: Field::Null,
                session_duration: Field::Known("24h".into()),
            }),
        })
    );
    let st = state_from_app(&app_with(None), &basis_none, ACCOUNT, None, &imported).unwrap();
    assert_eq!(st.oauth_configuration, Field::Null);
}

/// [`state_after_write`] with the configuration `oauth_configuration = config_oauth`
/// and `planned` as the plan.
fn after_write(app: &App, planned: &Model, config_oauth: Value) -> Model {
    let cfg = with_oauth(config_oauth);
    state_after_write(
        app,
        planned,
        ACCOUNT,
        None,
        &managed(),
        &model(&cfg),
        &model(&fill_nulls(&schema(), &planned.to_value())),
    )
    .unwrap()
}

/// A plan for `oauth_configuration` with a member of every kind set.
fn full_plan() -> Model {
    Model {
        app_type: Field::Known(SELF_HOSTED.into()),
        oauth_configuration: Field::Known(OAuthModel {
            enabled: Field::Known(false),
            dynamic_client_registration: Field::Known(DcrModel {
                enabled: Field::Known(true),
                allowed_uris: Field::Known(vec!["https://client.example.com/cb".into()]),
                allow_any_on_localhost: Field::Known(true),
                allow_any_on_loopback: Field::Known(false),
            }),
            grant: Field::Known(GrantModel {
                access_token_lifetime: Field::Known("15m".into()),
                session_duration: Field::Known("336h".into()),
            }),
        }),
        ..Model::default()
    }
}

/// `full_plan`'s object as a configuration.
fn full_config() -> Value {
    full_plan().oauth_configuration.to_value()
}

#[test]
fn a_write_answer_without_the_oauth_key_keeps_the_plan_and_a_read_does_not() {
    let planned = full_plan();
    // The create/update answer leaves the object out, or returns it as null: it
    // says nothing about it, so the planned object stays and the apply is
    // consistent with its plan.
    let absent = app_with(None);
    assert!(!absent.extra.contains_key("oauth_configuration"));
    let st = after_write(&absent, &planned, full_config());
    assert_eq!(st.oauth_configuration, planned.oauth_configuration);
    let null = app_with(Some(serde_json::Value::Null));
    let st = after_write(&null, &planned, full_config());
    assert_eq!(st.oauth_configuration, planned.oauth_configuration);
    // A refresh reads what the API returns, absent and null included: Managed
    // OAuth removed, which shows as drift.
    for app in [&absent, &null] {
        let st = state_from_app(app, &planned, ACCOUNT, None, &managed()).unwrap();
        assert_eq!(
            st.oauth_configuration
                .into_known()
                .and_then(|o| o.enabled.into_known()),
            Some(false)
        );
    }
    // Not configured and not planned: nothing kept, whatever the answer.
    let st = after_write(&absent, &Model::default(), Value::Null);
    assert_eq!(st.oauth_configuration, Field::Null);
}

#[test]
fn null_members_in_a_write_answer_keep_the_plan() {
    let planned = full_plan();
    let all_null = json!({
        "enabled": null,
        "dynamic_client_registration": {"enabled": null, "allowed_uris": null,
                                        "allow_any_on_localhost": null, "allow_any_on_loopback": null},
        "grant": {"access_token_lifetime": null, "session_duration": null}
    });
    let nested_null = json!({"enabled": null, "dynamic_client_registration": null, "grant": null});
    for answer in [all_null, nested_null, json!({})] {
        let st = after_write(&app_with(Some(answer.clone())), &planned, full_config());
        assert_eq!(
            st.oauth_configuration, planned.oauth_configuration,
            "{answer}"
        );
    }
    // A concrete different value is the API's answer, taken as it is.
    let st = after_write(
        &app_with(Some(
            json!({"enabled": true, "grant": {"access_token_lifetime": "5m"}}),
        )),
        &planned,
        full_config(),
    );
    let o = st.oauth_configuration.into_known().unwrap();
    assert_eq!(o.enabled, Field::Known(true));
    assert_eq!(
        o.grant
            .into_known()
            .and_then(|g| g.access_token_lifetime.into_known()),
        Some("5m".to_string())
    );
}

#[test]
fn parts_the_configuration_leaves_out_stay_as_planned_after_a_write() {
    // The configuration omits the object; the plan shows the prior one (import).
    let planned = full_plan();
    let changed_since = app_with(Some(
        json!({"enabled": true, "grant": {"session_duration": "1h"}}),
    ));
    let st = after_write(&changed_since, &planned, Value::Null);
    assert_eq!(st.oauth_configuration, planned.oauth_configuration);
    // The configuration sets only `grant`: the rest was not sent, so a value that
    // changed between plan and apply stays as planned until the next refresh;
    // `enabled` (sent, planned `true`) and the grant are the API's.
    let mut planned = full_plan();
    if let Some(o) = planned.oauth_configuration.known_mut() {
        o.enabled = Field::Known(true);
    }
    let cfg = oauth(
        Value::Null,
        Value::Null,
        grant(Value::string("15m"), Value::string("336h")),
    );
    let answer = app_with(Some(json!({
        "enabled": true,
        "dynamic_client_registration": {"enabled": true, "allowed_uris": ["https://other/cb"]},
        "grant": {"access_token_lifetime": "0.25h", "session_duration": "336h"}
    })));
    let st = after_write(&answer, &planned, cfg);
    assert_eq!(st.oauth_configuration, planned.oauth_configuration);
}

#[test]
fn state_reads_nulls_defaults_and_rewrites_without_drift() {
    let basis = Model {
        oauth_configuration: Field::Known(OAuthModel {
            enabled: Field::Known(true),
            dynamic_client_registration: Field::Known(DcrModel {
                enabled: Field::Known(false),
                allowed_uris: Field::Known(vec!["https://b/cb".into(), "https://a/cb".into()]),
                allow_any_on_localhost: Field::Known(true),
                allow_any_on_loopback: Field::Null,
            }),
            grant: Field::Known(GrantModel {
                access_token_lifetime: Field::Known("15m".into()),
                session_duration: Field::Known("336h".into()),
            }),
        }),
        ..Model::default()
    };
    let app = app_with(Some(json!({
        "dynamic_client_registration": {"enabled": null, "allowed_uris": ["https://a/cb", "https://b/cb"],
                                        "allow_any_on_localhost": true, "allow_any_on_loopback": true},
        "grant": {"access_token_lifetime": "0.25h", "session_duration": "336h0m0s"}
    })));
    let st = state_from_app(&app, &basis, ACCOUNT, None, &managed()).unwrap();
    let mut want = basis.oauth_configuration.clone().into_known().unwrap();
    // Unset by the user: the API's value.
    if let Some(d) = want.dynamic_client_registration.known_mut() {
        d.allow_any_on_loopback = Field::Known(true);
    }
    assert_eq!(st.oauth_configuration, Field::Known(want));

    // A member the API returns as null (or leaves out) is not reported: the prior
    // value stays, at every level.
    let quiet = app_with(Some(json!({
        "enabled": null,
        "dynamic_client_registration": {"allowed_uris": null, "allow_any_on_localhost": null},
        "grant": null
    })));
    let st = state_from_app(&quiet, &basis, ACCOUNT, None, &managed()).unwrap();
    assert_eq!(st.oauth_configuration, basis.oauth_configuration);

    // Real drift stays visible: concrete values that differ, a URI gone, a list
    // emptied, the object removed.
    let drifted = app_with(Some(json!({
        "enabled": false,
        "dynamic_client_registration": {"enabled": true, "allowed_uris": ["https://a/cb"],
                                        "allow_any_on_localhost": false},
        "grant": {"access_token_lifetime": "1h", "session_duration": "336h"}
    })));
    let st = state_from_app(&drifted, &basis, ACCOUNT, None, &managed())
        .unwrap()
        .oauth_configuration
        .into_known()
        .unwrap();
    assert_eq!(st.enabled, Field::Known(false));
    let d = st.dynamic_client_registration.into_known().unwrap();
    assert_eq!(d.enabled, Field::Known(true));
    assert_eq!(
        d.allowed_uris,
        Field::Known(vec!["https://a/cb".to_string()])
    );
    assert_eq!(d.allow_any_on_localhost, Field::Known(false));
    let g = st.grant.into_known().unwrap();
    assert_eq!(g.access_token_lifetime, Field::Known("1h".to_string()));
    let emptied = app_with(Some(
        json!({"dynamic_client_registration": {"allowed_uris": []}}),
    ));
    let st = state_from_app(&emptied, &basis, ACCOUNT, None, &managed()).unwrap();
    assert_eq!(
        st.oauth_configuration
            .into_known()
            .and_then(|o| o.dynamic_client_registration.into_known())
            .map(|d| d.allowed_uris),
        Some(Field::Null)
    );
    let removed = state_from_app(&app_with(None), &basis, ACCOUNT, None, &managed()).unwrap();
    assert_eq!(
        removed.oauth_configuration,
        Field::Known(OAuthModel {
            enabled: Field::Known(false),
            ..OAuthModel::default()
        })
    );
}

#[test]
fn bodies_send_only_what_is_set_and_keep_the_rest_as_read() {
    let plan = Model {
        name: Field::Known("mcp".into()),
        app_type: Field::Known(SELF_HOSTED.into()),
        domain: Field::Known("mcp.example.com".into()),
        oauth_configuration: Field::Known(OAuthModel {
            enabled: Field::Known(true),
            dynamic_client_registration: Field::Known(DcrModel {
                allowed_uris: Field::Known(vec!["https://a/cb".into()]),
                ..DcrModel::default()
            }),
            grant: Field::Null,
        }),
        ..Model::default()
    };
    let body = create_body(&plan);
    assert_eq!(
        body["oauth_configuration"],
        json!({"enabled": true, "dynamic_client_registration": {"allowed_uris": ["https://a/cb"]}})
    );
    let without = create_body(&Model {
        oauth_configuration: Field::Null,
        ..plan.clone()
    });
    assert!(without.get("oauth_configuration").is_none());

    let current = app_with(Some(json!({
        "enabled": false, "beta_member": "kept",
        "dynamic_client_registration": {"enabled": true, "allowed_uris": ["https://old/cb"],
                                        "allow_any_on_loopback": true},
        "grant": {"session_duration": "24h"}
    })));
    let body = update_body(&current, &plan);
    assert_eq!(
        body["oauth_configuration"],
        json!({
            "enabled": true, "beta_member": "kept",
            "dynamic_client_registration": {"enabled": true, "allowed_uris": ["https://a/cb"],
                                            "allow_any_on_loopback": true},
            "grant": {"session_duration": "24h"}
        })
    );
    assert_eq!(body["tags"], json!(["kept"]));
    // Omitted: the object goes back exactly as read.
    let body = update_body(
        &current,
        &Model {
            oauth_configuration: Field::Null,
            ..plan
        },
    );
    assert_eq!(
        body["oauth_configuration"],
        current.to_update_body()["oauth_configuration"]
    );
}

/// A write answer that leaves out `dynamic_client_registration` or `grant` while the
/// plan left some of their members to apply (the configuration set only `enabled`):
/// the state keeps what the plan knew and holds no unknown, so Terraform never sees
/// an unknown value after apply.
#[test]
fn a_write_answer_without_nested_objects_leaves_no_unknown_in_state() {
    let mut planned = full_plan();
    if let Some(oauth) = planned.oauth_configuration.known_mut() {
        oauth.dynamic_client_registration = Field::Known(DcrModel {
            enabled: Field::Known(true),
            allowed_uris: Field::Unknown,
            allow_any_on_localhost: Field::Unknown,
            allow_any_on_loopback: Field::Unknown,
        });
        oauth.grant = Field::Known(GrantModel {
            access_token_lifetime: Field::Unknown,
            session_duration: Field::Known("336h".into()),
        });
    }
    // The configuration sets only these members; the rest were planned unknown.
    let config = Value::object([
        (attr::ENABLED, Value::Bool(false)),
        (
            attr::DYNAMIC_CLIENT_REGISTRATION,
            Value::object([
                (attr::ENABLED, Value::Bool(true)),
                (attr::ALLOWED_URIS, Value::Null),
                (attr::ALLOW_ANY_ON_LOCALHOST, Value::Null),
                (attr::ALLOW_ANY_ON_LOOPBACK, Value::Null),
            ]),
        ),
        (
            attr::GRANT,
            Value::object([
                (attr::ACCESS_TOKEN_LIFETIME, Value::Null),
                (attr::SESSION_DURATION, Value::string("336h")),
            ]),
        ),
    ]);
    for answer in [
        json!({"enabled": false}),
        json!({"enabled": false, "grant": null}),
    ] {
        let st = after_write(&app_with(Some(answer.clone())), &planned, config.clone());
        assert!(st.to_value().is_wholly_known(), "{answer}: {st:?}");
        let o = st.oauth_configuration.into_known().expect("kept");
        let dcr = o
            .dynamic_client_registration
            .into_known()
            .expect("dcr kept");
        assert_eq!(dcr.enabled, Field::Known(true), "{answer}");
        assert!(dcr.allowed_uris.is_null(), "{answer}");
        let grant = o.grant.into_known().expect("grant kept");
        assert_eq!(
            grant.session_duration,
            Field::Known("336h".into()),
            "{answer}"
        );
        assert!(grant.access_token_lifetime.is_null(), "{answer}");
    }
}
