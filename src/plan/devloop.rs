//! The settings of the dev loop's two file features, as `procman.json` and the options write
//! them: a process type's `"watch"` (restart on change) and the log files (`--log-dir`,
//! `"log_dir"`). What they do at run time is in `commands/start/watch.rs` and
//! `output/logfile.rs`.

use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use procman::diagnostic::fragment;

/// How long a type's files must stay quiet before a change restarts it (`"watch_debounce"`).
pub(crate) const DEFAULT_DEBOUNCE: Duration = Duration::from_millis(300);
/// A log file's size at which it is rotated (`--log-max-size`, `"log_max_size"`).
pub(crate) const DEFAULT_LOG_MAX_SIZE: u64 = 10 * 1024 * 1024;
/// How many rotated files are kept beside the live one (`--log-keep`, `"log_keep"`).
pub(crate) const DEFAULT_LOG_KEEP: u32 = 5;
/// The most rotated files kept: a rotation renames each of them, so it bounds a rotation's cost.
pub(crate) const MAX_LOG_KEEP: u32 = 100;
/// The smallest `--log-max-size`: a rotation then comes at most once per ~1000 lines, so
/// rotating (up to [`MAX_LOG_KEEP`] renames) never holds the run's loop for long.
pub(crate) const MIN_LOG_MAX_SIZE: u64 = 64 << 10;
/// The largest `--log-max-size`.
pub(crate) const MAX_LOG_MAX_SIZE: u64 = 1 << 40;

/// A process type's `"watch"`: a change to a file matching `patterns` and none of `ignore`
/// restarts its instances, once its files have been quiet for `debounce`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct WatchSettings {
    /// Globs relative to the type's working directory (`src/**/*.rb`), checked by
    /// [`check_pattern`].
    pub(crate) patterns: Vec<String>,
    /// Globs of files (or directories, with everything below them) that never count.
    pub(crate) ignore: Vec<String>,
    /// `None`: [`DEFAULT_DEBOUNCE`].
    pub(crate) debounce: Option<Duration>,
}

impl WatchSettings {
    /// The debounce, with its default.
    pub(crate) fn debounce(&self) -> Duration {
        self.debounce.unwrap_or(DEFAULT_DEBOUNCE)
    }
}

/// The log files as `procman.json` sets them (top-level keys); the options override each.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct LogSettings {
    /// `"log_dir"`, relative to the app root once applied to a plan.
    pub(crate) dir: Option<PathBuf>,
    /// `"log_max_size"`, in bytes.
    pub(crate) max_size: Option<u64>,
    /// `"log_keep"`.
    pub(crate) keep: Option<u32>,
}

/// How deep `{a,{b,c}}` alternatives may nest in a glob. globset turns each level into nested
/// regex groups, and the regex parser refuses past its own limit (about 120 levels): checked
/// here, with a reason in words, rather than found as a regex error.
pub(crate) const MAX_BRACE_NESTING: usize = 32;

/// Checks a `"watch"` or `"watch_ignore"` glob: relative to the type's directory and inside it
/// (no leading `/`, no `..`), and a glob that compiles as [`glob_set`] compiles it at run time.
pub(crate) fn check_pattern(text: &str) -> Result<(), String> {
    if text.trim().is_empty() {
        return Err("a pattern cannot be empty".to_owned());
    }
    if text.contains('\0') {
        return Err("a pattern cannot contain a NUL character".to_owned());
    }
    if Path::new(text).is_absolute() {
        return Err(format!(
            "`{}` is absolute: patterns are relative to the process type's cwd",
            fragment(text)
        ));
    }
    if Path::new(text).components().any(|c| c == Component::ParentDir) {
        return Err(format!(
            "`{}` leaves the process type's cwd (`..`): watch files inside it, or give the type \
             a cwd that holds them",
            fragment(text)
        ));
    }
    glob_set(std::slice::from_ref(&text)).map(|_| ())
}

/// The one way procman compiles globs, at validation and at run time alike: every pattern
/// parsed and its nesting bounded, then the set built (globset compiles its regexes here, and
/// can fail where the parse did not). The error names the pattern and why.
pub(crate) fn glob_set<S: AsRef<str>>(patterns: &[S]) -> Result<globset::GlobSet, String> {
    let mut builder = globset::GlobSetBuilder::new();
    for pattern in patterns {
        let text = pattern.as_ref();
        let glob =
            glob(text).map_err(|e| format!("`{}` is not a glob: {}", fragment(text), e.kind()))?;
        if brace_nesting(text) > MAX_BRACE_NESTING {
            return Err(format!(
                "`{}` is not a glob procman can use: its {{...}} alternatives are nested more \
                 than {MAX_BRACE_NESTING} levels deep",
                fragment(text)
            ));
        }
        builder.add(glob);
    }
    builder.build().map_err(|error| {
        // The regex error can quote the whole generated regex over many lines: its first line.
        let why = error.kind().to_string();
        let why = why.lines().next().unwrap_or_default();
        match patterns {
            [one] => format!(
                "`{}` is not a glob procman can use: {}",
                fragment(one.as_ref()),
                fragment(why)
            ),
            _ => format!("these globs together are more than procman can use: {}", fragment(why)),
        }
    })
}

