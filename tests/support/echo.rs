//! An in-process provider whose schema uses every cty type and nesting mode, served by
//! the real `ProviderService` over a unix socket: the RPC plumbing (decode, plan engine,
//! private state, null filling, destroy, import, stop) is tested without Cloudflare.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use cfaccess::tfplugin::server::ProviderService;
use cfaccess::tfplugin::transport::Conn;
use cfaccess::tfplugin::{
    ApplyResult, Attribute, ConfigureRequest, Context, DataSource, Diagnostics, ImportResult,
    Nesting, Provider, ReadResult, Resource, Schema, Type, Validator, Value,
};
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use super::Address;

pub const RESOURCE: &str = "echo_all";
pub const DATA_SOURCE: &str = "echo_data";

/// Every plain cty type and every nesting mode, all optional (so planning passes the
/// proposed value through untouched), plus a computed `id`.
pub fn all_types_schema() -> Schema {
    let inner = || {
        vec![
            Attribute::string("x")
                .optional()
                .description("Inner string.")
                .validator(Validator::OneOf(vec!["ok", "fine"])),
        ]
    };
    Schema::new(
        "Echo resource.",
        vec![
            Attribute::string("id").computed().description("Id."),
            Attribute::string("s").optional().description("String."),
            Attribute::number("n").optional().description("Number."),
            Attribute::bool("b").optional().description("Bool."),
            Attribute::typed("d", Type::Dynamic)
                .optional()
                .description("Dynamic."),
            Attribute::typed("l", Type::list(Type::String))
                .optional()
                .description("List."),
            Attribute::typed("st", Type::set(Type::Number))
                .optional()
                .description("Set."),
            Attribute::typed("m", Type::map(Type::Bool))
                .optional()
                .description("Map."),
            Attribute::typed(
                "o",
                Type::object([("a", Type::String), ("b", Type::list(Type::Number))]),
            )
            .optional()
            .description("Object."),
            Attribute::typed(
                "t",
                Type::Tuple(vec![Type::String, Type::Number, Type::Bool]),
            )
            .optional()
            .description("Tuple."),
            Attribute::nested("ns", Nesting::Single, inner())
                .optional()
                .description("Nested single."),
            Attribute::nested("nl", Nesting::List, inner())
                .optional()
                .description("Nested list."),
            Attribute::nested("nset", Nesting::Set, inner())
                .optional()
                .description("Nested set."),
            Attribute::nested("nm", Nesting::Map, inner())
                .optional()
                .description("Nested map."),
        ],
    )
}

/// Counters the tests inspect.
#[derive(Default)]
pub struct Calls {
    pub deletes: AtomicUsize,
    pub configures: AtomicUsize,
}

pub struct EchoResource {
    calls: Arc<Calls>,
}

#[async_trait]
impl Resource for EchoResource {
    fn type_name(&self) -> &'static str {
        RESOURCE
    }

    fn schema(&self) -> Schema {
        all_types_schema()
    }

    async fn validate(&self, _ctx: &Context, config: &Value, diags: &mut Diagnostics) {
        if config.get("s").and_then(Value::as_str) == Some("invalid") {
            diags.attr_error(
                cfaccess::tfplugin::AttributePath::root("s"),
                "Invalid s",
                "s must not be \"invalid\"",
            );
        }
    }

    async fn create(
        &self,
        ctx: &Context,
        _config: &Value,
        planned: &Value,
        _private: &[u8],
    ) -> ApplyResult {
        let mut state = planned.clone();
        state.set("id", Value::string("created"));
        if planned.get("s").and_then(Value::as_str) == Some("block") {
            // Simulates a long remote operation that honours StopProvider: it returns
            // what exists so far together with an error.
            ctx.stop.cancelled().await;
            let mut diags = Diagnostics::new();
            diags.error("Interrupted", "StopProvider was called");
            return ApplyResult {
                new_state: Some(Value::object([("id", Value::string("partial"))])),
                private: Vec::new(),
                diagnostics: diags,
            };
        }
        if planned.get("s").and_then(Value::as_str) == Some("partial") {
            // Only some attributes: the server must fill the rest with null.
            return ApplyResult {
                new_state: Some(Value::object([("id", Value::string("created"))])),
                private: b"from-create".to_vec(),
                diagnostics: Diagnostics::new(),
            };
        }
        ApplyResult {
            new_state: Some(state),
            private: b"from-create".to_vec(),
            diagnostics: Diagnostics::new(),
        }
    }

    async fn read(
        &self,
        _ctx: &Context,
        current: &Value,
        _private: &[u8],
        _mode: cfaccess::tfplugin::ReadMode,
    ) -> ReadResult {
        if current.get("id").and_then(Value::as_str) == Some("gone") {
            return ReadResult::default();
        }
        // Private left empty: the server must echo the input.
        ReadResult {
            new_state: Some(current.clone()),
            private: Vec::new(),
            diagnostics: Diagnostics::new(),
        }
    }

    async fn update(
        &self,
        _ctx: &Context,
        _prior: &Value,
        _config: &Value,
        planned: &Value,
        _private: &[u8],
    ) -> ApplyResult {
        ApplyResult {
            new_state: Some(planned.clone()),
            private: Vec::new(),
            diagnostics: Diagnostics::new(),
        }
    }

    async fn delete(&self, _ctx: &Context, prior: &Value, _private: &[u8]) -> Diagnostics {
        self.calls.deletes.fetch_add(1, Ordering::SeqCst);
        let mut diags = Diagnostics::new();
        if prior.get("s").and_then(Value::as_str) == Some("undeletable") {
            diags.error("Cannot delete", "the remote object refused");
        }
        diags
    }

    async fn import(&self, _ctx: &Context, id: &str) -> ImportResult {
        ImportResult {
            state: Some(Value::object([("id", Value::string(id))])),
            private: b"imported".to_vec(),
            diagnostics: Diagnostics::new(),
        }
    }
}

