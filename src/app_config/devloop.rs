//! The dev loop's keys of `procman.json`: a process type's `"watch"`, `"watch_ignore"` and
//! `"watch_debounce"`, and the top-level `"log_dir"`, `"log_max_size"` and `"log_keep"`.
//! Each value is checked as it is parsed, as the other keys are (`raw.rs`).

use super::*;
use crate::plan::devloop::{
    LogSettings, MAX_LOG_KEEP, WatchSettings, check_pattern, glob_set, parse_size, prune_patterns,
};

/// The top-level keys, for "did you mean".
pub(super) const TOP_KEYS: &[&str] =
    &["$schema", "processes", "log_dir", "log_max_size", "log_keep"];

/// A process type's watch keys, as read: `None` when no pattern is given, since nothing is
/// watched then (`"watch_ignore"` and `"watch_debounce"` only refine a `"watch"`).
pub(super) fn watch_settings(
    watch: Option<Patterns<false>>,
    ignore: Option<Patterns<true>>,
    debounce: Option<DurationValue>,
) -> Option<WatchSettings> {
    let patterns = watch.map(|p| p.0).unwrap_or_default();
    if patterns.is_empty() {
        return None;
    }
    Some(WatchSettings {
        patterns,
        ignore: ignore.map(|p| p.0).unwrap_or_default(),
        debounce: debounce.map(|d| d.0),
    })
}

/// The top-level log keys, as read.
pub(super) fn log_settings(
    dir: Option<Text>,
    max_size: Option<SizeValue>,
    keep: Option<Count<{ MAX_LOG_KEEP as u64 }>>,
) -> LogSettings {
    LogSettings {
        dir: dir.map(|d| PathBuf::from(d.0)),
        max_size: max_size.map(|s| s.0),
        keep: keep.map(|k| k.0),
    }
}

/// `["src/**/*.rb", "config/*.yml"]`, or one pattern as a string; each checked by
/// [`check_pattern`], then the list compiled whole as the watch compiles it (`IGNORE`: with
/// the directories it prunes too), since a set can fail where each of its globs did not.
pub(super) struct Patterns<const IGNORE: bool>(Vec<String>);

impl<const IGNORE: bool> Patterns<IGNORE> {
    fn checked<E: de::Error>(patterns: Vec<String>) -> Result<Patterns<IGNORE>, E> {
        if IGNORE { glob_set(&prune_patterns(&patterns)) } else { glob_set(&patterns) }
            .map_err(E::custom)?;
        Ok(Patterns(patterns))
    }
}

impl<'de, const IGNORE: bool> Deserialize<'de> for Patterns<IGNORE> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Patterns<IGNORE>, D::Error> {
        struct V<const IGNORE: bool>;
        impl<'de, const IGNORE: bool> Visitor<'de> for V<IGNORE> {
            type Value = Patterns<IGNORE>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of globs such as [\"src/**/*.rb\", \"config/*.yml\"]")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Patterns<IGNORE>, E> {
                check_pattern(text).map_err(E::custom)?;
                Patterns::checked(vec![text.to_owned()])
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Patterns<IGNORE>, A::Error> {
                let mut out = Vec::new();
                while let Some(Pattern(pattern)) = seq.next_element()? {
                    out.push(pattern);
                }
                Patterns::checked(out)
            }
        }
        deserializer.deserialize_any(V::<IGNORE>)
    }
}

struct Pattern(String);

impl<'de> Deserialize<'de> for Pattern {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Pattern, D::Error> {
        let text = String::deserialize(deserializer)?;
        check_pattern(&text).map_err(de::Error::custom)?;
        Ok(Pattern(text))
    }
}

/// `"10M"`, `"512K"`, or a number of bytes.
pub(super) struct SizeValue(u64);

impl<'de> Deserialize<'de> for SizeValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<SizeValue, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SizeValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a size such as \"10M\" or \"512K\", or a number of bytes")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<SizeValue, E> {
                parse_size(text).map(SizeValue).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<SizeValue, E> {
                self.visit_str(&n.to_string())
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<SizeValue, E> {
                Err(E::custom(format!("{n} is negative")))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<SizeValue, E> {
                Err(E::custom(format!("{n} is not a whole number of bytes")))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// What to do about an error at one of these keys, if it is one.
pub(super) fn help_for(key: &str) -> Option<&'static str> {
    Some(match key {
        "watch" | "watch_ignore" => {
            "use a list of globs relative to the type's cwd, e.g. [\"src/**/*.rb\", \
             \"config/*.yml\"]"
        }
        "watch_debounce" => "use a duration such as \"300ms\" or \"1s\"",
        "log_dir" => "use a directory, relative to the app root, e.g. \"log\"",
        "log_max_size" => {
            "use a size from \"64K\" to \"1T\", such as \"10M\" or \"512K\", or a number of bytes"
        }
        "log_keep" => "use a whole number of rotated files to keep, from 0 to 100, e.g. 5",
        _ => return None,
    })
}

#[cfg(test)]
mod tests;
