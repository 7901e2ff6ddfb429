//! Typed resources and data sources: handlers that take models and return `Result`.
//!
//! A resource implements [`TypedResource`] over its model (a [`tf_object!`] struct) and is
//! served wrapped in [`Typed`], which implements the value-level [`Resource`] the server
//! calls. Each handler reads like "get model → call API → set state": it returns the new
//! state as [`Saved`], or a [`Failure`] that carries the diagnostics and, when something
//! was already written, the partial state Terraform must keep. [`Typed`] turns both into
//! protocol results in one place, so `?` works in handlers and none builds a result by
//! hand.
//!
//! [`tf_object!`]: crate::tf_object

use async_trait::async_trait;

use super::bridge::{BridgeError, TfObject, TfValue};
use super::diag::{AttributePath, Diagnostic, Diagnostics};
use super::framework::{
    ApplyResult, Context, DataSource, ImportResult, PlanRequest, ReadMode, ReadResult, Resource,
};
use super::schema::Schema;
use super::value::Value;

/// A handler's state on success: the model, its private state, and any warnings.
#[derive(Clone, Debug)]
pub struct Saved<M> {
    pub state: M,
    /// Private state to store with it. Empty keeps the private state Terraform sent (a
    /// read) or stores none (create, update, import).
    pub private: Vec<u8>,
    pub warnings: Diagnostics,
}

impl<M> Saved<M> {
    /// `state` with no private state and no warnings.
    pub fn new(state: M) -> Self {
        Saved {
            state,
            private: Vec::new(),
            warnings: Diagnostics::new(),
        }
    }

    /// With private state `private`.
    pub fn with_private(mut self, private: Vec<u8>) -> Self {
        self.private = private;
        self
    }

    /// With the warnings (or other diagnostics) `warnings` added.
    pub fn with_warnings(mut self, warnings: Diagnostics) -> Self {
        self.warnings.extend(warnings);
        self
    }
}

/// A handler's failure: diagnostics holding at least one error, and — when the remote
/// world already changed — the state Terraform must save so nothing is lost.
#[derive(Clone, Debug)]
pub struct Failure<M> {
    pub diagnostics: Diagnostics,
    /// The state to save despite the error. `None` keeps what Terraform had (the prior
    /// state of an update or read; nothing for a create or import).
    pub partial: Option<M>,
    /// Private state to save with `partial` (`None`: as for [`Saved::private`] empty).
    pub private: Option<Vec<u8>>,
}

impl<M> Failure<M> {
    /// A failure with one error diagnostic and nothing written.
    pub fn error(summary: impl Into<String>, detail: impl Into<String>) -> Self {
        let mut diagnostics = Diagnostics::new();
        diagnostics.error(summary, detail);
        diagnostics.into()
    }

    /// This failure, saving `state` (and `private`) despite the error.
    pub fn with_partial(mut self, state: M, private: Option<Vec<u8>>) -> Self {
        self.partial = Some(state);
        self.private = private;
        self
    }

    /// This failure with `earlier` (warnings or errors gathered before it) in front.
    pub fn after(mut self, mut earlier: Diagnostics) -> Self {
        earlier.extend(std::mem::take(&mut self.diagnostics));
        self.diagnostics = earlier;
        self
    }
}

impl<M> From<Diagnostics> for Failure<M> {
    fn from(diagnostics: Diagnostics) -> Self {
        Failure {
            diagnostics,
            partial: None,
            private: None,
        }
    }
}

impl<M> From<Diagnostic> for Failure<M> {
    fn from(diagnostic: Diagnostic) -> Self {
        Diagnostics(vec![diagnostic]).into()
    }
}

/// The outcome of a typed handler.
pub type Outcome<T, M> = Result<T, Failure<M>>;

/// A plan as a resource's plan code sees it: typed models of the prior state, the
/// configuration and the plan so far (see [`PlanRequest`] for what the framework did
/// before). Only what the handler changes in `planned` is written back (member by
/// member inside nested objects), so parts a model reads as unknown (a list with an
/// unknown element) reach Terraform exactly as planned.
#[derive(Clone, Debug)]
pub struct Plan<M> {
    /// Prior state; `None` when creating.
    pub prior: Option<M>,
    pub config: M,
    pub planned: M,
    /// Paths whose change forces replacement (see [`PlanRequest::requires_replace`]).
    pub requires_replace: Vec<AttributePath>,
    /// Private state carried into the plan.
    pub private: Vec<u8>,
    raw_planned: Value,
}

