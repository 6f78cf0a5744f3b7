//! The control protocol: one JSON object per line, both ways, every message carrying the
//! protocol version `v`. `docs/control.md` documents each message with examples.
//!
//! A request is parsed in two steps, envelope first (`v`, `id`, `cmd`) and arguments second,
//! so that an unknown version or command gets an answer naming exactly that, with the request's
//! `id`, rather than a generic parse error. Nothing a client sends can make the server panic.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The protocol version this procman speaks.
pub const VERSION: u64 = 1;

/// The longest request line the server accepts. Requests are a few dozen bytes; the bound
/// only keeps a broken or hostile client from making procman buffer without limit.
pub const MAX_REQUEST: usize = 64 * 1024;

/// The commands, as spelled in `cmd`.
pub const COMMANDS: &[&str] = &[
    "ps", "restart", "stop", "start", "scale", "signal", "stop-all", "events", "attach", "reload",
];

/// A request, after its envelope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Request {
    /// Every instance with its state and resources.
    Ps,
    /// Restart a process type (every instance) or one instance (`web.2`).
    Restart { target: String },
    /// Stop a process type or one instance.
    Stop { target: String },
    /// Start a process type or one instance.
    Start { target: String },
    /// Change instance counts: `{"web": 3}`.
    Scale { counts: BTreeMap<String, u32> },
    /// Send a signal (a name such as `USR1`, or a number) to the program of every live
    /// instance of a type, or of one instance.
    Signal { target: String, signal: String },
    /// Stop the whole run.
    StopAll,
    /// Subscribe this connection to the event stream.
    Events,
    /// Connect this connection to an instance's terminal (`web.1`, or a type's first
    /// instance): after the answer, the connection carries raw bytes both ways
    /// (docs/control.md, `attach`).
    Attach { target: String },
    /// Re-read the Procfile, the env files and the config file, and apply the difference.
    Reload,
}

impl Request {
    /// The request as one line, with the envelope, newline included.
    pub fn to_line(&self, id: u64) -> String {
        let mut object = match serde_json::to_value(self) {
            Ok(Value::Object(object)) => object,
            // A unit-only enum with an internal tag always serializes to an object.
            _ => Map::new(),
        };
        object.insert("v".into(), VERSION.into());
        object.insert("id".into(), id.into());
        line(&Value::Object(object))
    }
}

/// The machine-readable kind of an error response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Not JSON, not an object, or arguments missing or of the wrong type.
    BadRequest,
    /// A `v` other than [`VERSION`].
    UnsupportedVersion,
    /// A `cmd` this procman does not know.
    UnknownCommand,
    /// No process type or instance by that name.
    NotFound,
    /// The supervisor refused in the current state (stopping a stopped instance, say).
    Refused,
    /// `reload` found errors in the new configuration; nothing changed.
    InvalidConfig,
    /// The request line exceeded [`MAX_REQUEST`]; the connection is closed.
    TooLarge,
    /// The peer is not the user procman runs as; the connection is closed.
    PermissionDenied,
    /// Too many clients are connected; the connection is closed.
    Busy,
}

impl ErrorKind {
    /// The spelling in the `kind` field.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::BadRequest => "bad-request",
            ErrorKind::UnsupportedVersion => "unsupported-version",
            ErrorKind::UnknownCommand => "unknown-command",
            ErrorKind::NotFound => "not-found",
            ErrorKind::Refused => "refused",
            ErrorKind::InvalidConfig => "invalid-config",
            ErrorKind::TooLarge => "too-large",
            ErrorKind::PermissionDenied => "permission-denied",
            ErrorKind::Busy => "busy",
        }
    }
}

/// A failed request: what to answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub kind: ErrorKind,
    pub message: String,
}

impl Failure {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Failure {
        Failure { kind, message: message.into() }
    }
}

