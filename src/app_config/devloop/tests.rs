//! The dev loop's keys: each parsed, each error with its JSON path, and where they go in the
//! plan.

use std::time::Duration;

use super::*;

fn parse(text: &str) -> Result<ConfigFile, String> {
    ConfigFile::parse(Path::new("procman.json"), text.as_bytes()).map_err(|d| d.render(false))
}

/// The error for `text`: its first line and its help.
fn error(text: &str) -> (String, String) {
    match parse(text) {
        Ok(config) => panic!("accepted: {config:?}"),
        Err(rendered) => {
            let first = rendered.lines().next().unwrap_or_default().to_owned();
            let help = rendered.lines().find(|l| l.contains("help:")).unwrap_or_default();
            (first, help.trim().to_owned())
        }
    }
}

fn watch_of(text: &str) -> Option<WatchSettings> {
    let config = parse(text).expect("valid");
    config.processes.into_iter().next().expect("one process").watch
}

#[test]
fn watch_takes_a_list_or_one_glob_with_its_ignores_and_debounce() {
    assert_eq!(
        watch_of(
            r#"{"processes": {"web": {"watch": ["src/**/*.rb", "config/*.yml"],
                "watch_ignore": "src/vendor/**", "watch_debounce": "1s"}}}"#
        ),
        Some(WatchSettings {
            patterns: vec!["src/**/*.rb".to_owned(), "config/*.yml".to_owned()],
            ignore: vec!["src/vendor/**".to_owned()],
            debounce: Some(Duration::from_secs(1)),
        })
    );
    assert_eq!(
        watch_of(r#"{"processes": {"web": {"watch": "app.py"}}}"#).map(|w| w.debounce()),
        Some(Duration::from_millis(300))
    );
    // Nothing to watch: no watch, whatever refines it.
    assert_eq!(watch_of(r#"{"processes": {"web": {"watch": []}}}"#), None);
    assert_eq!(watch_of(r#"{"processes": {"web": {"watch_ignore": ["tmp"]}}}"#), None);
}

#[test]
fn a_bad_glob_is_an_error_at_its_path() {
    let (message, help) = error(r#"{"processes": {"web": {"watch": ["src/*.rb", "/etc/*"]}}}"#);
    assert_eq!(
        message,
        "error: procman.json: processes.web.watch[1]: `/etc/*` is absolute: patterns are \
         relative to the process type's cwd"
    );
    assert!(help.contains("e.g. [\"src/**/*.rb\""), "{help}");
    let (message, _) = error(r#"{"processes": {"web": {"watch_ignore": "../x/**"}}}"#);
    assert!(
        message.starts_with("error: procman.json: processes.web.watch_ignore: `../x/**` leaves"),
        "{message}"
    );
    let (message, _) = error(r#"{"processes": {"web": {"watch": ["src/[x"]}}}"#);
    assert!(message.contains("is not a glob"), "{message}");
    let (message, _) = error(r#"{"processes": {"web": {"watch": 3}}}"#);
    assert!(message.contains("expected a list of globs"), "{message}");
    let (message, help) = error(r#"{"processes": {"web": {"watch_debounce": "soon"}}}"#);
    assert!(message.contains("processes.web.watch_debounce"), "{message}");
    assert!(help.contains("300ms"), "{help}");
}

#[test]
fn the_log_keys_are_read_at_the_top_and_checked() {
    let config =
        parse(r#"{"log_dir": "log", "log_max_size": "2M", "log_keep": 3}"#).expect("valid");
    assert_eq!(
        config.logs,
        LogSettings { dir: Some(PathBuf::from("log")), max_size: Some(2 << 20), keep: Some(3) }
    );
    let config = parse(r#"{"log_max_size": 65536}"#).expect("valid");
    assert_eq!(config.logs.max_size, Some(65536));
    // Smaller files would rotate every few lines, each rotation renaming every kept file.
    let (message, help) = error(r#"{"log_max_size": 1}"#);
    assert_eq!(
        message,
        "error: procman.json: log_max_size: `1` is too small (at least 64K: smaller files would \
         rotate every few lines)"
    );
    assert!(help.contains("\"64K\""), "{help}");
    let (message, _) = error(r#"{"log_max_size": "2T"}"#);
    assert_eq!(message, "error: procman.json: log_max_size: `2T` is too large (at most 1T)");
    assert_eq!(parse(r#"{"log_max_size": "1T"}"#).expect("valid").logs.max_size, Some(1 << 40));
    let (message, help) = error(r#"{"log_max_size": "10Q"}"#);
    assert_eq!(
        message,
        "error: procman.json: log_max_size: `10Q` is not a size (e.g. 10M, 512K, 1G, or bytes)"
    );
    assert!(help.contains("\"10M\""), "{help}");
    let (message, _) = error(r#"{"log_keep": 101}"#);
    assert_eq!(message, "error: procman.json: log_keep: 101 is too large (at most 100)");
    let (message, help) = error(r#"{"log_dri": "log"}"#);
    assert!(message.contains("unknown field `log_dri`"), "{message}");
    assert!(help.contains("did you mean `log_dir`?"), "{help}");
}

#[test]
fn the_plan_carries_the_watch_and_the_log_directory_from_the_app_root() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("Procfile"), "web: python app.py\nworker: bin/w\n")
        .expect("Procfile");
    std::fs::write(
        dir.path().join(DEFAULT_NAME),
        r#"{"log_dir": "log", "log_keep": 2, "processes": {"web": {"watch": "*.py"}}}"#,
    )
    .expect("config");
    let options = crate::options::plan::PlanOptions {
        app: crate::cli::AppArgs { procfile: Some(dir.path().join("Procfile")), root: None },
        supervision: Some(crate::cli::SupervisionArgs::default()),
        ..Default::default()
    };
    let plan = crate::options::plan::load(&options).expect("a plan");
    assert_eq!(plan.logs.dir, Some(plan.root.join("log")));
    assert_eq!(plan.logs.keep, Some(2));
    let watched: Vec<(&str, bool)> =
        plan.processes.iter().map(|p| (p.name.as_str(), p.watch.is_some())).collect();
    assert_eq!(watched, [("web", true), ("worker", false)]);
}
