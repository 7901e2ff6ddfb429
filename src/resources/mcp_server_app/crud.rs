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

    /// The client and account for a resource whose `account_id` is `account`.
    fn api(&self, account: &Field<String>) -> Result<Api, Diagnostics> {
        self.data.api(&account.to_value())
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
    pub(super) async fn check_policies_against_api(
        &self,
        plan: &Plan<Model>,
        diags: &mut Diagnostics,
    ) {
        if !self.data.is_ready() {
            return;
        }
        // The raw plan: a list holding unknown ids still has known ones to check.
        let Some(wanted_value) = plan.raw_planned().get(attr::POLICY_IDS) else {
            return;
        };
        let account = match &plan.prior {
            None => &plan.config.account_id,
            Some(prior) => &prior.account_id,
        };
        if account.is_unknown() {
            return;
        }
        let api = match self.api(account) {
            Ok(api) => api,
            Err(d) => return diags.extend(d),
        };
        // Only known ids can be checked; unknown ones are checked at apply.
        let ids: Vec<(usize, String)> = wanted_value
            .elements()
            .unwrap_or(&[])
            .iter()
            .enumerate()
            .filter_map(|(i, el)| el.as_str().map(|id| (i, id.to_string())))
            .collect();
        let recorded = if plan.is_create() {
            None
        } else {
            recorded::load::<Recorded>(&plan.private)
        };
        let mut found = Findings::new(Stage::Plan(recorded.as_ref()));
        let saas = plan.planned.is_saas();
        check_policies(&api.client, &api.account_id, &ids, saas, &mut found).await;
        diags.extend(found.diags);
    }
}

/// The application id of a state.
fn app_id_of(state: &Model) -> Result<AppId, Diagnostics> {
    state.id.as_str().map(AppId::new_unchecked).ok_or_else(|| {
        let mut d = Diagnostics::new();
        d.error(
            "Missing application id in state",
            "The state of this cfaccess_mcp_server_app has no id; remove it from state and import it again.",
        );
        d
    })
}

/// The plan, tracking the application `id` the API created although its answer could
/// not be used, so Terraform can destroy it.
fn tracked(plan: &Model, id: &str, account: &AccountId) -> Model {
    Model {
        id: Field::Known(id.to_owned()),
        uid: Field::Known(id.to_owned()),
        account_id: Field::Known(account.to_string()),
        ..known_only(plan)
    }
}

/// A written state, recorded as saved (see [`Recorded`]), with `warnings`.
fn recorded_state(state: Model, warnings: Diagnostics) -> Saved<Model> {
    let private = recorded::store(&Recorded::of(&state));
    Saved::new(state)
        .with_private(private)
        .with_warnings(warnings)
}