impl<M> Plan<M> {
    /// True when the resource is being created.
    pub fn is_create(&self) -> bool {
        self.prior.is_none()
    }

    /// The plan as the framework made it, before this handler: for the known elements
    /// of a collection that also holds unknown ones (which a model reads as unknown).
    pub fn raw_planned(&self) -> &Value {
        &self.raw_planned
    }
}

/// The input of [`TypedResource::create`].
#[derive(Clone, Debug)]
pub struct Create<M> {
    pub config: M,
    pub planned: M,
    pub private: Vec<u8>,
}

/// The input of [`TypedResource::update`].
#[derive(Clone, Debug)]
pub struct Update<M> {
    pub prior: M,
    pub config: M,
    pub planned: M,
    pub private: Vec<u8>,
}

/// A managed resource over a typed model.
#[async_trait]
pub trait TypedResource: Send + Sync + 'static {
    /// The model of the resource's state, configuration and plan.
    type Model: TfObject + Clone + Send + Sync + 'static;

    /// Full type name, e.g. `cfaccess_linked_app_policy`.
    fn type_name(&self) -> &'static str;

    /// The schema (see [`Resource::schema`]).
    fn schema(&self) -> Schema;

    /// Cross-attribute validation of a configuration that may hold unknowns (see
    /// [`Resource::validate`]); on the value, so every element keeps its path.
    async fn validate(&self, _ctx: &Context, _config: &Value, _diags: &mut Diagnostics) {}

    /// Resource-specific planning after the generic rules (see [`Resource::modify_plan`]:
    /// never called for a destroy).
    async fn modify_plan(
        &self,
        _ctx: &Context,
        _plan: &mut Plan<Self::Model>,
        _diags: &mut Diagnostics,
    ) {
    }

    /// Creates the remote object(s). On failure after a write, return the partial
    /// state (at least the id) so Terraform tracks what exists.
    async fn create(
        &self,
        ctx: &Context,
        req: Create<Self::Model>,
    ) -> Outcome<Saved<Self::Model>, Self::Model>;

    /// Refreshes `current`; `Ok(None)` when the remote object is gone. `mode` says
    /// whether `current` is the partial state of an import.
    async fn read(
        &self,
        ctx: &Context,
        current: Self::Model,
        private: &[u8],
        mode: ReadMode,
    ) -> Outcome<Option<Saved<Self::Model>>, Self::Model>;

    /// Updates the remote object(s) from `prior` to `planned`.
    async fn update(
        &self,
        ctx: &Context,
        req: Update<Self::Model>,
    ) -> Outcome<Saved<Self::Model>, Self::Model>;

    /// Deletes the remote object(s); an object already gone is success. `Ok` holds
    /// warnings, if any.
    async fn delete(
        &self,
        ctx: &Context,
        prior: Self::Model,
        private: &[u8],
    ) -> Outcome<Diagnostics, Self::Model>;

    /// Turns an import id into the partial state read then completes (in
    /// [`ReadMode::Import`]).
    async fn import(&self, ctx: &Context, id: &str) -> Outcome<Saved<Self::Model>, Self::Model>;
}

/// Serves a [`TypedResource`] or [`TypedDataSource`] as the value-level trait.
pub struct Typed<R>(pub R);

/// A model could not be read from a value Terraform sent: a bug in the provider (the
/// schema test keeps models and schemas in line).
fn bridge_error(what: &str, err: BridgeError) -> Diagnostics {
    let mut d = Diagnostics::new();
    d.error(
        "Provider bug: value does not fit the model",
        format!("The {what} could not be read: {err}. Please report this issue."),
    );
    d
}

fn decode<M: TfValue>(v: &Value, what: &str) -> Result<M, Diagnostics> {
    M::from_value(v).map_err(|e| bridge_error(what, e))
}

