//! `"ready"` and `"depends_on"` as read: each value checked while it is parsed, so an error
//! carries the JSON path of the value that caused it (`processes.web.ready.port`).

use supervise::Condition;

use super::*;
use crate::plan::startup::{DependsOn, LogPattern, Ready, ReadyCheck, ReadyPort};

/// `{"log": "REGEX"}`, `{"port": 5432}`, `{"port": "$PORT"}` or `{"command": "pg_isready"}`,
/// each with an optional `"interval"` and `"timeout"`.
pub(in crate::app_config) struct ReadyValue(pub(in crate::app_config) Ready);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReadyObject {
    log: Option<LogValue>,
    port: Option<PortValue>,
    command: Option<Text>,
    interval: Option<DurationValue>,
    timeout: Option<DurationValue>,
}

impl<'de> Deserialize<'de> for ReadyValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<ReadyValue, D::Error> {
        let object = ReadyObject::deserialize(deserializer)?;
        let mut checks = Vec::new();
        checks.extend(object.log.map(|log| ReadyCheck::Log(log.0)));
        checks.extend(object.port.map(|port| ReadyCheck::Port(port.0)));
        checks.extend(object.command.map(|command| ReadyCheck::Command(command.0)));
        let check = match checks.len() {
            1 => checks.remove(0),
            0 => {
                return Err(de::Error::custom(
                    "it needs one check: \"log\", \"port\" or \"command\"",
                ));
            }
            _ => {
                let kinds: Vec<&str> = checks.iter().map(ReadyCheck::kind).collect();
                return Err(de::Error::custom(format!(
                    "it has {} checks ({}); give one",
                    checks.len(),
                    kinds.join(", ")
                )));
            }
        };
        let positive = |name: &str, value: Option<DurationValue>| match value {
            Some(DurationValue(duration)) if duration.is_zero() => {
                Err(de::Error::custom(format!("the {name} must be above zero")))
            }
            other => Ok(other.map(|d| d.0)),
        };
        let interval = positive("interval", object.interval)?;
        let timeout = positive("timeout", object.timeout)?;
        Ok(ReadyValue(Ready { check, interval, timeout }))
    }
}

/// A regular expression, compiled as it is read.
struct LogValue(LogPattern);

impl<'de> Deserialize<'de> for LogValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<LogValue, D::Error> {
        let Text(pattern) = Text::deserialize(deserializer)?;
        LogPattern::new(&pattern).map(LogValue).map_err(|message| {
            // The regex crate draws the pattern with a caret over several lines; its last line
            // says what is wrong.
            let why = message.lines().last().unwrap_or_default().trim();
            let why = why.strip_prefix("error: ").unwrap_or(why);
            de::Error::custom(format!("{} is not a regular expression: {why}", quoted(&pattern)))
        })
    }
}

/// A port number from 1 to 65535, or `"$NAME"` (`"${NAME}"`): a variable of each instance's
/// environment.
struct PortValue(ReadyPort);

impl<'de> Deserialize<'de> for PortValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<PortValue, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = PortValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a port number such as 5432, or a variable such as \"$PORT\"")
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<PortValue, E> {
                match u16::try_from(n) {
                    Ok(port) if port > 0 => Ok(PortValue(ReadyPort::Number(port))),
                    _ => Err(E::custom(format!("{n} is not a port number (1 to 65535)"))),
                }
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<PortValue, E> {
                Err(E::custom(format!("{n} is not a port number (1 to 65535)")))
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<PortValue, E> {
                let name = text.strip_prefix("${").and_then(|rest| rest.strip_suffix('}'));
                let name = name.or_else(|| text.strip_prefix('$')).unwrap_or_default();
                let valid = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if valid {
                    Ok(PortValue(ReadyPort::Variable(name.to_owned())))
                } else {
                    Err(E::custom(format!(
                        "{} is neither a port number nor a variable such as \"$PORT\"",
                        quoted(text)
                    )))
                }
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// `{"db": "ready", "migrate": "exited"}`, or `["db"]` (each `"started"`).
pub(in crate::app_config) struct DependsOnValue(pub(in crate::app_config) Vec<DependsOn>);

impl<'de> Deserialize<'de> for DependsOnValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<DependsOnValue, D::Error> {
        struct V;
        impl V {
            fn push<E: de::Error>(
                out: &mut Vec<DependsOn>,
                name: String,
                condition: Condition,
            ) -> Result<(), E> {
                if out.iter().any(|d| d.name == name) {
                    return Err(E::custom(format!("{} is named twice", quoted(&name))));
                }
                out.push(DependsOn { name, condition });
                Ok(())
            }
        }
        impl<'de> Visitor<'de> for V {
            type Value = DependsOnValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "an object such as {\"db\": \"ready\", \"migrate\": \"exited\"}, or a list of \
                     process types such as [\"db\"]",
                )
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<DependsOnValue, A::Error> {
                let mut out = Vec::new();
                while let Some(ProcessName(name)) = map.next_key()? {
                    let ConditionValue(condition) = map.next_value()?;
                    V::push(&mut out, name, condition)?;
                }
                Ok(DependsOnValue(out))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<DependsOnValue, A::Error> {
                let mut out = Vec::new();
                while let Some(ProcessName(name)) = seq.next_element()? {
                    V::push(&mut out, name, Condition::Started)?;
                }
                Ok(DependsOnValue(out))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// `"started"`, `"ready"` or `"exited"`.
struct ConditionValue(Condition);

impl<'de> Deserialize<'de> for ConditionValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<ConditionValue, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ConditionValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("\"started\", \"ready\" or \"exited\"")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<ConditionValue, E> {
                [Condition::Started, Condition::Ready, Condition::Exited]
                    .into_iter()
                    .find(|condition| condition.name() == text)
                    .map(ConditionValue)
                    .ok_or_else(|| {
                        E::custom(format!(
                            "{} is not a condition (use \"started\", \"ready\" or \"exited\")",
                            quoted(text)
                        ))
                    })
            }
        }
        deserializer.deserialize_str(V)
    }
}