/// The policy checks before a write (`Stage::Apply`): their errors stop it.
async fn check_before_write(
    api: &Api,
    ids: &[(usize, String)],
    saas: bool,
) -> Result<(), Diagnostics> {
    let mut found = Findings::new(Stage::Apply);
    check_policies(&api.client, &api.account_id, ids, saas, &mut found).await;
    if found.diags.has_errors() {
        return Err(found.diags);
    }
    Ok(())
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
            policy_ids: state
                .policy_ids
                .known()
                .into_iter()
                .flatten()
                .cloned()
                .collect(),
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
impl TypedResource for McpServerAppResource {
    type Model = Model;

    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn validate(&self, _ctx: &Context, config: &Value, diags: &mut Diagnostics) {
        validate_config(config, diags);
    }

    async fn modify_plan(&self, _ctx: &Context, plan: &mut Plan<Model>, diags: &mut Diagnostics) {
        plan_fixed_values(plan);
        self.data
            .plan_default_account(plan.is_create(), &mut plan.planned.account_id);
        self.check_policies_against_api(plan, diags).await;
    }

    async fn create(&self, _ctx: &Context, req: Create<Model>) -> Outcome<Saved<Model>, Model> {
        let Create {
            config,
            planned: plan,
            ..
        } = req;
        let api = self.api(&config.account_id)?;
        let wanted = plan.policy_ids.known().cloned().unwrap_or_default();
        // Checked again before the POST, as update does: ids unknown at plan time (a
        // policy created in the same run) could not be checked then.
        let ids: Vec<(usize, String)> = wanted.iter().cloned().enumerate().collect();
        check_before_write(&api, &ids, plan.is_saas()).await?;
        let body = create_body(&to_send(&plan, &config));
        let name = plan.name.as_str().unwrap_or_default();
        let mut app = match api.client.create_app(&api.account_id, &body).await {
            Ok(app) => app,
            Err(e) => {
                let failure = Failure::from(errors::api_error(
                    &format!("create Access application {name:?}"),
                    &e,
                ));
                // The application exists although its answer could not be read: keep
                // its id so Terraform tracks (and can destroy) it.
                return Err(match e.created_id() {
                    Some(id) => failure.with_partial(tracked(&plan, id, &api.account_id), None),
                    None => failure,
                });
            }
        };
        tracing::info!(tf_resource_type = TYPE_NAME, app_id = %app.id, app_type = %app.app_type, "created Access application");
        let mut diagnostics = Diagnostics::new();
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
        let scope = PolicyScope::Managed(wanted);
        match state_after_write(&app, &plan, &api.account_id, secret, &scope, &config, &plan) {
            Ok(state) => Ok(recorded_state(state, diagnostics)),
            Err(unsupported) => {
                // The API answered with another type than we sent; keep the id so
                // Terraform tracks (and can destroy) the object.
                let (summary, detail) = unsupported.diagnostic(app.id.as_str());
                diagnostics.error(summary, detail);
                let state = tracked(&plan, app.id.as_str(), &api.account_id);
                let private = recorded::store(&Recorded::of(&state));
                Err(Failure::from(diagnostics).with_partial(state, Some(private)))
            }
        }
    }

    async fn read(
        &self,
        _ctx: &Context,
        prior: Model,
        private: &[u8],
        mode: ReadMode,
    ) -> Outcome<Option<Saved<Model>>, Model> {
        let api = self.api(&prior.account_id)?;
        let app_id = app_id_of(&prior)?;
        let app = match api.client.get_app(&api.account_id, &app_id).await {
            Ok(app) => app,
            Err(e) if e.is_not_found() => {
                tracing::info!(tf_resource_type = TYPE_NAME, app_id = %app_id, "application gone; removing from state");
                return Ok(None);
            }
            Err(e) => {
                return Err(
                    errors::api_error(&format!("read Access application {app_id}"), &e).into(),
                );
            }
        };
        let importing = matches!(mode, ReadMode::Import);
        let scope = if importing {
            let excluded = self
                .linked_app_policy_ids(&api.client, &api.account_id, &app)
                .await
                .map_err(|e| {
                    errors::api_error(
                        &format!("read the policies attached to application {app_id}"),
                        &e,
                    )
                })?;
            PolicyScope::Imported { excluded }
        } else {
            PolicyScope::Managed(prior.policy_ids.known().cloned().unwrap_or_default())
        };
        let state = state_from_app(&app, &prior, &api.account_id, None, &scope).map_err(|u| {
            let (summary, detail) = u.diagnostic(app_id.as_str());
            Failure::error(summary, detail)
        })?;
        // An import is recorded as it reads; a state saved before records were kept is
        // recorded as Terraform saved it (before this refresh).
        let private = if importing {
            recorded::store(&Recorded::of(&state))
        } else if recorded::load::<Recorded>(private).is_none() {
            recorded::store(&Recorded::of(&prior))
        } else {
            private.to_vec()
        };
        Ok(Some(Saved::new(state).with_private(private)))
    }

    async fn update(&self, _ctx: &Context, req: Update<Model>) -> Outcome<Saved<Model>, Model> {
        let Update {
            prior,
            config,
            planned: plan,
            ..
        } = req;
        let api = self.api(&prior.account_id)?;
        let app_id = app_id_of(&prior)?;
        let client = &api.client;
        let account = &api.account_id;

        // A direct read (not the snapshot) for the checks before any write and to tell
        // whether anything needs writing; the PUT itself is built on the writer's own
        // fresh read below, so this read never feeds a body.
        let current = client
            .get_app_uncached(account, &app_id)
            .await
            .map_err(|e| {
                let action = if e.is_not_found() {
                    format!(
                        "update Access application {app_id}: it was deleted outside Terraform (run terraform apply again to re-create it)"
                    )
                } else {
                    format!("read Access application {app_id} before updating it")
                };
                errors::api_error(&action, &e)
            })?;
        let previous = prior.policy_ids.known().cloned().unwrap_or_default();
        let wanted = plan.policy_ids.known().cloned().unwrap_or_default();
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
        check_before_write(&api, &unvouched, plan.is_saas()).await?;
        let attachments_change =
            reconcile_attachments(&mut current.policy_links(), &previous, &wanted);

        let mut diagnostics = Diagnostics::new();
        let send = to_send(&plan, &config);
        let mut app = current.clone();
        if update_body(&current, &send) != current.to_update_body() {
            // Built again from the writer's own fresh read, so nothing another writer
            // changed since `current` is overwritten (and a retry reads again).
            let rebuild = |fresh: &App| Ok(update_body(fresh, &send));
            app = client
                .update_app_with(account, &app_id, rebuild)
                .await
                .failed_to(|| format!("update Access application {app_id}"))?;
            tracing::info!(tf_resource_type = TYPE_NAME, app_id = %app_id, "updated Access application");
            // The PUT carried no `policies`, so the attachments are as read; an answer
            // that leaves them out says nothing about them: read again rather than
            // record them as gone.
            let shown: HashSet<&str> = app.policies.iter().map(|p| p.id.as_str()).collect();
            if !attachments_change
                && current
                    .policies
                    .iter()
                    .any(|p| !shown.contains(p.id.as_str()))
            {
                match client.get_app_uncached(account, &app_id).await {
                    Ok(fresh) => app = fresh,
                    Err(e) => diagnostics.0.push(errors::api_error(
                        &format!("read application {app_id} after updating it"),
                        &e,
                    )),
                }
            }
        }

        let mut scope_ids = wanted.clone();
        if attachments_change {
            let result = client
                .modify_attachments(account, &app_id, |links| {
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
            client_secret: prior.client_secret.clone(),
            ..plan.clone()
        };
        let scope = PolicyScope::Managed(scope_ids);
        match state_after_write(&app, &basis, account, None, &scope, &config, &plan) {
            Ok(state) => Ok(recorded_state(state, diagnostics)),
            Err(unsupported) => {
                let (summary, detail) = unsupported.diagnostic(app_id.as_str());
                diagnostics.error(summary, detail);
                Err(diagnostics.into())
            }
        }
    }

    async fn delete(
        &self,
        _ctx: &Context,
        prior: Model,
        _private: &[u8],
    ) -> Outcome<Diagnostics, Model> {
        let api = self.api(&prior.account_id)?;
        let Some(app_id) = prior.id.as_str().map(AppId::new_unchecked) else {
            return Ok(Diagnostics::new());
        };
        let outcome = api
            .client
            .delete_app(&api.account_id, &app_id)
            .await
            .failed_to(|| format!("delete Access application {app_id}"))?;
        tracing::info!(tf_resource_type = TYPE_NAME, app_id = %app_id, ?outcome, "deleted Access application");
        Ok(Diagnostics::new())
    }

    async fn import(&self, _ctx: &Context, id: &str) -> Outcome<Saved<Model>, Model> {
        let (account, app_id) = import_id::parse(id, "app")?;
        let api = self.data.api(&Value::opt_string(account))?;
        let app_id = AppId::new_unchecked(app_id.as_str());
        let app = match api.client.get_app(&api.account_id, &app_id).await {
            Ok(app) => app,
            Err(e) if e.is_not_found() => {
                return Err(Failure::error(
                    "Cannot import non-existent application",
                    format!(
                        "No Access application {app_id} exists in account {}. Check the id (the \
                         application UUID from the Zero Trust dashboard or the API) and the \
                         account.",
                        api.account_id
                    ),
                ));
            }
            Err(e) => {
                return Err(errors::api_error(
                    &format!("read Access application {app_id} to import it"),
                    &e,
                )
                .into());
            }
        };
        check_supported(&app).map_err(|u| {
            let (summary, detail) = u.diagnostic(app_id.as_str());
            Failure::error(summary, detail)
        })?;
        tracing::info!(tf_resource_type = TYPE_NAME, app_id = %app_id, "importing Access application");
        // Read (in import mode) fills the rest.
        Ok(Saved::new(Model {
            id: Field::Known(app_id.to_string()),
            account_id: Field::Known(api.account_id.to_string()),
            ..Model::default()
        }))
    }
}
