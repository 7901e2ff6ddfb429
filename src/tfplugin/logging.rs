//! `tracing` output in go-hclog's JSON form, the only structured log format Terraform
//! reads from a plugin's stderr.
//!
//! One JSON object per line: `@level` (`trace`…`error`), `@message`, `@module`,
//! `@timestamp` in Go layout `2006-01-02T15:04:05.000000Z07:00` (anything else makes
//! Terraform log the whole line raw at DEBUG), then the fields of the event and of its
//! enclosing spans, flat (`tf_rpc`, `tf_req_id`, `tf_resource_type`, …). Terraform
//! re-logs each line at its level, filtered by `TF_LOG_PROVIDER`/`TF_LOG`; we read the
//! same variables only to skip work nobody will see.

use std::fmt;
use std::io::Write;

use serde_json::{Map, Value as Json};
use time::OffsetDateTime;
use time::macros::format_description;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::{Layer, Registry};

/// `@module` of our own events; dependencies log as `<this>.<crate>`.
pub const MODULE: &str = "provider.terraform-provider-cfaccess";

/// Installs the hclog JSON layer on stderr as the global subscriber, at the level
/// Terraform asked for. Does nothing if a subscriber is already installed.
pub fn init() {
    let level = level_from_env(
        std::env::var("TF_LOG_PROVIDER").ok().as_deref(),
        std::env::var("TF_LOG").ok().as_deref(),
    );
    let subscriber =
        Registry::default().with(HclogLayer::new(std::io::stderr).with_filter(targets(level)));
    let _ = tracing::subscriber::set_global_default(subscriber);
}

/// Our crate logs at `level`; dependencies (hyper, h2, tonic…) at most at INFO, since
/// their DEBUG/TRACE output would drown a provider trace.
pub fn targets(level: LevelFilter) -> Targets {
    Targets::new()
        .with_default(level.min(LevelFilter::INFO))
        .with_target("cfaccess", level)
        .with_target("terraform_provider_cfaccess", level)
}

/// The provider log level: `TF_LOG_PROVIDER` if set, else `TF_LOG`; unset or `OFF`
/// still lets warnings and errors through (Terraform drops them unless asked).
pub fn level_from_env(provider: Option<&str>, global: Option<&str>) -> LevelFilter {
    let chosen = provider
        .filter(|s| !s.trim().is_empty())
        .or(global.filter(|s| !s.trim().is_empty()));
    match chosen.map(|s| s.trim().to_ascii_uppercase()).as_deref() {
        Some("TRACE") | Some("JSON") => LevelFilter::TRACE,
        Some("DEBUG") => LevelFilter::DEBUG,
        Some("INFO") => LevelFilter::INFO,
        Some("ERROR") => LevelFilter::ERROR,
        // WARN, OFF, unset, and anything unrecognised (Terraform treats an invalid
        // TF_LOG as TRACE for core, but that is not worth the noise here).
        _ => LevelFilter::WARN,
    }
}

/// A `2006-01-02T15:04:05.000000Z07:00` timestamp (UTC, so always `Z`).
pub fn format_timestamp(t: OffsetDateTime) -> String {
    let utc = t.to_offset(time::UtcOffset::UTC);
    let fmt =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");
    // Formatting a UTC datetime with this description cannot fail for years 0..=9999.
    utc.format(&fmt)
        .unwrap_or_else(|_| "1970-01-01T00:00:00.000000Z".to_string())
}

/// hclog's level names.
pub fn level_name(level: &Level) -> &'static str {
    match *level {
        Level::TRACE => "trace",
        Level::DEBUG => "debug",
        Level::INFO => "info",
        Level::WARN => "warn",
        Level::ERROR => "error",
    }
}

/// A `tracing` layer writing hclog JSON lines to `W`.
pub struct HclogLayer<W> {
    make_writer: W,
}

impl<W> HclogLayer<W>
where
    W: for<'a> MakeWriter<'a> + 'static,
{
    /// A layer writing to `make_writer` (e.g. `std::io::stderr`).
    pub fn new(make_writer: W) -> Self {
        HclogLayer { make_writer }
    }
}

