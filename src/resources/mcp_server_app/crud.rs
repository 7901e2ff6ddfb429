//! The resource: plan-time checks against the API, create, read, update, delete, import.

use super::*;

// ----- the resource -----------------------------------------------------------------------

/// The resource.
pub struct McpServerAppResource {
    data: Arc<ProviderData>,
}

impl McpServerAppResource {
    /// A resource served through `data`.
    pub fn new(data: Arc<ProviderData>) -> Self {
        McpServerAppResource { data }
    }

    /// Ids of the attached Linked App Token policies, which import leaves out of
    /// `policy_ids`: [`Policy::is_linked_app_token`](crate::cloudflare::Policy::is_linked_app_token),
    /// the definition `cfaccess_linked_app_policy` imports by, so exactly the policies
    /// that resource can own. A policy mixing other rules in is general purpose: it is
    /// listed (and that resource refuses to import it).
    async fn linked_app_policy_ids(
        &self,
        client: &crate::cloudflare::Client,
        account: &AccountId,
        app: &App,
    ) -> Result<HashSet<String>, ApiError> {
        let mut out = HashSet::new();
        for entry in &app.policies {
            let is_lat = match entry.expanded_policy() {
                Some(policy) => policy.is_linked_app_token(),
                None => match client.get_policy(account, &entry.id).await {
                    Ok(p) => p.is_linked_app_token(),
                    Err(e) if e.is_not_found() => false,
                    Err(e) => return Err(e),
                },
            };
            if is_lat {
                out.insert(entry.id.to_string());
            }
        }
        Ok(out)
    }

    /// Plan-time checks against the API: every listed policy exists and suits the app
    /// type. Attachments need no check: ours are placed around everyone else's.
    async fn check_policies_against_api(&self, req: &PlanRequest, diags: &mut Diagnostics) {
        if !self.data.is_ready() {
            return;
        }
        let Some(wanted_value) = req.planned.get(attr::POLICY_IDS) else {
            return;
        };
        let account_value = if req.is_create() {
            req.config
                .get(attr::ACCOUNT_ID)
                .cloned()
                .unwrap_or(Value::Null)
        } else {
            req.prior
                .get(attr::ACCOUNT_ID)
                .cloned()
                .unwrap_or(Value::Null)
        };
        if account_value.is_unknown() {
            return;
        }
        let api = match self.data.api(&account_value) {
            Ok(api) => api,
            Err(d) => {
                diags.extend(d);
                return;
            }
        };
        // Only known ids can be checked; unknown ones are checked at apply.
        let ids: Vec<(usize, String)> = wanted_value
            .elements()
            .unwrap_or(&[])
            .iter()
            .enumerate()
            .filter_map(|(i, el)| el.as_str().map(|id| (i, id.to_string())))
            .collect();
        let recorded = if req.is_create() {
            None
        } else {
            recorded::load::<Recorded>(&req.private)
        };
        let mut found = Findings::new(Stage::Plan(recorded.as_ref()));
        let saas = Model::from_value(&req.planned).is_saas();
        check_policies(&api.client, &api.account_id, &ids, saas, &mut found).await;
        diags.extend(found.diags);
    }
}

/// What Terraform last saved of an application (create, update, import): a check
/// that fails on a policy listed here failed because the policy changed outside
/// Terraform since (see [`recorded`]).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub(super) struct Recorded {
    #[serde(default)]
    policy_ids: BTreeSet<String>,
}

impl Recorded {
    fn of(state: &Model) -> Recorded {
        Recorded {
            policy_ids: state.policy_ids.iter().flatten().cloned().collect(),
        }
    }
}

