//! A panicking handler fails its own RPC with a diagnostic, not the provider.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tonic::Request;

use super::ProviderService;
use super::wire::null_value;
use crate::tfplugin::codec::dynamic_value;
use crate::tfplugin::diag::Diagnostics;
use crate::tfplugin::framework::{
    ApplyResult, ConfigureRequest, Context, DataSource, ImportResult, Provider, ReadMode,
    ReadResult, Resource,
};
use crate::tfplugin::proto::tfplugin6 as pb;
use crate::tfplugin::schema::{Attribute, Schema};
use crate::tfplugin::value::Value;

/// A resource whose handlers panic when `name` is "boom".
struct Fragile;

fn boom(v: &Value) -> bool {
    v.get("name").and_then(Value::as_str) == Some("boom")
}

#[async_trait::async_trait]
impl Resource for Fragile {
    fn type_name(&self) -> &'static str {
        "test_fragile"
    }
    fn schema(&self) -> Schema {
        Schema::new(
            "test",
            vec![
                Attribute::string("id").computed().description("id"),
                Attribute::string("name").required().description("name"),
            ],
        )
    }
    async fn create(&self, _: &Context, _: &Value, planned: &Value, _: &[u8]) -> ApplyResult {
        if boom(planned) {
            panic!("create exploded");
        }
        ApplyResult {
            new_state: Some(planned.clone()),
            ..Default::default()
        }
    }
    async fn read(&self, _: &Context, current: &Value, _: &[u8], _: ReadMode) -> ReadResult {
        if boom(current) {
            // A formatted message: the payload is a String, not a &str.
            let what = "read";
            panic!("{what} exploded");
        }
        ReadResult {
            new_state: Some(current.clone()),
            ..Default::default()
        }
    }
    async fn update(&self, _: &Context, _: &Value, _: &Value, p: &Value, _: &[u8]) -> ApplyResult {
        ApplyResult {
            new_state: Some(p.clone()),
            ..Default::default()
        }
    }
    async fn delete(&self, _: &Context, _: &Value, _: &[u8]) -> Diagnostics {
        Diagnostics::new()
    }
    async fn import(&self, _: &Context, _: &str) -> ImportResult {
        ImportResult::default()
    }
}

struct TestProvider;

#[async_trait::async_trait]
impl Provider for TestProvider {
    fn name(&self) -> &'static str {
        "test"
    }
    fn schema(&self) -> Schema {
        Schema::new("test", Vec::new())
    }
    async fn configure(&self, _: &Context, _: ConfigureRequest) -> Diagnostics {
        panic!("configure exploded");
    }
    fn resources(&self) -> Vec<Arc<dyn Resource>> {
        vec![Arc::new(Fragile)]
    }
    fn data_sources(&self) -> Vec<Arc<dyn DataSource>> {
        Vec::new()
    }
}

fn state(name: &str) -> pb::DynamicValue {
    let ty = Fragile.schema().value_type();
    let v = Value::object([("id", Value::string("1")), ("name", Value::string(name))]);
    pb::DynamicValue {
        msgpack: dynamic_value::encode(&v, &ty).unwrap(),
        json: Vec::new(),
    }
}

fn errors(diags: &[pb::Diagnostic]) -> Vec<String> {
    diags
        .iter()
        .filter(|d| d.severity == pb::diagnostic::Severity::Error as i32)
        .map(|d| format!("{}: {}", d.summary, d.detail))
        .collect()
}

#[tokio::test]
async fn a_panicking_handler_fails_its_rpc_only_and_the_provider_keeps_serving() {
    use pb::provider_server::Provider as _;
    let service = ProviderService::new(Arc::new(TestProvider), CancellationToken::new());

    // ReadResource panics: an error diagnostic, and the state Terraform sent is
    // answered back so the object stays in state.
    let sent = state("boom");
    let resp = service
        .read_resource(Request::new(pb::read_resource::Request {
            type_name: "test_fragile".into(),
            current_state: Some(sent.clone()),
            private: b"keep".to_vec(),
            ..Default::default()
        }))
        .await
        .expect("a response, not a gRPC error")
        .into_inner();
    let errs = errors(&resp.diagnostics);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].contains("ReadResource") && errs[0].contains("read exploded"));
    assert_eq!(resp.new_state, Some(sent));
    assert_eq!(resp.private, b"keep".to_vec());

    // ApplyResourceChange (a create) panics: an error, the prior (null) state kept.
    let resp = service
        .apply_resource_change(Request::new(pb::apply_resource_change::Request {
            type_name: "test_fragile".into(),
            prior_state: Some(null_value()),
            planned_state: Some(state("boom")),
            config: Some(state("boom")),
            ..Default::default()
        }))
        .await
        .expect("a response")
        .into_inner();
    assert_eq!(errors(&resp.diagnostics).len(), 1);
    assert_eq!(resp.new_state, Some(null_value()));

    // ConfigureProvider panics inside the provider itself: still only a diagnostic.
    let resp = service
        .configure_provider(Request::new(pb::configure_provider::Request {
            config: Some(null_value()),
            ..Default::default()
        }))
        .await
        .expect("a response")
        .into_inner();
    assert!(errors(&resp.diagnostics)[0].contains("configure exploded"));

    // The same service goes on serving: a healthy read works.
    let fine = state("fine");
    let resp = service
        .read_resource(Request::new(pb::read_resource::Request {
            type_name: "test_fragile".into(),
            current_state: Some(fine.clone()),
            ..Default::default()
        }))
        .await
        .expect("a response")
        .into_inner();
    assert!(errors(&resp.diagnostics).is_empty());
    assert_eq!(resp.new_state, Some(fine));
}
