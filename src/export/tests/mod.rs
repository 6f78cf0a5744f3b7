//! Tests of `procman export`: snapshots of every format, the formats' own parsers and
//! checkers, escaping, and idempotent re-export with cleanup.

mod cluster;
mod escaping;
mod files;
mod foreman;
mod order;
mod safety;
mod snapshots;
mod validators;

use crate::test_support::SerialOutput;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{ExportError, ExportOptions, ExportReport, Format, run};
use crate::plan::{Plan, ProcessPlan, Settings};

/// One Procfile entry.
pub(super) fn process(name: &str, command: &str, index: usize, count: u32) -> ProcessPlan {
    ProcessPlan {
        name: name.to_owned(),
        command: command.to_owned(),
        index,
        count,
        env: Vec::new(),
        cwd: None,
        settings: Settings::default(),
        watch: None,
    }
}

pub(super) fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

/// The representative app: a Procfile with `web` (2 instances, listens on $PORT), `worker`
/// (1, with an extra variable of its own) and `clock` (0: skipped, but it keeps its PORT
/// slot), and an env file.
///
/// ```text
/// web: bundle exec puma -p $PORT -C config/puma.rb
/// worker: bundle exec sidekiq -q default -c 5
/// clock: bin/clock --every 5m
/// ```
pub(super) fn representative(root: &Path) -> Plan {
    let mut worker = process("worker", "bundle exec sidekiq -q default -c 5", 1, 1);
    worker.env = vars(&[("MALLOC_ARENA_MAX", "2")]);
    Plan {
        procfile: root.join("Procfile"),
        root: root.to_owned(),
        env: vars(&[
            ("RACK_ENV", "production"),
            ("DATABASE_URL", "postgres://shop:s3cret@db.internal:5432/shop"),
            ("GREETING", "hello, world"),
        ]),
        base_port: 5000,
        processes: vec![
            process("web", "bundle exec puma -p $PORT -C config/puma.rb", 0, 2),
            worker,
            process("clock", "bin/clock --every 5m", 2, 0),
        ],
        logs: Default::default(),
    }
}

/// Options for app `shop` run by `deploy`, without the per-user template directory.
pub(super) fn options(format: Format, location: impl Into<PathBuf>) -> ExportOptions {
    let mut options = ExportOptions::new(format, location);
    options.app = Some("shop".to_owned());
    options.user = Some("deploy".to_owned());
    options.user_template_root = None;
    options
}

/// Runs an export, returning its report and what it printed.
pub(super) fn export(
    plan: &Plan,
    options: &ExportOptions,
) -> Result<(ExportReport, String), ExportError> {
    let mut out = Vec::new();
    let report = run(plan, options, &mut out)?;
    Ok((report, String::from_utf8_lossy(&out).into_owned()))
}

/// Every file under `dir`, relative path → contents (a link: `-> target`; links are not
/// followed).
pub(super) fn tree(dir: &Path) -> BTreeMap<String, String> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
            .map(|e| e.map(|e| e.path()).unwrap_or_else(|e| panic!("{e}")))
            .collect();
        entries.sort();
        for path in entries {
            let rel = path.strip_prefix(base).unwrap_or(&path).to_string_lossy().into_owned();
            if let Ok(target) = std::fs::read_link(&path) {
                out.insert(rel, format!("-> {}", target.display()));
            } else if path.is_dir() {
                walk(base, &path, out);
            } else {
                let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
                out.insert(rel, text);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// A fresh temporary directory.
pub(super) fn temp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"))
}

/// Writes `text` at `path`, creating its directory.
pub(super) fn write(path: &Path, text: &str) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
    }
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{e}"));
}

/// Reports a validator that is missing. CI sets `PROCMAN_REQUIRE_VALIDATORS=1` (see `.ci/run`),
/// and there a missing validator fails the test instead of skipping it.
pub(super) fn skip(why: &str) {
    assert!(
        std::env::var_os("PROCMAN_REQUIRE_VALIDATORS").is_none(),
        "validator required by PROCMAN_REQUIRE_VALIDATORS but {why}"
    );
    println!("SKIPPED: {why}");
}

/// Runs a tool, or `None` if it is not installed.
pub(super) fn tool(program: &str, args: &[&str]) -> Option<std::process::Output> {
    Command::new(program).args(args).serial_output().ok()
}

/// Fails the test with the error's message.
pub(super) fn ok<T>(result: Result<T, ExportError>) -> T {
    result.unwrap_or_else(|e| panic!("export failed: {e}"))
}

#[test]
fn unknown_format_lists_the_known_ones() {
    let error = "bluepil".parse::<Format>().err().map(|e| e.to_string());
    assert_eq!(
        error.as_deref(),
        Some(
            "unknown export format `bluepil` (known formats: systemd, supervisord, launchd, \
             runit, upstart, daemon, inittab, bluepill, compose, kubernetes)"
        )
    );
    assert_eq!("SystemD".parse::<Format>().ok(), Some(Format::Systemd));
}

#[test]
fn defaults_follow_foreman_and_the_root_name() {
    let options = ExportOptions::new(Format::Systemd, "/etc/systemd/system");
    assert_eq!(options.timeout, std::time::Duration::from_secs(5));
    assert_eq!(options.app, None);
    let plan = representative(Path::new("/srv/shop"));
    let mut options = options;
    options.dry_run = true;
    options.user_template_root = None;
    let (_, printed) = ok(export(&plan, &options));
    // app = the root directory's name, user = the app, log = /var/log/<app>.
    assert!(printed.contains("would write: /etc/systemd/system/shop-web.1.service"), "{printed}");
    assert!(printed.contains("User=shop\n"), "{printed}");

    let mut plan = representative(Path::new("/srv/my shop"));
    plan.root = PathBuf::from("/srv/my shop");
    let error = export(&plan, &options).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        error.starts_with("app name (the root directory's name) `my shop` cannot be used"),
        "{error}"
    );
}

#[test]
fn supervisord_user_and_log_defaults() {
    let plan = representative(Path::new("/srv/shop"));
    let mut options = ExportOptions::new(Format::Supervisord, "/etc/supervisor/conf.d");
    options.dry_run = true;
    options.user_template_root = None;
    let (_, printed) = ok(export(&plan, &options));
    assert!(printed.contains("stdout_logfile=/var/log/shop/web-1.log\n"), "{printed}");
    assert!(printed.contains("user=shop\n"), "{printed}");
}