/// Checks that the policies `ids` (index in `policy_ids`, id) exist and, on a `saas`
/// application, are not Linked App Token policies. One read per policy.
pub(super) async fn check_policies(
    client: &crate::cloudflare::Client,
    account: &AccountId,
    ids: &[(usize, String)],
    saas: bool,
    found: &mut Findings<'_, Recorded>,
) {
    for (i, id) in ids {
        let path = AttributePath::root(attr::POLICY_IDS).index(*i);
        let recorded = found.recorded().is_some_and(|r| r.policy_ids.contains(id));
        match client
            .get_policy(account, &PolicyId::new_unchecked(id.as_str()))
            .await
        {
            // Not an ownership question: any linked_app_token rule, even in a policy
            // mixing other rules, is refused on non-self-hosted apps.
            Ok(policy) if saas && policy.has_linked_app_token_rule() => found.push(
                path,
                "Linked App Token policy on a SaaS application",
                format!(
                    "Policy {id} ({:?}) is a Linked App Token (Service Auth) policy; \
                     Cloudflare applies those only to self-hosted applications, so it \
                     cannot protect this saas application. List user-facing (allow) \
                     policies here.",
                    policy.name
                ),
                recorded,
            ),
            Ok(_) => {}
            Err(e) if e.is_not_found() => {
                let detail = if recorded {
                    format!(
                        "Policy {id} in policy_ids no longer exists in account {account}: it was \
                         deleted outside Terraform, so it no longer protects this application. \
                         Remove it from policy_ids (or list the policy that replaces it)."
                    )
                } else {
                    format!(
                        "No reusable Access policy {id} exists in account {account}. policy_ids \
                         takes the ids of reusable policies (for example \
                         cloudflare_zero_trust_access_policy.<name>.id)."
                    )
                };
                found.push(path, "Policy not found", detail, recorded);
            }
            Err(e) => found.diags.0.push(errors::api_error_at(
                &format!("look up policy {id}"),
                &e,
                Some(path),
            )),
        }
    }
}

#[async_trait]
impl Resource for McpServerAppResource {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn validate(&self, _ctx: &Context, config: &Value, diags: &mut Diagnostics) {
        validate_config(config, diags);
    }

    async fn modify_plan(&self, _ctx: &Context, req: &mut PlanRequest, diags: &mut Diagnostics) {
        plan_fixed_values(req);
        self.data.plan_default_account(req);
        self.check_policies_against_api(req, diags).await;
    }

    async fn create(
        &self,
        _ctx: &Context,
        config: &Value,
        planned: &Value,
        _private: &[u8],
    ) -> ApplyResult {
        let mut diagnostics = Diagnostics::new();
        let account_value = config.get(attr::ACCOUNT_ID).cloned().unwrap_or(Value::Null);
        let api = match self.data.api(&account_value) {
            Ok(api) => api,
            Err(d) => {
                return ApplyResult {
                    diagnostics: d,
                    ..Default::default()
                };
            }
        };
        let plan = Model::from_value(planned);
        let wanted = plan.policy_ids.clone().unwrap_or_default();
        // Checked again before the POST, as update does: ids unknown at plan time (a
        // policy created in the same run) could not be checked then.
        let ids: Vec<(usize, String)> = wanted.iter().cloned().enumerate().collect();
        let mut found = Findings::new(Stage::Apply);
        check_policies(
            &api.client,
            &api.account_id,
            &ids,
            plan.is_saas(),
            &mut found,
        )
        .await;
        if found.diags.has_errors() {
            return ApplyResult {
                diagnostics: found.diags,
                ..Default::default()
            };
        }
        let body = create_body(&to_send(&plan, config));
        let name = plan.name.clone().unwrap_or_default();
        let mut app = match api.client.create_app(&api.account_id, &body).await {
            Ok(app) => app,
            Err(e) => {
                diagnostics.0.push(errors::api_error(
                    &format!("create Access application {name:?}"),
                    &e,
                ));
                // The application exists although its answer could not be read: keep
                // its id so Terraform tracks (and can destroy) it.
                let new_state = e.created_id().map(|id| {
                    Model {
                        id: Some(id.to_owned()),
                        uid: Some(id.to_owned()),
                        account_id: Some(api.account_id.to_string()),
                        ..plan.clone()
                    }
                    .to_value()
                });
                return ApplyResult {
                    new_state,
                    diagnostics,
                    ..Default::default()
                };
            }
        };
        tracing::info!(tf_resource_type = TYPE_NAME, app_id = %app.id, app_type = %app.app_type, "created Access application");
        let secret = app
            .saas_app
            .as_ref()
            .and_then(|s| s.client_secret.as_ref())
            .map(|s| s.expose().to_string());
        if plan.is_saas() && secret.is_none() {
            diagnostics.warning(
                "OIDC client secret not available",
                format!(
                    "Application {} was created, but the API response carried no client secret \
                     (for example because the response was lost and the application was found \
                     again by name). client_secret stays null; rotate the secret in the Zero \
                     Trust dashboard if the MCP client needs it.",
                    app.id
                ),
            );
        }
        let attached = app.policy_ids_by_precedence();
        if wanted.iter().any(|id| !attached.iter().any(|a| a == id)) {
            // Some servers answer a create without the expanded attachments.
            match api.client.get_app_uncached(&api.account_id, &app.id).await {
                Ok(fresh) => app = fresh,
                Err(e) => diagnostics.0.push(errors::api_error(
                    &format!("read application {} after creating it", app.id),
                    &e,
                )),
            }
        }
        let state = match state_after_write(
            &app,
            &plan,
            &api.account_id,
            secret,
            &PolicyScope::Managed(wanted),
            config,
            planned,
        ) {
            Ok(state) => state,
            Err(unsupported) => {
                // The API answered with another type than we sent; keep the id so
                // Terraform tracks (and can destroy) the object.
                let (summary, detail) = unsupported.diagnostic(&app.id);
                diagnostics.error(summary, detail);
                Model {
                    id: Some(app.id.to_string()),
                    uid: Some(app.id.to_string()),
                    account_id: Some(api.account_id.to_string()),
                    ..plan.clone()
                }
            }
        };
        ApplyResult {
            new_state: Some(state.to_value()),
            private: recorded::store(&Recorded::of(&state)),
            diagnostics,
        }
    }