/// Parses one request line. On failure, the `id` is still returned when it could be read, so
/// the error answer can carry it.
pub fn parse_request(text: &str) -> Result<(Option<u64>, Request), (Option<u64>, Failure)> {
    let repeated = RefCell::new(None);
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let parsed = StrictValue { repeated: &repeated }
        .deserialize(&mut deserializer)
        // Nothing but blanks may follow the value.
        .and_then(|value| deserializer.end().map(|()| value));
    let value = match (parsed, repeated.into_inner()) {
        (_, Some(key)) => {
            let message = format!(
                "the key `{}` is given twice in the request; give each key once",
                key.escape_debug()
            );
            return Err((None, Failure::new(ErrorKind::BadRequest, message)));
        }
        (Ok(value), None) => value,
        (Err(err), None) => {
            let message = format!("the request is not valid JSON: {err}");
            return Err((None, Failure::new(ErrorKind::BadRequest, message)));
        }
    };
    let Value::Object(mut object) = value else {
        return Err((
            None,
            Failure::new(ErrorKind::BadRequest, "the request is not a JSON object"),
        ));
    };
    let id = match object.remove("id") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) if n.as_u64().is_some() => n.as_u64(),
        Some(_) => {
            let failure =
                Failure::new(ErrorKind::BadRequest, "`id` must be a non-negative integer");
            return Err((None, failure));
        }
    };
    let fail = |kind, message: String| (id, Failure::new(kind, message));
    match object.remove("v") {
        Some(Value::Number(n)) if n.as_u64() == Some(VERSION) => {}
        Some(v) => {
            return Err(fail(
                ErrorKind::UnsupportedVersion,
                format!("protocol version {v} is not supported (this procman speaks {VERSION})"),
            ));
        }
        None => {
            return Err(fail(
                ErrorKind::BadRequest,
                format!("the request has no protocol version `v` (this procman speaks {VERSION})"),
            ));
        }
    }
    match object.get("cmd") {
        Some(Value::String(cmd)) if COMMANDS.contains(&cmd.as_str()) => {
            // serde's `deny_unknown_fields` does not cover the variants without fields.
            let allowed = arguments_of(cmd);
            if let Some(key) = object.keys().find(|k| *k != "cmd" && !allowed.contains(&k.as_str()))
            {
                return Err(fail(
                    ErrorKind::BadRequest,
                    format!("bad arguments: unknown field `{key}` for `{cmd}`"),
                ));
            }
        }
        Some(Value::String(cmd)) => {
            let known = COMMANDS.join(", ");
            return Err(fail(
                ErrorKind::UnknownCommand,
                format!("unknown command `{cmd}` (known: {known})"),
            ));
        }
        _ => return Err(fail(ErrorKind::BadRequest, "the request has no `cmd` string".into())),
    }
    serde_json::from_value::<Request>(Value::Object(object))
        .map(|request| (id, request))
        .map_err(|err| fail(ErrorKind::BadRequest, format!("bad arguments: {err}")))
}

/// Reads any JSON value, as `serde_json::Value` does, but fails on the first object that holds
/// a key twice, at any depth, and records that key in `repeated`.
struct StrictValue<'a> {
    repeated: &'a RefCell<Option<String>>,
}

impl<'de> DeserializeSeed<'de> for StrictValue<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(StrictValue { repeated: self.repeated })? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                let error = de::Error::custom(format!("the key `{key}` is given twice"));
                *self.repeated.borrow_mut() = Some(key);
                return Err(error);
            }
            let value = map.next_value_seed(StrictValue { repeated: self.repeated })?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

/// The argument fields of each command.
fn arguments_of(cmd: &str) -> &'static [&'static str] {
    match cmd {
        "restart" | "stop" | "start" | "attach" => &["target"],
        "scale" => &["counts"],
        "signal" => &["target", "signal"],
        _ => &[],
    }
}

/// A success answer: `{"v":1,"id":N,"ok":true, ...fields}`.
pub fn ok_response(id: Option<u64>, fields: Map<String, Value>) -> Value {
    let mut object = envelope(id);
    object.insert("ok".into(), true.into());
    object.extend(fields);
    Value::Object(object)
}

/// An error answer: `{"v":1,"id":N,"ok":false,"kind":"...","error":"..."}`.
pub fn error_response(id: Option<u64>, failure: &Failure) -> Value {
    let mut object = envelope(id);
    object.insert("ok".into(), false.into());
    object.insert("kind".into(), failure.kind.as_str().into());
    object.insert("error".into(), failure.message.clone().into());
    Value::Object(object)
}

fn envelope(id: Option<u64>) -> Map<String, Value> {
    let mut object = Map::new();
    object.insert("v".into(), VERSION.into());
    object.insert("id".into(), id.map_or(Value::Null, Value::from));
    object
}

/// Keys written first, in this order, so every line starts with its envelope and is easy to
/// read; the other keys follow sorted.
const LEADING_KEYS: [&str; 4] = ["v", "id", "event", "ok"];

