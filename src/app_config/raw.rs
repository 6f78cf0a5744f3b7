//! The config file as read: serde types that check each value as it is parsed, so every error
//! carries the JSON path of the value that caused it.

use super::*;
use crate::plan::devloop::MAX_LOG_KEEP;

mod startup;

use startup::{DependsOnValue, ReadyValue};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFile {
    /// For editors: the JSON Schema's location. Ignored.
    #[serde(rename = "$schema")]
    #[allow(dead_code)]
    schema: Option<String>,
    #[serde(default)]
    pub(super) processes: Processes,
    pub(super) log_dir: Option<Text>,
    pub(super) log_max_size: Option<SizeValue>,
    pub(super) log_keep: Option<Count<{ MAX_LOG_KEEP as u64 }>>,
}

/// The `processes` object, in file order, each name once.
#[derive(Default)]
pub(super) struct Processes(pub(super) Vec<(String, RawProcess)>);

impl<'de> Deserialize<'de> for Processes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Processes, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Processes;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object whose keys are process types")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Processes, A::Error> {
                let mut seen = HashSet::new();
                let mut out = Vec::new();
                while let Some(ProcessName(name)) = map.next_key()? {
                    if !seen.insert(name.clone()) {
                        return Err(de::Error::custom(format!(
                            "the process type {} is given twice",
                            quoted(&name)
                        )));
                    }
                    let process: RawProcess = map.next_value()?;
                    out.push((name, process));
                }
                Ok(Processes(out))
            }
        }
        deserializer.deserialize_map(V)
    }
}

/// A process type's name: the Procfile's grammar, letters, digits, `_` and `-`.
pub(super) struct ProcessName(String);

impl<'de> Deserialize<'de> for ProcessName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<ProcessName, D::Error> {
        let name = String::deserialize(deserializer)?;
        if name.is_empty()
            || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(de::Error::custom(format!(
                "{} is not a process type name (use ASCII letters, digits, `_` and `-`, as in \
                 a Procfile)",
                quoted(&name)
            )));
        }
        Ok(ProcessName(name))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProcess {
    command: Option<Text>,
    instances: Option<Count<{ MAX_INSTANCES as u64 }>>,
    cwd: Option<Text>,
    env: Option<Env>,
    umask: Option<Umask>,
    stop_signal: Option<SignalValue>,
    stop_timeout: Option<DurationValue>,
    restart: Option<RestartValue>,
    expected_exit_codes: Option<Vec<ExitCode>>,
    max_restarts: Option<Count<{ u32::MAX as u64 }>>,
    backoff: Option<BackoffValue>,
    start_grace: Option<DurationValue>,
    tty: Option<bool>,
    ready: Option<ReadyValue>,
    depends_on: Option<DependsOnValue>,
    watch: Option<Patterns<false>>,
    watch_ignore: Option<Patterns<true>>,
    watch_debounce: Option<DurationValue>,
}

impl RawProcess {
    pub(super) fn into_config(self, name: String) -> ProcessConfig {
        ProcessConfig {
            name,
            command: self.command.map(|c| c.0),
            instances: self.instances.map(|c| c.0),
            cwd: self.cwd.map(|c| PathBuf::from(c.0)),
            env: self.env.map(|e| e.0).unwrap_or_default(),
            watch: watch_settings(self.watch, self.watch_ignore, self.watch_debounce),
            settings: Settings {
                stop_signal: self.stop_signal.map(|s| s.0),
                stop_timeout: self.stop_timeout.map(|d| d.0),
                restart: self.restart.map(|r| r.0),
                max_retries: self.max_restarts.map(|c| c.0),
                backoff: self.backoff.map(|b| b.0),
                start_grace: self.start_grace.map(|d| d.0),
                expected_exit_codes: self
                    .expected_exit_codes
                    .map(|codes| codes.into_iter().map(|c| c.0).collect()),
                umask: self.umask.map(|u| u.0),
                tty: self.tty,
                ready: self.ready.map(|r| r.0),
                depends_on: self.depends_on.map(|d| d.0).unwrap_or_default(),
            },
        }
    }
}

/// A non-blank string without NUL bytes.
pub(super) struct Text(pub(super) String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Text, D::Error> {
        let text = String::deserialize(deserializer)?;
        if text.trim().is_empty() {
            return Err(de::Error::custom("it cannot be empty"));
        }
        if text.contains('\0') {
            return Err(de::Error::custom("it cannot contain a NUL character"));
        }
        Ok(Text(text))
    }
}

/// A whole number from 0 to `MAX`.
pub(super) struct Count<const MAX: u64>(pub(super) u32);