    async fn read(
        &self,
        _ctx: &Context,
        current: &Value,
        private: &[u8],
        _mode: crate::tfplugin::ReadMode,
    ) -> ReadResult {
        let mut diagnostics = Diagnostics::new();
        let prior = Model::from_value(current);
        let account_value = current
            .get(attr::ACCOUNT_ID)
            .cloned()
            .unwrap_or(Value::Null);
        let api = match self.data.api(&account_value) {
            Ok(api) => api,
            Err(d) => {
                return ReadResult {
                    new_state: Some(current.clone()),
                    private: private.to_vec(),
                    diagnostics: d,
                };
            }
        };
        let Some(app_id) = prior.id.clone() else {
            diagnostics.error("Missing application id in state", "The state of this cfaccess_mcp_server_app has no id; remove it from state and import it again.");
            return ReadResult {
                new_state: Some(current.clone()),
                private: private.to_vec(),
                diagnostics,
            };
        };
        let app = match api
            .client
            .get_app(&api.account_id, &AppId::new_unchecked(app_id.as_str()))
            .await
        {
            Ok(app) => app,
            Err(e) if e.is_not_found() => {
                tracing::info!(tf_resource_type = TYPE_NAME, app_id = %app_id, "application gone; removing from state");
                return ReadResult {
                    new_state: None,
                    private: Vec::new(),
                    diagnostics,
                };
            }
            Err(e) => {
                diagnostics.0.push(errors::api_error(
                    &format!("read Access application {app_id}"),
                    &e,
                ));
                return ReadResult {
                    new_state: Some(current.clone()),
                    private: private.to_vec(),
                    diagnostics,
                };
            }
        };
        // `name` is required, so only an import hands read a state without it.
        let importing = prior.name.is_none();
        let scope = if importing {
            match self
                .linked_app_policy_ids(&api.client, &api.account_id, &app)
                .await
            {
                Ok(excluded) => PolicyScope::Imported { excluded },
                Err(e) => {
                    diagnostics.0.push(errors::api_error(
                        &format!("read the policies attached to application {app_id}"),
                        &e,
                    ));
                    return ReadResult {
                        new_state: Some(current.clone()),
                        private: private.to_vec(),
                        diagnostics,
                    };
                }
            }
        } else {
            PolicyScope::Managed(prior.policy_ids.clone().unwrap_or_default())
        };
        match state_from_app(&app, &prior, &api.account_id, None, &scope) {
            Ok(state) => {
                // An import is recorded as it reads; a state saved before records were
                // kept is recorded as Terraform saved it (before this refresh).
                let private = if importing {
                    recorded::store(&Recorded::of(&state))
                } else if recorded::load::<Recorded>(private).is_none() {
                    recorded::store(&Recorded::of(&prior))
                } else {
                    private.to_vec()
                };
                ReadResult {
                    new_state: Some(state.to_value()),
                    private,
                    diagnostics,
                }
            }
            Err(unsupported) => {
                let (summary, detail) = unsupported.diagnostic(&app_id);
                diagnostics.error(summary, detail);
                ReadResult {
                    new_state: Some(current.clone()),
                    private: private.to_vec(),
                    diagnostics,
                }
            }
        }
    }