/// A message as one line, newline included.
pub fn line(value: &Value) -> String {
    let Value::Object(object) = value else {
        let mut text = value.to_string();
        text.push('\n');
        return text;
    };
    let leading = LEADING_KEYS.iter().filter_map(|k| object.get_key_value(*k));
    let rest = object.iter().filter(|(k, _)| !LEADING_KEYS.contains(&k.as_str()));
    let mut text = String::from("{");
    for (n, (key, value)) in leading.chain(rest).enumerate() {
        if n > 0 {
            text.push(',');
        }
        text.push_str(&Value::String(key.clone()).to_string());
        text.push(':');
        text.push_str(&value.to_string());
    }
    text.push_str("}\n");
    text
}

/// One instance in a `ps` answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProcessInfo {
    /// `web.1`.
    pub process: String,
    /// The process type: `web`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The instance number, from 1.
    pub index: u32,
    /// The program's pid while it has one.
    pub pid: Option<u32>,
    /// supervisord's state name, lower-case: `running`.
    pub state: String,
    /// How long the current process has been up (0 without one).
    pub uptime_seconds: f64,
    /// Starts after the first.
    pub restarts: u32,
    /// Failed starts in a row.
    pub retries: u32,
    /// The exit code of the last process, if it exited.
    pub last_exit_code: Option<i32>,
    /// The signal that killed the last process (`SIGKILL`), if one did.
    pub last_exit_signal: Option<String>,
    /// Why the last start failed, if it failed to spawn.
    pub spawn_error: Option<String>,
    /// User plus system CPU seconds of the live processes of the instance's tree.
    pub cpu_seconds: Option<f64>,
    /// Resident memory of the instance's tree, in bytes.
    pub rss_bytes: Option<u64>,
    /// How many processes the instance's tree holds.
    pub tree_processes: Option<u32>,
    /// Whether it passed its readiness check; `None` when its type has none.
    #[serde(default)]
    pub ready: Option<bool>,
    /// What it waits for before it is spawned, or before it counts as ready.
    #[serde(default)]
    pub waiting_for: Option<WaitingFor>,
}

/// What an instance waits for, in a `ps` answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitingFor {
    /// `WAITING`: these dependencies, whose condition is not met yet.
    Dependencies(Vec<DependencyInfo>),
    /// `STARTING` with a readiness check: the check, for at most this long.
    ReadyCheck { seconds_left: Option<f64> },
}

/// One dependency in a `ps` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DependencyInfo {
    /// The process type waited for.
    #[serde(rename = "type")]
    pub kind: String,
    /// `started`, `ready` or `exited`.
    pub condition: String,
}

/// The app's totals in a `ps` answer.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    /// Instances listed.
    pub instances: u32,
    /// Instances with a live process.
    pub running: u32,
    /// Processes in all the trees.
    pub processes: u32,
    /// CPU seconds, summed.
    pub cpu_seconds: f64,
    /// Resident memory, summed.
    pub rss_bytes: u64,
}

/// About the procman that answers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServerInfo {
    pub pid: u32,
    pub version: String,
    pub uptime_seconds: f64,
    /// What holds the app together: `cgroup`, `namespace`, `subreaper` or `process-groups`
    /// (docs/guarantees.md).
    #[serde(default)]
    pub containment: Option<String>,
    /// The app's cgroup directory, in `cgroup` containment.
    #[serde(default)]
    pub cgroup: Option<String>,
}