impl<'de, const MAX: u64> Deserialize<'de> for Count<MAX> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Count<MAX>, D::Error> {
        struct V<const M: u64>;
        impl<'de, const M: u64> Visitor<'de> for V<M> {
            type Value = Count<M>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a whole number from 0 to {M}")
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Count<M>, E> {
                match u32::try_from(n) {
                    Ok(count) if n <= M => Ok(Count(count)),
                    _ => Err(E::custom(format!("{n} is too large (at most {M})"))),
                }
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Count<M>, E> {
                match u64::try_from(n) {
                    Ok(n) => self.visit_u64(n),
                    Err(_) => Err(E::custom(format!("{n} is negative"))),
                }
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<Count<M>, E> {
                Err(E::custom(format!("{n} is not a whole number")))
            }
        }
        deserializer.deserialize_u64(V::<MAX>)
    }
}

/// `{"KEY": "value"}`, in file order; later duplicates win.
pub(super) struct Env(Vec<(String, String)>);

impl<'de> Deserialize<'de> for Env {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Env, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Env;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of strings, e.g. {\"RUST_LOG\": \"info\"}")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Env, A::Error> {
                let mut out: Vec<(String, String)> = Vec::new();
                while let Some(EnvKey(key)) = map.next_key()? {
                    let EnvValue(value) = map.next_value()?;
                    match out.iter_mut().find(|(old, _)| *old == key) {
                        Some(slot) => slot.1 = value,
                        None => out.push((key, value)),
                    }
                }
                Ok(Env(out))
            }
        }
        deserializer.deserialize_map(V)
    }
}

pub(super) struct EnvKey(String);

impl<'de> Deserialize<'de> for EnvKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<EnvKey, D::Error> {
        let key = String::deserialize(deserializer)?;
        if key.is_empty() || key.contains(['=', '\0']) {
            return Err(de::Error::custom(format!(
                "{} is not a variable name (it must be non-empty, without `=`)",
                quoted(&key)
            )));
        }
        if key == "PORT" || key == "PS" {
            return Err(de::Error::custom(format!(
                "{key} is set by procman for each instance (PORT = base port + 100 × position + \
                 instance − 1); change the base port with -p or PORT in .env instead"
            )));
        }
        Ok(EnvKey(key))
    }
}

pub(super) struct EnvValue(String);

impl<'de> Deserialize<'de> for EnvValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<EnvValue, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = EnvValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string (quote numbers and booleans: \"3\", \"true\")")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<EnvValue, E> {
                if text.contains('\0') {
                    return Err(E::custom("an environment value cannot contain a NUL character"));
                }
                Ok(EnvValue(text.to_owned()))
            }
        }
        deserializer.deserialize_str(V)
    }
}

/// `"022"` or `22` (digits read as octal either way), at most `777`.
pub(super) struct Umask(u32);

impl<'de> Deserialize<'de> for Umask {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Umask, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Umask;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an octal umask such as \"022\"")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Umask, E> {
                let digits = text.trim();
                let digits = digits.strip_prefix("0o").unwrap_or(digits);
                let bad = || E::custom(format!("{} is not an octal umask", quoted(text)));
                if digits.is_empty() || digits.len() > 4 {
                    return Err(bad());
                }
                let value = u32::from_str_radix(digits, 8).map_err(|_| bad())?;
                if value > 0o777 {
                    return Err(E::custom(format!("{} is past 777", quoted(text))));
                }
                Ok(Umask(value))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Umask, E> {
                self.visit_str(&n.to_string())
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Umask, E> {
                Err(E::custom(format!("{n} is not an octal umask")))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<Umask, E> {
                Err(E::custom(format!("{n} is not an octal umask")))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// `"TERM"`, `"SIGINT"` or a number.
pub(super) struct SignalValue(Signal);

impl<'de> Deserialize<'de> for SignalValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<SignalValue, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SignalValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a signal name such as \"TERM\", or its number")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<SignalValue, E> {
                text.parse::<Signal>()
                    .map(SignalValue)
                    .map_err(|_| E::custom(format!("{} is not a signal", quoted(text))))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<SignalValue, E> {
                self.visit_str(&n.to_string())
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<SignalValue, E> {
                Err(E::custom(format!("{n} is not a signal")))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// `"500ms"`, `"2s"`, `"1m"`, or a number of seconds.
pub(super) struct DurationValue(pub(super) Duration);

impl<'de> Deserialize<'de> for DurationValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<DurationValue, D::Error> {
        deserializer.deserialize_any(DurationVisitor).map(DurationValue)
    }
}

pub(super) struct DurationVisitor;

impl<'de> Visitor<'de> for DurationVisitor {
    type Value = Duration;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a duration such as \"500ms\" or \"2s\", or a number of seconds")
    }
    fn visit_str<E: de::Error>(self, text: &str) -> Result<Duration, E> {
        parse_duration(text).map_err(|message| {
            if message.ends_with("out of range") {
                E::custom(format!("{} is out of range (at most a year)", quoted(text)))
            } else {
                E::custom(format!("{} is not a duration (units: ms, s, m, h)", quoted(text)))
            }
        })
    }
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Duration, E> {
        self.visit_f64(n as f64)
    }
    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Duration, E> {
        self.visit_f64(n as f64)
    }
    fn visit_f64<E: de::Error>(self, seconds: f64) -> Result<Duration, E> {
        if seconds < 0.0 {
            return Err(E::custom(format!("{seconds} is negative")));
        }
        if !seconds.is_finite() || seconds > MAX_SECONDS {
            return Err(E::custom(format!("{seconds} is out of range (at most a year)")));
        }
        Ok(Duration::from_secs_f64(seconds))
    }
}

/// `"never"`, `"on-failure"`, `"always"`.
pub(super) struct RestartValue(RestartPolicy);

impl<'de> Deserialize<'de> for RestartValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<RestartValue, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RestartValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("\"never\", \"on-failure\" or \"always\"")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<RestartValue, E> {
                parse_restart(text)
                    .map(RestartValue)
                    .map_err(|_| E::custom(format!("{} is not a restart policy", quoted(text))))
            }
        }
        deserializer.deserialize_str(V)
    }
}