    async fn update(
        &self,
        _ctx: &Context,
        prior: &Value,
        config: &Value,
        planned: &Value,
        private: &[u8],
    ) -> ApplyResult {
        let mut diagnostics = Diagnostics::new();
        let prior_model = Model::from_value(prior);
        let plan = Model::from_value(planned);
        let keep_prior = |diagnostics: Diagnostics| ApplyResult {
            new_state: Some(prior.clone()),
            private: private.to_vec(),
            diagnostics,
        };
        let account_value = prior.get(attr::ACCOUNT_ID).cloned().unwrap_or(Value::Null);
        let api = match self.data.api(&account_value) {
            Ok(api) => api,
            Err(d) => return keep_prior(d),
        };
        let Some(app_id) = prior_model.id.clone() else {
            diagnostics.error("Missing application id in state", "The state of this cfaccess_mcp_server_app has no id; remove it from state and import it again.");
            return keep_prior(diagnostics);
        };
        let client = &api.client;
        let account = &api.account_id;

        // A direct read (not the snapshot) for the checks before any write and to tell
        // whether anything needs writing; the PUT itself is built on the writer's own
        // fresh read below, so this read never feeds a body.
        let current = match client
            .get_app_uncached(account, &AppId::new_unchecked(app_id.as_str()))
            .await
        {
            Ok(app) => app,
            Err(e) => {
                let action = if e.is_not_found() {
                    format!(
                        "update Access application {app_id}: it was deleted outside Terraform (run terraform apply again to re-create it)"
                    )
                } else {
                    format!("read Access application {app_id} before updating it")
                };
                diagnostics.0.push(errors::api_error(&action, &e));
                return keep_prior(diagnostics);
            }
        };
        let previous = prior_model.policy_ids.clone().unwrap_or_default();
        let wanted = plan.policy_ids.clone().unwrap_or_default();
        // Checked again before any write (a policy may have been deleted since the
        // plan, or was unknown then): the ones not attached now, which a read of the
        // application does not vouch for.
        let attached: HashSet<String> = current.policies.iter().map(|p| p.id.to_string()).collect();
        let unvouched: Vec<(usize, String)> = wanted
            .iter()
            .enumerate()
            .filter(|(_, id)| !attached.contains(*id))
            .map(|(i, id)| (i, id.clone()))
            .collect();
        let mut found = Findings::new(Stage::Apply);
        check_policies(client, account, &unvouched, plan.is_saas(), &mut found).await;
        if found.diags.has_errors() {
            diagnostics.extend(found.diags);
            return keep_prior(diagnostics);
        }
        let attachments_change =
            reconcile_attachments(&mut current.policy_links(), &previous, &wanted);

        let send = to_send(&plan, config);
        let body = update_body(&current, &send);
        let mut app = current.clone();
        if body != current.to_update_body() {
            // Built again from the writer's own fresh read, so nothing another writer
            // changed since `current` is overwritten (and a retry reads again).
            let rebuild = |fresh: &App| Ok(update_body(fresh, &send));
            match client
                .update_app_with(account, &AppId::new_unchecked(app_id.as_str()), rebuild)
                .await
            {
                Ok(updated) => {
                    tracing::info!(tf_resource_type = TYPE_NAME, app_id = %app_id, "updated Access application");
                    app = updated;
                    // The PUT carried no `policies`, so the attachments are as read; an
                    // answer that leaves them out says nothing about them: read again
                    // rather than record them as gone.
                    let shown: HashSet<&str> = app.policies.iter().map(|p| p.id.as_str()).collect();
                    if !attachments_change
                        && current
                            .policies
                            .iter()
                            .any(|p| !shown.contains(p.id.as_str()))
                    {
                        match client
                            .get_app_uncached(account, &AppId::new_unchecked(app_id.as_str()))
                            .await
                        {
                            Ok(fresh) => app = fresh,
                            Err(e) => diagnostics.0.push(errors::api_error(
                                &format!("read application {app_id} after updating it"),
                                &e,
                            )),
                        }
                    }
                }
                Err(e) => {
                    diagnostics.0.push(errors::api_error(
                        &format!("update Access application {app_id}"),
                        &e,
                    ));
                    return keep_prior(diagnostics);
                }
            }
        }

        let mut scope_ids = wanted.clone();
        if attachments_change {
            let result = client
                .modify_attachments(account, &AppId::new_unchecked(app_id.as_str()), |links| {
                    Ok(reconcile_attachments(links, &previous, &wanted))
                })
                .await;
            match result {
                Ok(updated) => {
                    tracing::info!(tf_resource_type = TYPE_NAME, app_id = %app_id, policies = wanted.len(), "reconciled policy attachments");
                    app = updated;
                }
                Err(e) => {
                    diagnostics.0.push(errors::api_error_at(
                        &format!("attach policy_ids to application {app_id}"),
                        &e,
                        Some(AttributePath::root(attr::POLICY_IDS)),
                    ));
                    // State shows every managed policy still attached, so the next plan
                    // repeats what did not happen.
                    scope_ids = previous.iter().chain(wanted.iter()).cloned().collect();
                }
            }
        }

        let basis = Model {
            client_secret: prior_model.client_secret.clone(),
            ..plan.clone()
        };
        match state_after_write(
            &app,
            &basis,
            account,
            None,
            &PolicyScope::Managed(scope_ids),
            config,
            planned,
        ) {
            Ok(state) => ApplyResult {
                new_state: Some(state.to_value()),
                private: recorded::store(&Recorded::of(&state)),
                diagnostics,
            },
            Err(unsupported) => {
                let (summary, detail) = unsupported.diagnostic(&app_id);
                diagnostics.error(summary, detail);
                keep_prior(diagnostics)
            }
        }
    }