/// Writes into `raw` what changed from `before` to `after` (both from a model), object
/// member by object member, so whatever the handler left alone — a list with unknown
/// elements that the model reads as unknown, say — stays exactly as `raw` has it.
fn patch(raw: &mut Value, before: &Value, after: &Value) {
    if before == after {
        return;
    }
    match (raw, before, after) {
        (Value::Object(raw), Value::Object(before), Value::Object(after)) => {
            for (name, new) in after {
                let old = before.get(name).unwrap_or(&Value::Null);
                match raw.get_mut(name) {
                    Some(member) => patch(member, old, new),
                    None => {
                        raw.insert(name.clone(), new.clone());
                    }
                }
            }
        }
        (raw, _, after) => *raw = after.clone(),
    }
}

/// Converts the failure of a write into a result that saves `partial`, or else `kept`.
fn failed_apply<M: TfValue>(f: Failure<M>, kept: Option<(Value, Vec<u8>)>) -> ApplyResult {
    let (new_state, private) = match (f.partial, kept) {
        (Some(state), _) => (Some(state.to_value()), f.private.unwrap_or_default()),
        (None, Some((state, private))) => (Some(state), f.private.unwrap_or(private)),
        (None, None) => (None, Vec::new()),
    };
    ApplyResult {
        new_state,
        private,
        diagnostics: f.diagnostics,
    }
}

fn saved_apply<M: TfValue>(s: Saved<M>) -> ApplyResult {
    ApplyResult {
        new_state: Some(s.state.to_value()),
        private: s.private,
        diagnostics: s.warnings,
    }
}

#[async_trait]
impl<R: TypedResource> Resource for Typed<R> {
    fn type_name(&self) -> &'static str {
        self.0.type_name()
    }

    fn schema(&self) -> Schema {
        self.0.schema()
    }

    async fn validate(&self, ctx: &Context, config: &Value, diags: &mut Diagnostics) {
        self.0.validate(ctx, config, diags).await;
    }

    async fn modify_plan(&self, ctx: &Context, req: &mut PlanRequest, diags: &mut Diagnostics) {
        let decoded = (|| {
            let prior = if req.prior.is_null() {
                None
            } else {
                Some(decode::<R::Model>(&req.prior, "prior state")?)
            };
            Ok::<_, Diagnostics>((
                prior,
                decode::<R::Model>(&req.config, "configuration")?,
                decode::<R::Model>(&req.planned, "plan")?,
            ))
        })();
        let (prior, config, planned) = match decoded {
            Ok(models) => models,
            Err(d) => return diags.extend(d),
        };
        let before = planned.to_value();
        let mut plan = Plan {
            prior,
            config,
            planned,
            requires_replace: std::mem::take(&mut req.requires_replace),
            private: std::mem::take(&mut req.private),
            raw_planned: req.planned.clone(),
        };
        self.0.modify_plan(ctx, &mut plan, diags).await;
        req.requires_replace = plan.requires_replace;
        req.private = plan.private;
        patch(&mut req.planned, &before, &plan.planned.to_value());
    }

    async fn create(
        &self,
        ctx: &Context,
        config: &Value,
        planned: &Value,
        private: &[u8],
    ) -> ApplyResult {
        let req = match (
            decode(config, "configuration"),
            decode(planned, "planned state"),
        ) {
            (Ok(config), Ok(planned)) => Create {
                config,
                planned,
                private: private.to_vec(),
            },
            (Err(d), _) | (_, Err(d)) => return failed_apply::<R::Model>(d.into(), None),
        };
        match self.0.create(ctx, req).await {
            Ok(saved) => saved_apply(saved),
            Err(f) => failed_apply(f, None),
        }
    }

    async fn read(
        &self,
        ctx: &Context,
        current: &Value,
        private: &[u8],
        mode: ReadMode,
    ) -> ReadResult {
        let kept = |diagnostics: Diagnostics, private: Vec<u8>| ReadResult {
            new_state: Some(current.clone()),
            private,
            diagnostics,
        };
        let model = match decode::<R::Model>(current, "current state") {
            Ok(m) => m,
            Err(d) => return kept(d, private.to_vec()),
        };
        match self.0.read(ctx, model, private, mode).await {
            Ok(Some(saved)) => ReadResult {
                new_state: Some(saved.state.to_value()),
                private: saved.private,
                diagnostics: saved.warnings,
            },
            Ok(None) => ReadResult::default(),
            Err(f) => match f.partial {
                Some(state) => ReadResult {
                    new_state: Some(state.to_value()),
                    private: f.private.unwrap_or_default(),
                    diagnostics: f.diagnostics,
                },
                None => kept(f.diagnostics, f.private.unwrap_or_else(|| private.to_vec())),
            },
        }
    }

    async fn update(
        &self,
        ctx: &Context,
        prior: &Value,
        config: &Value,
        planned: &Value,
        private: &[u8],
    ) -> ApplyResult {
        let keep = Some((prior.clone(), private.to_vec()));
        let req = match (
            decode(prior, "prior state"),
            decode(config, "configuration"),
            decode(planned, "planned state"),
        ) {
            (Ok(prior), Ok(config), Ok(planned)) => Update {
                prior,
                config,
                planned,
                private: private.to_vec(),
            },
            (Err(d), _, _) | (_, Err(d), _) | (_, _, Err(d)) => {
                return failed_apply::<R::Model>(d.into(), keep);
            }
        };
        match self.0.update(ctx, req).await {
            Ok(saved) => saved_apply(saved),
            Err(f) => failed_apply(f, keep),
        }
    }

    async fn delete(&self, ctx: &Context, prior: &Value, private: &[u8]) -> Diagnostics {
        let prior = match decode::<R::Model>(prior, "prior state") {
            Ok(m) => m,
            Err(d) => return d,
        };
        match self.0.delete(ctx, prior, private).await {
            Ok(warnings) => warnings,
            Err(f) => f.diagnostics,
        }
    }

    async fn import(&self, ctx: &Context, id: &str) -> ImportResult {
        match self.0.import(ctx, id).await {
            Ok(saved) => ImportResult {
                state: Some(saved.state.to_value()),
                private: saved.private,
                diagnostics: saved.warnings,
            },
            Err(f) => ImportResult {
                state: None,
                private: Vec::new(),
                diagnostics: f.diagnostics,
            },
        }
    }
}