pub struct EchoData;

#[async_trait]
impl DataSource for EchoData {
    fn type_name(&self) -> &'static str {
        DATA_SOURCE
    }

    fn schema(&self) -> Schema {
        Schema::new(
            "Echo data source.",
            vec![
                Attribute::string("input").required().description("In."),
                Attribute::string("output").computed().description("Out."),
            ],
        )
    }

    async fn read(&self, _ctx: &Context, config: &Value) -> (Option<Value>, Diagnostics) {
        let input = config.get("input").and_then(Value::as_str).unwrap_or("");
        // Configuration values are returned unchanged, as Terraform requires.
        let state = Value::object([
            ("input", Value::string(input)),
            ("output", Value::string(format!("read:{input}"))),
        ]);
        (Some(state), Diagnostics::new())
    }
}

pub struct EchoProvider {
    pub calls: Arc<Calls>,
}

#[async_trait]
impl Provider for EchoProvider {
    fn name(&self) -> &'static str {
        "echo"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            "Echo provider.",
            vec![
                Attribute::string("token")
                    .optional()
                    .sensitive()
                    .description("Token.")
                    .validator(Validator::NotBlank),
            ],
        )
    }

    async fn configure(&self, _ctx: &Context, _req: ConfigureRequest) -> Diagnostics {
        self.calls.configures.fetch_add(1, Ordering::SeqCst);
        Diagnostics::new()
    }

    fn resources(&self) -> Vec<Arc<dyn Resource>> {
        vec![Arc::new(EchoResource {
            calls: self.calls.clone(),
        })]
    }

    fn data_sources(&self) -> Vec<Arc<dyn DataSource>> {
        vec![Arc::new(EchoData)]
    }
}

/// A running in-process server for [`EchoProvider`].
pub struct EchoServer {
    pub addr: Address,
    pub calls: Arc<Calls>,
    _dir: tempfile::TempDir,
    shutdown: CancellationToken,
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Serves the echo provider over a fresh unix socket (plaintext: TLS is covered by the
/// tests against the real binary).
pub async fn start() -> EchoServer {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("echo.sock");
    let listener = tokio::net::UnixListener::bind(&path).unwrap();
    let calls = Arc::new(Calls::default());
    let provider = Arc::new(EchoProvider {
        calls: calls.clone(),
    });
    let shutdown = CancellationToken::new();
    let service = ProviderService::new(provider, shutdown.child_token()).into_grpc();
    let incoming =
        tokio_stream::wrappers::UnixListenerStream::new(listener).map(|conn| conn.map(Conn::new));
    let signal = shutdown.clone().cancelled_owned();
    tokio::spawn(async move {
        let _ = tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming_shutdown(incoming, signal)
            .await;
    });
    EchoServer {
        addr: Address {
            network: "unix".to_string(),
            address: path.display().to_string(),
        },
        calls,
        _dir: dir,
        shutdown,
    }
}
