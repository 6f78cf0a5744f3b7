//! The log files of `start`: `--log-dir`, `--log-max-size`, `--log-keep` (or `.foreman`'s
//! `log-dir`...) over `procman.json`'s `"log_dir"`, `"log_max_size"`, `"log_keep"`, over the
//! defaults. No directory from either: no log files.

use super::{Flag, Origins};
use crate::cli::LogArgs;
use crate::output::logfile::LogConfig;
use crate::plan::devloop::{
    DEFAULT_LOG_KEEP, DEFAULT_LOG_MAX_SIZE, LogSettings, MAX_LOG_KEEP, parse_size,
};
use procman::diagnostic::{Diagnostics, fragment};

/// The log files to write, if any. A relative `--log-dir` is relative to procman's working
/// directory, as any path typed on the command line; `"log_dir"` is relative to the app root.
pub(crate) fn resolve(
    args: &LogArgs,
    config: &LogSettings,
    origins: &Origins,
) -> Result<Option<LogConfig>, Diagnostics> {
    let mut diagnostics = Diagnostics::default();
    let max_size = match &args.log_max_size {
        Some(text) => parse_size(text).unwrap_or_else(|message| {
            diagnostics.push(
                origins.of(Flag::LogMaxSize).diagnostic("--log-max-size", &message).with_help(
                    "give a size from 64K to 1T, such as 10M, 512K or 1G, or a number of bytes",
                ),
            );
            DEFAULT_LOG_MAX_SIZE
        }),
        None => config.max_size.unwrap_or(DEFAULT_LOG_MAX_SIZE),
    };
    let keep = match &args.log_keep {
        Some(text) => parse_keep(text).unwrap_or_else(|message| {
            diagnostics.push(
                origins
                    .of(Flag::LogKeep)
                    .diagnostic("--log-keep", &message)
                    .with_help(format!("give a whole number from 0 to {MAX_LOG_KEEP}, e.g. 5")),
            );
            DEFAULT_LOG_KEEP
        }),
        None => config.keep.unwrap_or(DEFAULT_LOG_KEEP),
    };
    let dir = args.log_dir.clone().or_else(|| config.dir.clone());
    diagnostics.into_result(dir.map(|dir| LogConfig { dir, max_size, keep }))
}

fn parse_keep(text: &str) -> Result<u32, String> {
    match text.trim().parse::<u32>() {
        Ok(keep) if keep <= MAX_LOG_KEEP => Ok(keep),
        Ok(_) => Err(format!("`{}` is too many (at most {MAX_LOG_KEEP})", fragment(text))),
        Err(_) => Err(format!("`{}` is not a whole number", fragment(text))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn the_options_win_over_the_config_file_and_the_defaults_fill_in() {
        let config = LogSettings {
            dir: Some(PathBuf::from("/app/log")),
            max_size: Some(1024),
            keep: Some(2),
        };
        let none = LogArgs::default();
        let origins = Origins::default();
        assert_eq!(resolve(&none, &LogSettings::default(), &origins), Ok(None));
        assert_eq!(
            resolve(&none, &config, &origins),
            Ok(Some(LogConfig { dir: PathBuf::from("/app/log"), max_size: 1024, keep: 2 }))
        );
        let typed = LogArgs {
            log_dir: Some(PathBuf::from("logs")),
            log_max_size: Some("1M".to_owned()),
            log_keep: Some("0".to_owned()),
        };
        assert_eq!(
            resolve(&typed, &config, &origins),
            Ok(Some(LogConfig { dir: PathBuf::from("logs"), max_size: 1 << 20, keep: 0 }))
        );
        let only_dir = LogArgs { log_dir: Some(PathBuf::from("logs")), ..LogArgs::default() };
        assert_eq!(
            resolve(&only_dir, &LogSettings::default(), &origins),
            Ok(Some(LogConfig {
                dir: PathBuf::from("logs"),
                max_size: DEFAULT_LOG_MAX_SIZE,
                keep: DEFAULT_LOG_KEEP
            }))
        );
    }

    #[test]
    fn bad_values_name_their_option() {
        let args = LogArgs {
            log_dir: Some(PathBuf::from("logs")),
            log_max_size: Some("10Q".to_owned()),
            log_keep: Some("-1".to_owned()),
        };
        let errors =
            resolve(&args, &LogSettings::default(), &Origins::default()).expect_err("two errors");
        let messages: Vec<&str> = errors.list.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "--log-max-size: `10Q` is not a size (e.g. 10M, 512K, 1G, or bytes)",
                "--log-keep: `-1` is not a whole number"
            ]
        );
    }
}