/// An exit code, 0 to 255.
pub(super) struct ExitCode(i32);

impl<'de> Deserialize<'de> for ExitCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<ExitCode, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ExitCode;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an exit code from 0 to 255")
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<ExitCode, E> {
                match i32::try_from(n) {
                    Ok(code) if code <= 255 => Ok(ExitCode(code)),
                    _ => Err(E::custom(format!("{n} is not an exit code (0 to 255)"))),
                }
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<ExitCode, E> {
                Err(E::custom(format!("{n} is not an exit code (0 to 255)")))
            }
        }
        deserializer.deserialize_u64(V)
    }
}

/// A duration (the first delay, doubling up to a cap, as `--backoff`), or
/// `{"initial": "1s", "factor": 2, "max": "30s"}`.
pub(super) struct BackoffValue(Backoff);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BackoffObject {
    initial: Option<DurationValue>,
    factor: Option<f64>,
    max: Option<DurationValue>,
}

impl<'de> Deserialize<'de> for BackoffValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<BackoffValue, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = BackoffValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a duration such as \"1s\", or {\"initial\": \"1s\", \"factor\": 2, \"max\": \
                     \"30s\"}",
                )
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<BackoffValue, E> {
                DurationVisitor.visit_str(text).map(|d| BackoffValue(backoff_from(d)))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<BackoffValue, E> {
                DurationVisitor.visit_u64(n).map(|d| BackoffValue(backoff_from(d)))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<BackoffValue, E> {
                DurationVisitor.visit_i64(n).map(|d| BackoffValue(backoff_from(d)))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<BackoffValue, E> {
                DurationVisitor.visit_f64(n).map(|d| BackoffValue(backoff_from(d)))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<BackoffValue, A::Error> {
                let object =
                    BackoffObject::deserialize(de::value::MapAccessDeserializer::new(map))?;
                let initial = object.initial.map_or(Backoff::default().initial, |d| d.0);
                let factor = object.factor.unwrap_or(2.0);
                if !factor.is_finite() || !(1.0..=100.0).contains(&factor) {
                    return Err(de::Error::custom(format!(
                        "the factor {factor} is out of range (1 to 100; 1 keeps the delay fixed)"
                    )));
                }
                let max = object.max.map_or_else(|| backoff_from(initial).max, |d| d.0);
                if max < initial {
                    return Err(de::Error::custom(format!(
                        "max ({}) is shorter than initial ({})",
                        show(max),
                        show(initial)
                    )));
                }
                Ok(BackoffValue(Backoff { initial, factor, max }))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, _seq: A) -> Result<BackoffValue, A::Error> {
                Err(de::Error::invalid_type(de::Unexpected::Seq, &self))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// `1.5s`, `250ms`.
pub(super) fn show(duration: Duration) -> String {
    if duration.subsec_millis() != 0 && duration.as_secs() == 0 {
        format!("{}ms", duration.as_millis())
    } else {
        format!("{}s", duration.as_secs_f64())
    }
}
