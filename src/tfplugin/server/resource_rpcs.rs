//! The managed-resource RPCs: validate, upgrade, read, plan, apply and import. The
//! generic parts (schema validators, the plan engine, private-state carry-over, null
//! filling) run here; the resource's handler sees plain values.

use super::call::Call;
use super::rpc::Rpc;
use super::wire::{complete, keep_private, null_value};
use crate::tfplugin::diag_proto::{codec_error, path_to_proto};
use crate::tfplugin::framework::{PlanRequest, ReadMode};
use crate::tfplugin::plan;
use crate::tfplugin::proto::tfplugin6 as pb;
use crate::tfplugin::value::Value;

/// Prefixed to the private state of an imported object: Terraform hands it to the
/// ReadResource that completes the import, which is how that read knows it is one
/// ([`ReadMode::Import`]) rather than guessing from the state's shape.
const IMPORT_MARK: &[u8] = b"\0tfplugin-import\0";

impl Rpc for pb::validate_resource_config::Request {
    async fn handle(self, call: &mut Call<'_, Self::Response>) -> Option<()> {
        let entry = call.resource(&self.type_name)?;
        call.validate(entry, self.config.as_ref(), "configuration")
            .await
    }
}

impl Rpc for pb::upgrade_resource_state::Request {
    async fn handle(self, call: &mut Call<'_, Self::Response>) -> Option<()> {
        let entry = call.resource(&self.type_name)?;
        let raw = self.raw_state.unwrap_or_default();
        if raw.json.is_empty() {
            if raw.flatmap.is_empty() {
                call.diags.error(
                    "Missing resource state",
                    "Terraform sent no stored state to upgrade.",
                );
            } else {
                call.diags.error(
                    "Unsupported state format",
                    "This resource's state was written by Terraform 0.11 or earlier \
                     (flatmap format), which this provider cannot read. Remove it from \
                     the state and import it again.",
                );
            }
            return None;
        }
        let current = entry.schema.version;
        if self.version != current {
            // The framework has no state migrations yet: every schema is at its first
            // version, so any other number is state this build cannot interpret.
            call.diags.error(
                "Unsupported resource state version",
                format!(
                    "The stored state of this {} was written with schema version {}, \
                     but this provider version only reads version {current}. Use a \
                     provider version that matches the state.",
                    self.type_name, self.version
                ),
            );
            return None;
        }
        // JSON decoding fills attributes missing from older state with null and drops
        // attributes no longer in the schema, as cty's own decoder does.
        let state = match crate::tfplugin::codec::json::decode(&raw.json, &entry.ty) {
            Ok(v) => v,
            Err(e) => {
                call.diags.0.push(codec_error("stored state", &e));
                return None;
            }
        };
        let state = complete(&entry.schema, state);
        call.resp.upgraded_state = call.encode(&state, &entry.ty, "upgraded state");
        Some(())
    }
}

impl Rpc for pb::read_resource::Request {
    async fn handle(self, call: &mut Call<'_, Self::Response>) -> Option<()> {
        let entry = call.resource(&self.type_name)?;
        let current = call.decode(self.current_state.as_ref(), &entry.ty, "current state")?;
        if current.is_null() {
            call.resp.new_state = Some(null_value());
            return Some(());
        }
        let (mode, private) = match self.private.strip_prefix(IMPORT_MARK) {
            Some(own) => (ReadMode::Import, own.to_vec()),
            None => (ReadMode::Refresh, self.private.clone()),
        };
        let result = entry
            .handler
            .read(&call.ctx, &current, &private, mode)
            .await;
        call.diags.extend(result.diagnostics);
        let new_state = match result.new_state {
            Some(v) => complete(&entry.schema, v),
            // On errors Terraform keeps the old state anyway; say so explicitly.
            None if call.diags.has_errors() => current,
            // Gone: Terraform drops it from state and plans a create.
            None => Value::Null,
        };
        if let Some(dv) = call.encode(&new_state, &entry.ty, "refreshed state") {
            call.resp.new_state = Some(dv);
        }
        // The import mark never outlives the read that completes the import.
        call.resp.private = keep_private(result.private, private);
        Some(())
    }
}