/// A data source over a typed model.
#[async_trait]
pub trait TypedDataSource: Send + Sync + 'static {
    /// The model of the data source's configuration and result.
    type Model: TfObject + Clone + Send + Sync + 'static;

    /// Full type name, e.g. `cfaccess_access_application`.
    fn type_name(&self) -> &'static str;

    /// The schema.
    fn schema(&self) -> Schema;

    /// Cross-attribute validation of a configuration that may hold unknowns.
    async fn validate(&self, _ctx: &Context, _config: &Value, _diags: &mut Diagnostics) {}

    /// Reads the data source: the full, wholly known result.
    async fn read(
        &self,
        ctx: &Context,
        config: Self::Model,
    ) -> Outcome<Saved<Self::Model>, Self::Model>;
}

#[async_trait]
impl<D: TypedDataSource> DataSource for Typed<D> {
    fn type_name(&self) -> &'static str {
        self.0.type_name()
    }

    fn schema(&self) -> Schema {
        self.0.schema()
    }

    async fn validate(&self, ctx: &Context, config: &Value, diags: &mut Diagnostics) {
        self.0.validate(ctx, config, diags).await;
    }

    async fn read(&self, ctx: &Context, config: &Value) -> (Option<Value>, Diagnostics) {
        let config = match decode::<D::Model>(config, "configuration") {
            Ok(m) => m,
            Err(d) => return (None, d),
        };
        match self.0.read(ctx, config).await {
            Ok(saved) => (Some(saved.state.to_value()), saved.warnings),
            Err(f) => (f.partial.map(|m| m.to_value()), f.diagnostics),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tokio_util::sync::CancellationToken;

    use super::*;
    use crate::tfplugin::bridge::Set;
    use crate::tfplugin::codec::dynamic_value;
    use crate::tfplugin::proto::tfplugin6 as pb;
    use crate::tfplugin::schema::Attribute;
    use crate::tfplugin::{ConfigureRequest, Field, Provider};

    crate::tf_object! {
        #[derive(Clone, Debug, Default, PartialEq)]
        struct Note {
            id: Field<String> = "id",
            text: Field<String> = "text",
            tags: Field<Set<String>> = "tags",
        }
    }

    /// A resource that records the read modes it sees and fails updates of "fail".
    #[derive(Default)]
    struct Notes {
        modes: Mutex<Vec<(ReadMode, Vec<u8>)>>,
    }

    #[async_trait]
    impl TypedResource for Arc<Notes> {
        type Model = Note;
        fn type_name(&self) -> &'static str {
            "test_note"
        }
        fn schema(&self) -> Schema {
            Schema::new(
                "test",
                vec![
                    Attribute::string("id").computed().description("id"),
                    Attribute::string("text")
                        .optional()
                        .computed()
                        .description("t"),
                    Attribute::string_set("tags").optional().description("tags"),
                ],
            )
        }
        async fn modify_plan(&self, _: &Context, plan: &mut Plan<Note>, _: &mut Diagnostics) {
            if plan.config.text.is_null() {
                plan.planned.text = Field::Known("default".into());
            }
        }
        async fn create(&self, _: &Context, req: Create<Note>) -> Outcome<Saved<Note>, Note> {
            Ok(Saved::new(Note {
                id: Field::Known("n1".into()),
                ..req.planned
            }))
        }
        async fn read(
            &self,
            _: &Context,
            current: Note,
            private: &[u8],
            mode: ReadMode,
        ) -> Outcome<Option<Saved<Note>>, Note> {
            self.modes.lock().unwrap().push((mode, private.to_vec()));
            let private = if mode == ReadMode::Import {
                b"recorded".to_vec()
            } else {
                Vec::new()
            };
            Ok(Some(Saved::new(current).with_private(private)))
        }
        async fn update(&self, _: &Context, req: Update<Note>) -> Outcome<Saved<Note>, Note> {
            match req.planned.text.as_str() {
                Some("fail") => Err(Failure::error("boom", "nothing written")),
                Some("half") => Err(Failure::error("boom", "half written").with_partial(
                    Note {
                        text: Field::Known("half-done".into()),
                        ..req.prior
                    },
                    None,
                )),
                _ => Ok(Saved::new(req.planned)),
            }
        }
        async fn delete(&self, _: &Context, _: Note, _: &[u8]) -> Outcome<Diagnostics, Note> {
            Ok(Diagnostics::new())
        }
        async fn import(&self, _: &Context, id: &str) -> Outcome<Saved<Note>, Note> {
            Ok(Saved::new(Note {
                id: Field::Known(id.to_string()),
                ..Default::default()
            })
            .with_private(b"own".to_vec()))
        }
    }

    fn note(text: Value, tags: Value) -> Value {
        Value::object([("id", Value::string("n1")), ("text", text), ("tags", tags)])
    }

    #[tokio::test]
    async fn plan_writes_back_only_what_the_handler_changed() {
        let r = Typed(Arc::new(Notes::default()));
        // A set with an unknown element reads as unknown in the model; it must reach
        // Terraform exactly as planned.
        let tags = Value::Set(vec![Value::string("a"), Value::Unknown]);
        let config = note(Value::Null, tags.clone());
        let mut req = PlanRequest {
            prior: Value::Null,
            config: config.clone(),
            planned: note(Value::Unknown, tags.clone()),
            requires_replace: Vec::new(),
            private: Vec::new(),
        };
        let ctx = Context {
            stop: CancellationToken::new(),
            rpc: "test",
        };
        let mut diags = Diagnostics::new();
        r.modify_plan(&ctx, &mut req, &mut diags).await;
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(req.planned, note(Value::string("default"), tags));
    }

    #[test]
    fn a_patch_inside_a_nested_object_leaves_its_partly_unknown_list_alone() {
        let partly = Value::List(vec![Value::string("https://a"), Value::Unknown]);
        let nested = |uris: Value, flag: Value| {
            Value::object([("saas", Value::object([("uris", uris), ("pkce", flag)]))])
        };
        let mut raw = nested(partly.clone(), Value::Null);
        patch(
            &mut raw,
            &nested(Value::Unknown, Value::Null),
            &nested(Value::Unknown, Value::Bool(false)),
        );
        assert_eq!(raw, nested(partly.clone(), Value::Bool(false)));
        // A member the handler does change is written whole.
        patch(
            &mut raw,
            &nested(Value::Unknown, Value::Bool(false)),
            &nested(Value::string_list(["https://b"]), Value::Bool(false)),
        );
        assert_eq!(
            raw,
            nested(Value::string_list(["https://b"]), Value::Bool(false))
        );
        // An object appearing where there was none is written whole.
        let mut raw = Value::object([("saas", Value::Null)]);
        patch(
            &mut raw,
            &Value::object([("saas", Value::Null)]),
            &nested(Value::Null, Value::Bool(true)),
        );
        assert_eq!(raw, nested(Value::Null, Value::Bool(true)));
    }

    #[tokio::test]
    async fn failed_updates_keep_the_prior_state_or_save_the_partial_one() {
        let r = Typed(Arc::new(Notes::default()));
        let ctx = Context {
            stop: CancellationToken::new(),
            rpc: "test",
        };
        let prior = note(Value::string("old"), Value::Null);
        let update = |text: &str| {
            let planned = note(Value::string(text), Value::Null);
            let (r, ctx, prior) = (&r, &ctx, &prior);
            async move { r.update(ctx, prior, &planned, &planned, b"rec").await }
        };
        let kept = update("fail").await;
        assert!(kept.diagnostics.has_errors());
        assert_eq!(kept.new_state.as_ref(), Some(&prior));
        assert_eq!(kept.private, b"rec".to_vec());
        let partial = update("half").await;
        assert!(partial.diagnostics.has_errors());
        assert_eq!(
            partial.new_state,
            Some(note(Value::string("half-done"), Value::Null))
        );
        let fine = update("new").await;
        assert!(fine.diagnostics.is_empty());
        assert_eq!(
            fine.new_state,
            Some(note(Value::string("new"), Value::Null))
        );
    }

    struct NotesProvider(Arc<Notes>);

    #[async_trait]
    impl Provider for NotesProvider {
        fn name(&self) -> &'static str {
            "test"
        }
        fn schema(&self) -> Schema {
            Schema::new("test", Vec::new())
        }
        async fn configure(&self, _: &Context, _: ConfigureRequest) -> Diagnostics {
            Diagnostics::new()
        }
        fn resources(&self) -> Vec<Arc<dyn Resource>> {
            vec![Arc::new(Typed(self.0.clone()))]
        }
        fn data_sources(&self) -> Vec<Arc<dyn DataSource>> {
            Vec::new()
        }
    }

    /// Import is a mode the read is told, carried by the framework in private state
    /// from ImportResourceState to the ReadResource after it, and gone after that read.
    #[tokio::test]
    async fn the_read_after_an_import_is_told_so_and_later_reads_are_not() {
        use pb::provider_server::Provider as _;
        let notes = Arc::new(Notes::default());
        let service = crate::tfplugin::server::ProviderService::new(
            Arc::new(NotesProvider(notes.clone())),
            CancellationToken::new(),
        );
        let imported = service
            .import_resource_state(tonic::Request::new(pb::import_resource_state::Request {
                type_name: "test_note".into(),
                id: "n9".into(),
                ..Default::default()
            }))
            .await
            .expect("a response")
            .into_inner();
        assert!(
            imported.diagnostics.is_empty(),
            "{:?}",
            imported.diagnostics
        );
        let object = imported.imported_resources[0].clone();
        let read = |state: Option<pb::DynamicValue>, private: Vec<u8>| {
            let service = &service;
            async move {
                service
                    .read_resource(tonic::Request::new(pb::read_resource::Request {
                        type_name: "test_note".into(),
                        current_state: state,
                        private,
                        ..Default::default()
                    }))
                    .await
                    .expect("a response")
                    .into_inner()
            }
        };
        let first = read(object.state.clone(), object.private.clone()).await;
        assert_eq!(first.private, b"recorded".to_vec());
        let second = read(first.new_state.clone(), first.private.clone()).await;
        assert_eq!(second.private, b"recorded".to_vec());
        assert_eq!(
            *notes.modes.lock().unwrap(),
            vec![
                (ReadMode::Import, b"own".to_vec()),
                (ReadMode::Refresh, b"recorded".to_vec()),
            ]
        );
        let ty = Typed(notes.clone()).schema().value_type();
        let state = first.new_state.expect("state");
        let value = dynamic_value::decode(&state.msgpack, &state.json, &ty).expect("decodes");
        assert_eq!(value.get("id"), Some(&Value::string("n9")));
    }
}