/// Fields recorded on a span, kept in its extensions.
struct SpanFields(Map<String, Json>);

impl<S, W> Layer<S> for HclogLayer<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'a> MakeWriter<'a> + 'static,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut visitor = JsonVisitor::default();
        attrs.record(&mut visitor);
        span.extensions_mut().insert(SpanFields(visitor.fields));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut visitor = JsonVisitor::default();
        values.record(&mut visitor);
        let mut ext = span.extensions_mut();
        match ext.get_mut::<SpanFields>() {
            Some(existing) => existing.0.extend(visitor.fields),
            None => ext.insert(SpanFields(visitor.fields)),
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let meta = event.metadata();
        let mut fields = Map::new();
        // Outermost span first, so inner spans and the event itself win on conflicts.
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(f) = span.extensions().get::<SpanFields>() {
                    fields.extend(f.0.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
            }
        }
        let mut visitor = JsonVisitor::default();
        event.record(&mut visitor);
        fields.extend(visitor.fields);
        let message = visitor.message.unwrap_or_default();
        let line = render_line(
            meta.level(),
            &message,
            &module_for(meta.target()),
            &format_timestamp(OffsetDateTime::now_utc()),
            &fields,
        );
        let mut writer = self.make_writer.make_writer_for(meta);
        // One write per line so concurrent events never interleave mid-line; a failed
        // write to stderr has nowhere to be reported.
        let _ = writer.write_all(line.as_bytes());
    }
}

/// `@module` for an event target: our crate is the provider module itself, anything
/// else is a sub-logger named after its crate.
fn module_for(target: &str) -> String {
    let krate = target.split("::").next().unwrap_or(target);
    if krate == "cfaccess" || krate == "terraform_provider_cfaccess" {
        MODULE.to_string()
    } else {
        format!("{MODULE}.{krate}")
    }
}

/// One complete JSON line, `@`-keys first (as hclog writes them), then the fields.
fn render_line(
    level: &Level,
    message: &str,
    module: &str,
    timestamp: &str,
    fields: &Map<String, Json>,
) -> String {
    let mut out = String::with_capacity(128 + message.len());
    out.push('{');
    push_pair(&mut out, "@level", &Json::from(level_name(level)));
    out.push(',');
    push_pair(&mut out, "@message", &Json::from(message));
    out.push(',');
    push_pair(&mut out, "@module", &Json::from(module));
    out.push(',');
    push_pair(&mut out, "@timestamp", &Json::from(timestamp));
    for (k, v) in fields {
        // The reserved keys are ours; a field with the same name would make the object
        // ambiguous for Terraform's parser.
        if k.starts_with('@') {
            continue;
        }
        out.push(',');
        push_pair(&mut out, k, v);
    }
    out.push_str("}\n");
    out
}

fn push_pair(out: &mut String, key: &str, value: &Json) {
    // Serialising strings and JSON values to a String cannot fail.
    out.push_str(&serde_json::to_string(key).unwrap_or_default());
    out.push(':');
    out.push_str(&serde_json::to_string(value).unwrap_or_else(|_| "null".into()));
}

/// Collects `tracing` fields as JSON values; `message` is kept apart.
#[derive(Default)]
struct JsonVisitor {
    message: Option<String>,
    fields: Map<String, Json>,
}

impl JsonVisitor {
    fn put(&mut self, field: &Field, value: Json) {
        if field.name() == "message" {
            self.message = Some(match value {
                Json::String(s) => s,
                other => other.to_string(),
            });
        } else {
            self.fields.insert(field.name().to_string(), value);
        }
    }
}