impl Rpc for pb::plan_resource_change::Request {
    async fn handle(self, call: &mut Call<'_, Self::Response>) -> Option<()> {
        let entry = call.resource(&self.type_name)?;
        let [prior, proposed, config] = call.decode_all(
            &entry.ty,
            [
                (self.prior_state.as_ref(), "prior state"),
                (self.proposed_new_state.as_ref(), "proposed new state"),
                (self.config.as_ref(), "configuration"),
            ],
        )?;
        if proposed.is_null() {
            // A destroy plan (only sent to providers announcing plan_destroy, which we
            // do not, but harmless): nothing to decide.
            call.resp.planned_state = Some(null_value());
            return Some(());
        }
        let (planned, requires_replace) =
            plan::plan_resource_change(&entry.schema, &prior, &proposed, &config);
        let creating = prior.is_null();
        let mut request = PlanRequest {
            prior,
            config,
            planned,
            requires_replace,
            private: self.prior_private,
        };
        entry
            .handler
            .modify_plan(&call.ctx, &mut request, &mut call.diags)
            .await;
        let planned = complete(&entry.schema, request.planned);
        call.resp.planned_state = call.encode(&planned, &entry.ty, "planned state");
        if !creating {
            // Replacement paths mean nothing on create (Terraform ignores them there).
            let mut seen = Vec::new();
            for path in request.requires_replace {
                if !seen.contains(&path) {
                    seen.push(path);
                }
            }
            call.resp.requires_replace = seen.iter().map(path_to_proto).collect();
        }
        call.resp.planned_private = request.private;
        Some(())
    }
}

impl Rpc for pb::apply_resource_change::Request {
    async fn handle(self, call: &mut Call<'_, Self::Response>) -> Option<()> {
        let entry = call.resource(&self.type_name)?;
        let [prior, planned, config] = call.decode_all(
            &entry.ty,
            [
                (self.prior_state.as_ref(), "prior state"),
                (self.planned_state.as_ref(), "planned state"),
                (self.config.as_ref(), "configuration"),
            ],
        )?;
        let private = self.planned_private;

        let (new_state, new_private) = if planned.is_null() {
            call.diags
                .extend(entry.handler.delete(&call.ctx, &prior, &private).await);
            if call.diags.has_errors() {
                // The object may still exist: keep it in state so the next run retries.
                (prior, private)
            } else {
                (Value::Null, Vec::new())
            }
        } else {
            let creating = prior.is_null();
            let result = if creating {
                entry
                    .handler
                    .create(&call.ctx, &config, &planned, &private)
                    .await
            } else {
                entry
                    .handler
                    .update(&call.ctx, &prior, &config, &planned, &private)
                    .await
            };
            call.diags.extend(result.diagnostics);
            let state = match result.new_state {
                Some(v) => complete(&entry.schema, v),
                None => {
                    if !call.diags.has_errors() {
                        call.diags.error(
                            "Provider returned no state",
                            format!(
                                "The {} {} handler finished without an error but returned \
                                 no state. This is a bug in the provider.",
                                self.type_name,
                                if creating { "create" } else { "update" }
                            ),
                        );
                    }
                    // A failed create leaves nothing to track; a failed update keeps
                    // the prior object.
                    if creating { Value::Null } else { prior }
                }
            };
            (state, keep_private(result.private, private))
        };
        if let Some(dv) = call.encode(&new_state, &entry.ty, "new state") {
            call.resp.new_state = Some(dv);
        }
        call.resp.private = new_private;
        Some(())
    }
}

impl Rpc for pb::import_resource_state::Request {
    async fn handle(self, call: &mut Call<'_, Self::Response>) -> Option<()> {
        let entry = call.resource(&self.type_name)?;
        let result = entry.handler.import(&call.ctx, &self.id).await;
        call.diags.extend(result.diagnostics);
        match result.state {
            Some(state) => {
                let state = complete(&entry.schema, state);
                if let Some(dv) = call.encode(&state, &entry.ty, "imported state") {
                    call.resp.imported_resources.push(
                        pb::import_resource_state::ImportedResource {
                            type_name: self.type_name.clone(),
                            state: Some(dv),
                            private: [IMPORT_MARK, &result.private].concat(),
                            identity: None,
                        },
                    );
                }
            }
            None if !call.diags.has_errors() => call.diags.error(
                "Nothing to import",
                format!(
                    "The import of {} {:?} produced no object. This is a bug in the \
                     provider.",
                    self.type_name, self.id
                ),
            ),
            None => {}
        }
        Some(())
    }
}
