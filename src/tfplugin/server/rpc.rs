//! How every RPC runs: a span with the hclog fields, a panic guard, and the handler's
//! diagnostics logged and put into the response, the same way for each request type.

use std::future::Future;
use std::time::Instant;

use tonic::{Request, Response, Status};
use tracing::Instrument as _;

use super::ProviderService;
use super::call::Call;
use super::wire::null_value;
use crate::tfplugin::diag::{Diagnostics, Severity};
use crate::tfplugin::diag_proto::diagnostics_to_proto;
use crate::tfplugin::proto::tfplugin6 as pb;

/// A guarded RPC, implemented by its request message next to the other RPCs of its
/// kind (provider, resource, data source).
pub(super) trait Rpc: Shape {
    /// Fills `call.resp` (which starts as [`Shape::fallback`]) and `call.diags`;
    /// `None` stops the handler early after a failure already recorded in the
    /// diagnostics.
    fn handle(self, call: &mut Call<'_, Self::Response>)
    -> impl Future<Output = Option<()>> + Send;
}

/// Runs one guarded RPC: [`Rpc::handle`] inside [`guarded`], with the diagnostics it
/// collected logged and returned in the response.
pub(super) async fn serve<R: Rpc>(
    service: &ProviderService,
    req: Request<R>,
) -> Result<Response<R::Response>, Status> {
    let req = req.into_inner();
    let type_field = req
        .type_field()
        .map(|(field, name)| (field, name.to_owned()));
    let fallback = req.fallback();
    let mut call = Call {
        service,
        ctx: service.context(R::NAME),
        resp: fallback.clone(),
        diags: Diagnostics::new(),
    };
    let resp = guarded(
        R::NAME,
        type_field
            .as_ref()
            .map(|(field, name)| (*field, name.as_str())),
        async move {
            // Stopping early needs nothing more: the diagnostics say why.
            let _finished = req.handle(&mut call).await;
            let mut resp = call.resp;
            R::set_diagnostics(&mut resp, finish_diagnostics(&call.diags));
            resp
        },
        |diagnostics| {
            let mut resp = fallback;
            R::set_diagnostics(&mut resp, diagnostics);
            resp
        },
    )
    .await;
    Ok(Response::new(resp))
}

/// Runs one RPC inside a span carrying the hclog fields Terraform users grep for.
pub(super) async fn traced<T>(
    rpc: &'static str,
    type_field: Option<(&'static str, &str)>,
    body: impl Future<Output = T>,
) -> T {
    let span = tracing::info_span!(
        "tfplugin6",
        tf_rpc = rpc,
        tf_req_id = %uuid::Uuid::new_v4(),
        tf_resource_type = tracing::field::Empty,
        tf_data_source_type = tracing::field::Empty,
    );
    if let Some((field, value)) = type_field {
        span.record(field, value);
    }
    async move {
        let started = Instant::now();
        tracing::debug!("Received request");
        let out = body.await;
        let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        tracing::debug!(tf_req_duration_ms = ms, "Served request");
        out
    }
    .instrument(span)
    .await
}

/// [`traced`], and a panic inside `body` becomes an error diagnostic in the response
/// `on_panic` builds, instead of a broken stream: the RPC fails cleanly (with the
/// state Terraform sent kept, where the response carries state) and the provider
/// keeps serving every other RPC. The release profile unwinds (no `panic = "abort"`)
/// for this.
async fn guarded<T>(
    rpc: &'static str,
    type_field: Option<(&'static str, &str)>,
    body: impl Future<Output = T>,
    on_panic: impl FnOnce(Vec<pb::Diagnostic>) -> T,
) -> T {
    use futures::FutureExt as _;
    traced(rpc, type_field, async move {
        match std::panic::AssertUnwindSafe(body).catch_unwind().await {
            Ok(out) => out,
            Err(payload) => {
                let message = panic_message(payload.as_ref());
                let mut diags = Diagnostics::new();
                diags.error(
                    "Provider bug: internal error",
                    format!(
                        "The provider hit an internal error (a panic) while serving {rpc} \
                         and abandoned this operation; other operations are not affected. \
                         Please report it with this message: {message}"
                    ),
                );
                on_panic(finish_diagnostics(&diags))
            }
        }
    })
    .await
}

/// The text of a panic payload (`panic!` with a literal or a formatted message).
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".to_string());
    // A message is for a bug report, not a dump.
    text.chars().take(500).collect()
}

/// Logs each diagnostic (never values: summaries and paths only) and converts them.
fn finish_diagnostics(diags: &Diagnostics) -> Vec<pb::Diagnostic> {
    for d in diags.iter() {
        let attribute = d
            .attribute
            .as_ref()
            .map(|p| p.to_string())
            .unwrap_or_default();
        match d.severity {
            Severity::Error => tracing::error!(
                diagnostic_severity = "ERROR",
                diagnostic_summary = %d.summary,
                diagnostic_attribute = %attribute,
                "Response contains error diagnostic"
            ),
            Severity::Warning => tracing::warn!(
                diagnostic_severity = "WARNING",
                diagnostic_summary = %d.summary,
                diagnostic_attribute = %attribute,
                "Response contains warning diagnostic"
            ),
        }
    }
    diagnostics_to_proto(diags)
}

/// The request and response shape of one guarded RPC, the same for every kind.
pub(super) trait Shape: Sized + Send {
    /// The response message.
    type Response: Clone + Send;

    /// The RPC's name, for logs and panic diagnostics.
    const NAME: &'static str;

    /// The span field naming the type the request is about, if any.
    fn type_field(&self) -> Option<(&'static str, &str)>;

    /// The answer when nothing better is known: what a handler starts from, and what
    /// a panic answers with. It carries back whatever Terraform sent that must not be
    /// lost (the state on read and apply, the private state on plan).
    fn fallback(&self) -> Self::Response;

    /// Puts the (converted) diagnostics into a response.
    fn set_diagnostics(resp: &mut Self::Response, diagnostics: Vec<pb::Diagnostic>);
}

/// The span field for a request: none, or its `type_name` under the given field.
macro_rules! type_field {
    ($req:expr, none) => {
        None
    };
    ($req:expr, $field:literal) => {
        Some(($field, $req.type_name.as_str()))
    };
}

/// Implements [`Shape`] for each `module: "Name", span field, |req| fallback;` row.
macro_rules! shapes {
    ($($module:ident: $name:literal, $field:tt, |$req:ident| $fallback:expr;)*) => {$(
        impl Shape for pb::$module::Request {
            type Response = pb::$module::Response;
            const NAME: &'static str = $name;

            fn type_field(&self) -> Option<(&'static str, &str)> {
                type_field!(self, $field)
            }

            fn fallback(&self) -> Self::Response {
                let $req = self;
                $fallback
            }

            fn set_diagnostics(resp: &mut Self::Response, diagnostics: Vec<pb::Diagnostic>) {
                resp.diagnostics = diagnostics;
            }
        }
    )*};
}

shapes! {
    validate_provider_config: "ValidateProviderConfig", none, |_req| Default::default();
    configure_provider: "ConfigureProvider", none, |_req| Default::default();
    validate_resource_config: "ValidateResourceConfig", "tf_resource_type",
        |_req| Default::default();
    upgrade_resource_state: "UpgradeResourceState", "tf_resource_type",
        |_req| Default::default();
    // Until something better is known, answer with what Terraform sent, so an early
    // failure (or a panic) never drops the object from state.
    read_resource: "ReadResource", "tf_resource_type", |req| pb::read_resource::Response {
        new_state: req.current_state.clone(),
        private: req.private.clone(),
        ..Default::default()
    };
    plan_resource_change: "PlanResourceChange", "tf_resource_type",
        |req| pb::plan_resource_change::Response {
            planned_private: req.prior_private.clone(),
            ..Default::default()
        };
    // The prior state stays until the handler says otherwise: after a panic what the
    // handler did is unknown, and keeping the object tracked lets the next refresh
    // find out.
    apply_resource_change: "ApplyResourceChange", "tf_resource_type",
        |req| pb::apply_resource_change::Response {
            new_state: req.prior_state.clone(),
            private: req.planned_private.clone(),
            ..Default::default()
        };
    import_resource_state: "ImportResourceState", "tf_resource_type",
        |_req| Default::default();
    validate_data_resource_config: "ValidateDataResourceConfig", "tf_data_source_type",
        |_req| Default::default();
    read_data_source: "ReadDataSource", "tf_data_source_type",
        |_req| pb::read_data_source::Response {
            state: Some(null_value()),
            ..Default::default()
        };
}