impl Visit for JsonVisitor {
    fn record_f64(&mut self, field: &Field, value: f64) {
        let v = serde_json::Number::from_f64(value)
            .map(Json::Number)
            .unwrap_or_else(|| Json::String(value.to_string()));
        self.put(field, v);
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Json::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Json::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Json::from(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Json::from(value));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, Json::from(value.to_string()));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, Json::from(format!("{value:?}")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buffer {
        type Writer = Buffer;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    fn capture(level: LevelFilter, f: impl FnOnce()) -> Vec<Json> {
        let buf = Buffer::default();
        let subscriber =
            Registry::default().with(HclogLayer::new(buf.clone()).with_filter(targets(level)));
        tracing::subscriber::with_default(subscriber, f);
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Go's layout `2006-01-02T15:04:05.000000Z07:00`, checked character by character.
    fn is_go_hclog_timestamp(s: &str) -> bool {
        let b = s.as_bytes();
        b.len() == 27
            && b.iter().enumerate().all(|(i, c)| match i {
                4 | 7 => *c == b'-',
                10 => *c == b'T',
                13 | 16 => *c == b':',
                19 => *c == b'.',
                26 => *c == b'Z',
                _ => c.is_ascii_digit(),
            })
    }

    #[test]
    fn timestamp_has_six_fraction_digits_and_z() {
        let t = time::macros::datetime!(2026-08-20 10:00:00.123456789 +02:00);
        assert_eq!(format_timestamp(t), "2026-08-20T08:00:00.123456Z");
        let whole = time::macros::datetime!(2026-01-02 03:04:05 UTC);
        assert_eq!(format_timestamp(whole), "2026-01-02T03:04:05.000000Z");
        assert!(is_go_hclog_timestamp(&format_timestamp(
            OffsetDateTime::now_utc()
        )));
    }

    #[test]
    fn events_become_flat_hclog_objects_with_span_fields() {
        let lines = capture(LevelFilter::TRACE, || {
            let span = tracing::info_span!(
                target: "cfaccess::tfplugin::server",
                "rpc",
                tf_rpc = "ApplyResourceChange",
                tf_req_id = "abc"
            );
            let _g = span.enter();
            tracing::debug!(target: "cfaccess::cloudflare", http_status = 200u64, ok = true, "PUT \"app\"");
            tracing::warn!(target: "cfaccess::x", "careful");
        });
        assert_eq!(lines.len(), 2);
        let first = &lines[0];
        assert_eq!(first["@level"], "debug");
        assert_eq!(first["@message"], "PUT \"app\"");
        assert_eq!(first["@module"], MODULE);
        assert!(is_go_hclog_timestamp(first["@timestamp"].as_str().unwrap()));
        assert_eq!(first["tf_rpc"], "ApplyResourceChange");
        assert_eq!(first["tf_req_id"], "abc");
        assert_eq!(first["http_status"], 200);
        assert_eq!(first["ok"], true);
        assert_eq!(lines[1]["@level"], "warn");
    }

    #[test]
    fn levels_filter_and_dependencies_are_capped() {
        let lines = capture(LevelFilter::WARN, || {
            tracing::info!(target: "cfaccess::x", "hidden");
            tracing::error!(target: "cfaccess::x", "shown");
        });
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0]["@level"], "error");

        let lines = capture(LevelFilter::TRACE, || {
            tracing::debug!(target: "h2::codec", "frame");
            tracing::info!(target: "hyper::proto", "conn");
        });
        assert_eq!(lines.len(), 1, "dependency DEBUG is dropped, INFO kept");
        assert_eq!(lines[0]["@module"], format!("{MODULE}.hyper"));
    }

    #[test]
    fn level_comes_from_tf_log_provider_then_tf_log() {
        assert_eq!(level_from_env(None, None), LevelFilter::WARN);
        assert_eq!(level_from_env(None, Some("trace")), LevelFilter::TRACE);
        assert_eq!(
            level_from_env(Some("DEBUG"), Some("TRACE")),
            LevelFilter::DEBUG
        );
        assert_eq!(level_from_env(Some(""), Some("info")), LevelFilter::INFO);
        assert_eq!(level_from_env(None, Some("JSON")), LevelFilter::TRACE);
        assert_eq!(level_from_env(None, Some("OFF")), LevelFilter::WARN);
    }
}