/// A glob as procman reads it: `*` and `?` stay within a path component, `**` crosses them.
pub(crate) fn glob(text: &str) -> Result<globset::Glob, globset::Error> {
    globset::GlobBuilder::new(text).literal_separator(true).backslash_escape(true).build()
}

/// `ignore`, and each `X/**` of it as `X` too: what prunes a directory with all it holds.
pub(crate) fn prune_patterns(ignore: &[String]) -> Vec<String> {
    let mut out = ignore.to_vec();
    out.extend(ignore.iter().filter_map(|p| p.strip_suffix("/**")).map(str::to_owned));
    out
}

/// How deep `{` nests in `text`, as globset reads it: not after a backslash, nor inside `[...]`.
fn brace_nesting(text: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '[' => {
                // `[!]...]` and `[]...]`: a `]` first is a member, not the end.
                if chars.peek().is_some_and(|c| *c == '!' || *c == '^') {
                    chars.next();
                }
                if chars.peek() == Some(&']') {
                    chars.next();
                }
                for c in chars.by_ref() {
                    if c == ']' {
                        break;
                    }
                }
            }
            '{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// `10M`, `512K`, `1G`, `1T`, `65536` (bytes); the units are powers of 1024, `B` after them
/// optional. From [`MIN_LOG_MAX_SIZE`] to [`MAX_LOG_MAX_SIZE`].
pub(crate) fn parse_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let split = trimmed.find(|c: char| !c.is_ascii_digit()).unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let bad = || format!("`{}` is not a size (e.g. 10M, 512K, 1G, or bytes)", fragment(text));
    let too_large = || format!("`{}` is too large (at most 1T)", fragment(text));
    let value: u64 = number.parse().map_err(|_| bad())?;
    let unit = unit.trim().to_ascii_uppercase();
    let scale: u64 = match unit.strip_suffix("IB").or(unit.strip_suffix('B')).unwrap_or(&unit) {
        "" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        "T" => 1 << 40,
        _ => return Err(bad()),
    };
    let bytes = value
        .checked_mul(scale)
        .filter(|bytes| *bytes <= MAX_LOG_MAX_SIZE)
        .ok_or_else(too_large)?;
    if bytes < MIN_LOG_MAX_SIZE {
        return Err(format!(
            "`{}` is too small (at least 64K: smaller files would rotate every few lines)",
            fragment(text)
        ));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_binary_units_or_bytes() {
        assert_eq!(parse_size("10M"), Ok(10 << 20));
        assert_eq!(parse_size("512k"), Ok(512 << 10));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("2MiB"), Ok(2 << 20));
        assert_eq!(parse_size("65536"), Ok(64 << 10));
        assert_eq!(parse_size(" 64 KB "), Ok(64 << 10));
        assert_eq!(parse_size("1T"), Ok(1 << 40));
        assert_eq!(parse_size("1024G"), Ok(1 << 40));
        assert!(parse_size("10X").is_err());
        assert!(parse_size("M").is_err());
        assert_eq!(
            parse_size("1").expect_err("an error"),
            "`1` is too small (at least 64K: smaller files would rotate every few lines)"
        );
        assert!(parse_size("0").expect_err("an error").contains("at least 64K"));
        assert!(parse_size("65535").expect_err("an error").contains("at least 64K"));
        assert!(parse_size("99999999T").expect_err("an error").contains("too large"));
        assert_eq!(parse_size("2T").expect_err("an error"), "`2T` is too large (at most 1T)");
        assert!(parse_size("1025G").expect_err("an error").contains("at most 1T"));
    }

    #[test]
    fn patterns_stay_inside_the_cwd_and_are_globs() {
        assert_eq!(check_pattern("src/**/*.rb"), Ok(()));
        assert_eq!(check_pattern("config/*.{yml,yaml}"), Ok(()));
        assert!(check_pattern("/etc/*.conf").expect_err("an error").contains("absolute"));
        assert!(check_pattern("../lib/*.rb").expect_err("an error").contains(".."));
        assert!(check_pattern("src/[a.rb").expect_err("an error").contains("not a glob"));
        assert!(check_pattern(" ").is_err());
    }

    #[test]
    fn deep_alternatives_are_refused_with_their_reason() {
        let nested =
            |levels: usize| format!("src/{}b{}/*.rb", "{a,".repeat(levels), "}".repeat(levels));
        assert_eq!(check_pattern(&nested(MAX_BRACE_NESTING)), Ok(()));
        let error = check_pattern(&nested(150)).expect_err("an error");
        assert!(error.contains("nested more than 32 levels"), "{error}");
        // Braces in a class or escaped do not nest.
        assert_eq!(brace_nesting(&format!("[{}]", "{".repeat(40))), 0);
        assert_eq!(brace_nesting(&"\\{".repeat(40)), 0);
        assert_eq!(brace_nesting("a/{b,{c,d}}/{e,f}"), 2);
    }

    #[test]
    fn a_star_stays_in_its_component_and_two_cross_them() {
        let matches = |pattern: &str, path: &str| {
            glob(pattern).expect("a glob").compile_matcher().is_match(path)
        };
        assert!(matches("config/*.yml", "config/a.yml"));
        assert!(!matches("config/*.yml", "config/deep/a.yml"));
        assert!(matches("src/**/*.rb", "src/a.rb"));
        assert!(matches("src/**/*.rb", "src/x/y/a.rb"));
        assert!(!matches("src/**/*.rb", "lib/a.rb"));
    }
}