    async fn delete(&self, _ctx: &Context, prior: &Value, _private: &[u8]) -> Diagnostics {
        let mut diagnostics = Diagnostics::new();
        let account_value = prior.get(attr::ACCOUNT_ID).cloned().unwrap_or(Value::Null);
        let api = match self.data.api(&account_value) {
            Ok(api) => api,
            Err(d) => return d,
        };
        let Some(app_id) = get_str(prior, attr::ID) else {
            return diagnostics;
        };
        match api
            .client
            .delete_app(&api.account_id, &AppId::new_unchecked(app_id.as_str()))
            .await
        {
            Ok(outcome) => {
                tracing::info!(tf_resource_type = TYPE_NAME, app_id = %app_id, ?outcome, "deleted Access application");
            }
            Err(e) => diagnostics.0.push(errors::api_error(
                &format!("delete Access application {app_id}"),
                &e,
            )),
        }
        diagnostics
    }

    async fn import(&self, _ctx: &Context, id: &str) -> ImportResult {
        let mut diagnostics = Diagnostics::new();
        let (account, app_id) = match import_id::parse(id, "app") {
            Ok(parsed) => parsed,
            Err(d) => {
                return ImportResult {
                    diagnostics: d,
                    ..Default::default()
                };
            }
        };
        let account_value = Value::opt_string(account);
        let api = match self.data.api(&account_value) {
            Ok(api) => api,
            Err(d) => {
                return ImportResult {
                    diagnostics: d,
                    ..Default::default()
                };
            }
        };
        let app = match api
            .client
            .get_app(&api.account_id, &AppId::new_unchecked(app_id.as_str()))
            .await
        {
            Ok(app) => app,
            Err(e) if e.is_not_found() => {
                diagnostics.error(
                    "Cannot import non-existent application",
                    format!(
                        "No Access application {app_id} exists in account {}. Check the id (the \
                         application UUID from the Zero Trust dashboard or the API) and the \
                         account.",
                        api.account_id
                    ),
                );
                return ImportResult {
                    diagnostics,
                    ..Default::default()
                };
            }
            Err(e) => {
                diagnostics.0.push(errors::api_error(
                    &format!("read Access application {app_id} to import it"),
                    &e,
                ));
                return ImportResult {
                    diagnostics,
                    ..Default::default()
                };
            }
        };
        if let Err(unsupported) = check_supported(&app) {
            let (summary, detail) = unsupported.diagnostic(&app_id);
            diagnostics.error(summary, detail);
            return ImportResult {
                diagnostics,
                ..Default::default()
            };
        }
        tracing::info!(tf_resource_type = TYPE_NAME, app_id = %app_id, "importing Access application");
        // Read fills the rest; a state without `name` tells it this is an import.
        let state = Value::object([
            (attr::ID, Value::string(app_id)),
            (attr::ACCOUNT_ID, Value::string(api.account_id)),
        ]);
        ImportResult {
            state: Some(state),
            private: Vec::new(),
            diagnostics,
        }
    }
}