/// The fields of a `ps` answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PsReply {
    pub procman: ServerInfo,
    pub processes: Vec<ProcessInfo>,
    pub total: Totals,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind_of(text: &str) -> (Option<u64>, ErrorKind) {
        match parse_request(text) {
            Err((id, failure)) => (id, failure.kind),
            Ok(parsed) => panic!("{text} parsed as {parsed:?}"),
        }
    }

    #[test]
    fn control_requests_parse_with_their_arguments() {
        let parsed = parse_request(r#"{"v":1,"id":7,"cmd":"restart","target":"web.2"}"#);
        assert_eq!(parsed, Ok((Some(7), Request::Restart { target: "web.2".into() })));
        let parsed = parse_request(r#"{"v":1,"cmd":"scale","counts":{"web":3,"worker":0}}"#);
        let counts = BTreeMap::from([("web".to_owned(), 3), ("worker".to_owned(), 0)]);
        assert_eq!(parsed, Ok((None, Request::Scale { counts })));
        assert_eq!(
            parse_request(r#"{"v":1,"id":1,"cmd":"stop-all"}"#),
            Ok((Some(1), Request::StopAll))
        );
    }

    #[test]
    fn control_requests_round_trip_through_their_lines() {
        let requests = [
            Request::Ps,
            Request::Signal { target: "web".into(), signal: "USR1".into() },
            Request::Scale { counts: BTreeMap::from([("web".to_owned(), 2)]) },
            Request::Events,
            Request::Reload,
        ];
        for request in requests {
            let text = request.to_line(42);
            assert!(text.ends_with('\n'));
            assert_eq!(parse_request(text.trim_end()), Ok((Some(42), request)));
        }
    }

    #[test]
    fn control_bad_requests_get_precise_errors_with_their_id() {
        assert_eq!(kind_of("nonsense"), (None, ErrorKind::BadRequest));
        assert_eq!(kind_of("[1]"), (None, ErrorKind::BadRequest));
        assert_eq!(
            kind_of(r#"{"v":2,"id":3,"cmd":"ps"}"#),
            (Some(3), ErrorKind::UnsupportedVersion)
        );
        assert_eq!(kind_of(r#"{"id":3,"cmd":"ps"}"#), (Some(3), ErrorKind::BadRequest));
        assert_eq!(
            kind_of(r#"{"v":1,"id":4,"cmd":"dance"}"#),
            (Some(4), ErrorKind::UnknownCommand)
        );
        assert_eq!(kind_of(r#"{"v":1,"id":5,"cmd":"restart"}"#), (Some(5), ErrorKind::BadRequest));
        assert_eq!(
            kind_of(r#"{"v":1,"id":6,"cmd":"ps","extra":true}"#),
            (Some(6), ErrorKind::BadRequest)
        );
        assert_eq!(
            kind_of(r#"{"v":1,"id":8,"cmd":"scale","counts":{"web":-1}}"#),
            (Some(8), ErrorKind::BadRequest)
        );
        assert_eq!(kind_of(r#"{"v":1,"id":"x","cmd":"ps"}"#), (None, ErrorKind::BadRequest));
    }

    #[test]
    fn control_requests_with_a_key_given_twice_are_refused() {
        for text in [
            r#"{"v":1,"id":1,"cmd":"stop","cmd":"ps"}"#,
            r#"{"v":1,"id":1,"id":2,"cmd":"ps"}"#,
            r#"{"v":1,"v":1,"id":1,"cmd":"ps"}"#,
            r#"{"v":1,"id":1,"cmd":"restart","target":"web","target":"worker"}"#,
            r#"{"v":1,"id":1,"cmd":"scale","counts":{"web":1,"web":100000}}"#,
            r#"{"v":1,"id":1,"cmd":"ps","x":[{"a":1,"a":2}]}"#,
        ] {
            match parse_request(text) {
                Err((None, failure)) => {
                    assert_eq!(failure.kind, ErrorKind::BadRequest, "{text}");
                    assert!(failure.message.contains("is given twice"), "{text}: {failure:?}");
                }
                other => panic!("{text} gave {other:?}"),
            }
        }
        let failure = parse_request(r#"{"v":1,"cmd":"ps","cmd":"ps"}"#).err().map(|(_, f)| f);
        assert_eq!(
            failure.map(|f| f.message).as_deref(),
            Some("the key `cmd` is given twice in the request; give each key once")
        );
        // The same key in different objects is fine, and so is trailing whitespace.
        let parsed = parse_request("{\"v\":1,\"cmd\":\"scale\",\"counts\":{\"v\":1}} \t");
        let counts = BTreeMap::from([("v".to_owned(), 1)]);
        assert_eq!(parsed, Ok((None, Request::Scale { counts })));
        assert_eq!(kind_of(r#"{"v":1,"cmd":"ps"} {}"#), (None, ErrorKind::BadRequest));
    }

    #[test]
    fn control_responses_carry_the_envelope() {
        let failure = Failure::new(ErrorKind::Refused, "cannot stop `web.1`: it is stopped");
        let value = error_response(Some(9), &failure);
        assert_eq!(
            line(&value),
            "{\"v\":1,\"id\":9,\"ok\":false,\"error\":\"cannot stop `web.1`: it is stopped\",\
             \"kind\":\"refused\"}\n"
        );
        let value = ok_response(None, Map::new());
        assert_eq!(line(&value), "{\"v\":1,\"id\":null,\"ok\":true}\n");
    }
}
