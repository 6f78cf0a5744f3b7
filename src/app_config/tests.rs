//! Unit tests of the config file: every value type, errors with their JSON paths and
//! positions, merging into the Procfile, the formation and the plan, and precedence.

use super::*;
use crate::cli::{AppArgs, SupervisionArgs};

fn parse(text: &str) -> Result<ConfigFile, String> {
    ConfigFile::parse(Path::new("procman.json"), text.as_bytes()).map_err(|d| d.render(false))
}

/// The first line of the error for `text`.
fn error(text: &str) -> String {
    match parse(text) {
        Ok(config) => panic!("accepted: {config:?}"),
        Err(rendered) => rendered.lines().next().unwrap_or_default().to_owned(),
    }
}

fn one(text: &str) -> ProcessConfig {
    let config = parse(text).expect("valid");
    config.processes.into_iter().next().expect("one process")
}

#[test]
fn the_example_in_the_docs_is_valid_and_means_what_the_docs_say() {
    let doc = include_str!("../../docs/config.md");
    let start = doc.find("```json\n").expect("an example") + "```json\n".len();
    let end = start + doc[start..].find("```").expect("its end");
    let config = parse(&doc[start..end]).expect("the example is valid");
    assert_eq!(config.names(), ["web", "worker", "scheduler"]);
    let web = config.process("web").expect("web");
    assert_eq!(web.instances, Some(2));
    assert_eq!(web.env[0], ("RUST_LOG".to_owned(), "info".to_owned()));
    assert_eq!(web.settings.stop_signal, Some(Signal::INT));
    assert_eq!(web.settings.stop_timeout, Some(Duration::from_secs(20)));
    assert_eq!(web.settings.restart, Some(RestartPolicy::OnUnexpectedExit));
    assert_eq!(web.settings.max_retries, Some(5));
    assert_eq!(
        web.settings.backoff,
        Some(Backoff {
            initial: Duration::from_millis(500),
            factor: 2.0,
            max: Duration::from_secs(30)
        })
    );
    assert_eq!(web.settings.start_grace, Some(Duration::from_secs(2)));
    let worker = config.process("worker").expect("worker");
    assert_eq!(worker.cwd.as_deref(), Some(Path::new("services/worker")));
    assert_eq!(worker.settings.umask, Some(0o027));
    assert_eq!(worker.settings.expected_exit_codes, Some(vec![0, 3]));
    assert_eq!(worker.settings.backoff, Some(backoff_from(Duration::from_secs(1))));
    let scheduler = config.process("scheduler").expect("scheduler");
    assert_eq!(scheduler.settings.stop_timeout, Some(Duration::from_secs(30)));
    assert_eq!(scheduler.settings.stop_signal, Some(Signal::QUIT));
}

#[test]
fn the_json_schema_lists_the_keys_procman_reads() {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../../docs/procman.schema.json")).expect("JSON");
    let keys = |value: &serde_json::Value| -> Vec<String> {
        let mut keys: Vec<String> = value.as_object().expect("an object").keys().cloned().collect();
        keys.sort();
        keys
    };
    let mut expected: Vec<String> = PROCESS_KEYS.iter().map(|k| (*k).to_owned()).collect();
    expected.sort();
    assert_eq!(keys(&schema["$defs"]["process"]["properties"]), expected);
    let mut top: Vec<&str> = TOP_KEYS.to_vec();
    top.sort_unstable();
    assert_eq!(keys(&schema["properties"]), top);
    assert_eq!(schema["$defs"]["process"]["additionalProperties"], false);
    // Every key is in the docs' table too.
    let doc = include_str!("../../docs/config.md");
    for key in PROCESS_KEYS.iter().chain(TOP_KEYS) {
        assert!(doc.contains(&format!("| `{key}` |")), "{key} is not documented");
    }
}

#[test]
fn durations_are_strings_with_units_or_numbers_of_seconds() {
    let grace = |value: &str| {
        one(&format!(r#"{{"processes": {{"web": {{"start_grace": {value}}}}}}}"#))
            .settings
            .start_grace
    };
    assert_eq!(grace(r#""500ms""#), Some(Duration::from_millis(500)));
    assert_eq!(grace(r#""2s""#), Some(Duration::from_secs(2)));
    assert_eq!(grace(r#""1m""#), Some(Duration::from_secs(60)));
    assert_eq!(grace("3"), Some(Duration::from_secs(3)));
    assert_eq!(grace("0.25"), Some(Duration::from_millis(250)));
    assert_eq!(grace("null"), None);
    assert_eq!(
        error(r#"{"processes": {"web": {"stop_timeout": "5x"}}}"#),
        r#"error: procman.json: processes.web.stop_timeout: "5x" is not a duration (units: ms, s, m, h)"#
    );
    assert_eq!(
        error(r#"{"processes": {"web": {"stop_timeout": -1}}}"#),
        "error: procman.json: processes.web.stop_timeout: -1 is negative"
    );
    assert_eq!(
        error(r#"{"processes": {"web": {"start_grace": "9999h"}}}"#),
        r#"error: procman.json: processes.web.start_grace: "9999h" is out of range (at most a year)"#
    );
    assert_eq!(
        error(r#"{"processes": {"web": {"start_grace": true}}}"#),
        "error: procman.json: processes.web.start_grace: invalid type: boolean `true`, expected \
         a duration such as \"500ms\" or \"2s\", or a number of seconds"
    );
}

#[test]
fn umask_is_octal_as_a_string_or_as_digits() {
    let umask = |value: &str| {
        parse(&format!(r#"{{"processes": {{"web": {{"umask": {value}}}}}}}"#))
            .map(|c| c.processes[0].settings.umask)
    };
    assert_eq!(umask(r#""022""#), Ok(Some(0o22)));
    assert_eq!(umask(r#""0027""#), Ok(Some(0o27)));
    assert_eq!(umask(r#""0o77""#), Ok(Some(0o77)));
    assert_eq!(umask("22"), Ok(Some(0o22)));
    assert_eq!(umask("777"), Ok(Some(0o777)));
    assert!(umask(r#""089""#).is_err());
    assert!(umask("1000").is_err());
    assert!(umask("-2").is_err());
    assert_eq!(
        error(r#"{"processes": {"web": {"umask": "rwx"}}}"#),
        r#"error: procman.json: processes.web.umask: "rwx" is not an octal umask"#
    );
}

#[test]
fn signals_policies_codes_and_counts_are_checked() {
    let web = one(r#"{"processes": {"web": {"stop_signal": 2, "restart": "always",
            "expected_exit_codes": [0, 2], "max_restarts": 7, "instances": 0}}}"#);
    assert_eq!(web.settings.stop_signal, Some(Signal::INT));
    assert_eq!(web.settings.restart, Some(RestartPolicy::Always));
    assert_eq!(web.settings.expected_exit_codes, Some(vec![0, 2]));
    assert_eq!(web.settings.max_retries, Some(7));
    assert_eq!(web.instances, Some(0));
    assert_eq!(
        one(r#"{"processes": {"web": {"stop_signal": "sigusr1"}}}"#).settings.stop_signal,
        Some(Signal::USR1)
    );
    assert_eq!(
        error(r#"{"processes": {"web": {"stop_signal": "SIGFOO"}}}"#),
        r#"error: procman.json: processes.web.stop_signal: "SIGFOO" is not a signal"#
    );
    assert_eq!(
        error(r#"{"processes": {"web": {"restart": "sometimes"}}}"#),
        r#"error: procman.json: processes.web.restart: "sometimes" is not a restart policy"#
    );
    assert_eq!(
        error(r#"{"processes": {"web": {"expected_exit_codes": [0, 300]}}}"#),
        "error: procman.json: processes.web.expected_exit_codes[1]: 300 is not an exit code (0 \
         to 255)"
    );
    assert_eq!(
        error(r#"{"processes": {"web": {"instances": 1001}}}"#),
        "error: procman.json: processes.web.instances: 1001 is too large (at most 1000)"
    );
    assert_eq!(
        error(r#"{"processes": {"web": {"instances": "3"}}}"#),
        "error: procman.json: processes.web.instances: invalid type: string \"3\", expected a \
         whole number from 0 to 1000"
    );
    assert_eq!(
        error(r#"{"processes": {"web": {"max_restarts": 1.5}}}"#),
        "error: procman.json: processes.web.max_restarts: 1.5 is not a whole number"
    );
    assert_eq!(
        error(r#"{"processes": {"web": {"command": " "}}}"#),
        "error: procman.json: processes.web.command: it cannot be empty"
    );
}

#[test]
fn backoff_is_a_duration_or_an_object() {
    let backoff = |value: &str| {
        parse(&format!(r#"{{"processes": {{"web": {{"backoff": {value}}}}}}}"#))
            .map(|c| c.processes[0].settings.backoff)
    };
    assert_eq!(backoff(r#""2s""#), Ok(Some(backoff_from(Duration::from_secs(2)))));
    assert_eq!(
        backoff(r#"{"initial": "100ms", "factor": 1}"#),
        Ok(Some(Backoff {
            initial: Duration::from_millis(100),
            factor: 1.0,
            max: backoff_from(Duration::from_millis(100)).max
        }))
    );
    assert_eq!(
        backoff(r#"{}"#),
        Ok(Some(Backoff {
            initial: Duration::from_secs(1),
            factor: 2.0,
            max: Duration::from_secs(30)
        }))
    );
    assert_eq!(
        error(r#"{"processes": {"web": {"backoff": {"initial": "1s", "factr": 2}}}}"#),
        "error: procman.json: processes.web.backoff.factr: unknown field `factr`, expected one \
         of `initial`, `factor`, `max`"
    );
    assert_eq!(
        error(r#"{"processes": {"web": {"backoff": {"factor": 0.5}}}}"#),
        "error: procman.json: processes.web.backoff: the factor 0.5 is out of range (1 to 100; 1 \
         keeps the delay fixed)"
    );
    assert_eq!(
        error(r#"{"processes": {"web": {"backoff": {"initial": "10s", "max": "1s"}}}}"#),
        "error: procman.json: processes.web.backoff: max (1s) is shorter than initial (10s)"
    );
    assert_eq!(
        error(r#"{"processes": {"web": {"backoff": {"max": "1x"}}}}"#),
        r#"error: procman.json: processes.web.backoff.max: "1x" is not a duration (units: ms, s, m, h)"#
    );
}

#[test]
fn env_is_an_object_of_strings_in_file_order() {
    let web = one(r#"{"processes": {"web": {"env": {"B": "2", "A": "1", "B": "3"}}}}"#);
    assert_eq!(web.env, [("B".to_owned(), "3".to_owned()), ("A".to_owned(), "1".to_owned())]);
    assert_eq!(
        error(r#"{"processes": {"web": {"env": {"THREADS": 4}}}}"#),
        "error: procman.json: processes.web.env.THREADS: invalid type: integer `4`, expected a \
         string (quote numbers and booleans: \"3\", \"true\")"
    );
    assert!(
        error(r#"{"processes": {"web": {"env": {"PORT": "80"}}}}"#)
            .starts_with("error: procman.json: processes.web.env.PORT: PORT is set by procman")
    );
    assert!(
        error(r#"{"processes": {"web": {"env": {"A=B": "1"}}}}"#)
            .contains("is not a variable name")
    );
}

#[test]
fn unknown_keys_are_errors_with_their_path_position_and_a_suggestion() {
    let rendered = parse("{\"processes\": {\n  \"web\": {\n    \"stop_timout\": 3\n  }\n}}")
        .expect_err("unknown key");
    assert!(
        rendered.starts_with(
            "error: procman.json: processes.web.stop_timout: unknown field `stop_timout`, \
             expected one of `command`,"
        ),
        "{rendered}"
    );
    assert!(rendered.contains("--> procman.json:3:5\n"), "{rendered}");
    assert!(rendered.contains("^^^^^^^^^^^^^\n"), "the key is underlined: {rendered}");
    assert!(rendered.contains("help: did you mean `stop_timeout`?"), "{rendered}");
    assert_eq!(
        error(r#"{"process": {}}"#),
        "error: procman.json: process: unknown field `process`, expected one of `$schema`, \
         `processes`, `log_dir`, `log_max_size`, `log_keep`"
    );
}

#[test]
fn the_value_is_underlined_at_its_line_and_column() {
    let rendered =
        parse("{\n  \"processes\": {\"web\": {\n      \"stop_timeout\": \"5x\",\n  \"x\": 1}}}")
            .expect_err("bad duration");
    assert!(rendered.contains("--> procman.json:3:23\n"), "{rendered}");
    assert!(rendered.contains("\n   |                       ^^^^\n"), "{rendered}");
}

#[test]
fn names_must_be_process_type_names_given_once() {
    assert_eq!(
        error(r#"{"processes": {"web": {}, "web": {}}}"#),
        r#"error: procman.json: processes: the process type "web" is given twice"#
    );
    assert!(
        error(r#"{"processes": {"we b": {}}}"#).contains(r#""we b" is not a process type name"#)
    );
    assert!(error(r#"{"processes": {"web": "node"}}"#).starts_with(
        r#"error: procman.json: processes.web: invalid type: string "node", expected an object"#
    ));
}

#[test]
fn syntax_errors_and_other_shapes_are_named() {
    assert_eq!(
        error(r#"{"processes": {"web": {}},}"#),
        "error: procman.json is not valid JSON: trailing comma"
    );
    assert_eq!(error("[]"), "error: procman.json must hold a JSON object");
    assert_eq!(error("  \n"), "error: procman.json is empty");
    assert_eq!(
        error(r#"{"processes": {}} {}"#),
        "error: procman.json is not valid JSON: trailing characters"
    );
    assert!(parse(r#"{"$schema": "x", "processes": {}}"#).is_ok());
    assert!(parse("{}").is_ok());
}

#[test]
fn an_explicit_file_must_exist_and_the_default_one_may_be_absent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let procfile = dir.path().join("Procfile");
    assert_eq!(load(None, &procfile), Ok(None));
    let missing = dir.path().join("none.json");
    let rendered = load(Some(&missing), &procfile).expect_err("missing").render(false);
    assert!(rendered.contains("does not exist"), "{rendered}");
    std::fs::write(dir.path().join(DEFAULT_NAME), r#"{"processes": {"web": {"instances": 2}}}"#)
        .expect("write");
    let config = load(None, &procfile).expect("valid").expect("found beside the Procfile");
    assert_eq!(config.processes[0].instances, Some(2));
    assert_eq!(default_path(Path::new("Procfile")), Path::new("procman.json"));
    assert_eq!(default_path(Path::new("app/Procfile")), Path::new("app/procman.json"));
}

fn procfile(text: &str) -> Procfile {
    Procfile::parse(Path::new("Procfile"), text.as_bytes()).expect("a valid Procfile")
}

#[test]
fn commands_override_procfile_entries_and_define_new_types_after_them() {
    let config = parse(
        r#"{"processes": {"db": {"command": "postgres"}, "web": {"command": "new-web"},
            "worker": {"instances": 2}}}"#,
    )
    .expect("valid");
    let mut procfile = procfile("web: old-web\nworker: work\n");
    config.extend_procfile(&mut procfile).expect("merged");
    let entries: Vec<(&str, &str, usize)> =
        procfile.entries.iter().map(|e| (e.name.as_str(), e.command.as_str(), e.line)).collect();
    assert_eq!(entries, [("web", "new-web", 1), ("worker", "work", 2), ("db", "postgres", 0)]);
}

#[test]
fn a_type_without_a_command_anywhere_is_an_error_with_a_suggestion() {
    let config = parse("{\"processes\": {\n  \"wbe\": {\"instances\": 2}\n}}").expect("valid");
    let rendered = config
        .extend_procfile(&mut procfile("web: a\nworker: b\n"))
        .expect_err("no command")
        .render(false);
    assert!(
        rendered.starts_with(
            "error: procman.json: processes.wbe: `wbe` is not in the Procfile, so it needs a \
             \"command\"\n  --> procman.json:2:3\n"
        ),
        "{rendered}"
    );
    assert!(rendered.contains("did you mean `web`?"), "{rendered}");
}

#[test]
fn instances_apply_only_without_a_formation() {
    let config = parse(r#"{"processes": {"web": {"instances": 3}, "worker": {"instances": 0}}}"#)
        .expect("valid");
    let procfile = procfile("web: a\nworker: b\nclock: c\n");
    let mut formation = Formation::default();
    config.apply_instances(&mut formation, false);
    assert_eq!(formation.resolve(&procfile), Ok(vec![3, 0, 1]));
    let mut given = Formation::parse("worker=2", "-m/--formation").expect("valid");
    config.apply_instances(&mut given, true);
    assert_eq!(given.resolve(&procfile), Ok(vec![0, 2, 0]));
    let mut single = Formation::from_process_arg("web", "the PROCESS argument").expect("valid");
    config.apply_instances(&mut single, true);
    assert_eq!(single.resolve(&procfile), Ok(vec![3, 0, 0]));
    let mut single = Formation::from_process_arg("worker", "the PROCESS argument").expect("valid");
    config.apply_instances(&mut single, true);
    assert_eq!(single.resolve(&procfile), Ok(vec![0, 1, 0]));
    let mut counted = Formation::from_process_arg("web=1", "the PROCESS argument").expect("valid");
    config.apply_instances(&mut counted, true);
    assert_eq!(counted.resolve(&procfile), Ok(vec![1, 0, 0]));
}

/// An app directory with a Procfile and a config file, planned through `options::plan::load`.
fn plan_with(
    procfile: &str,
    config: &str,
    formation: Option<&str>,
    flags: SupervisionArgs,
) -> Result<Plan, String> {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("Procfile"), procfile).expect("Procfile");
    std::fs::write(dir.path().join(DEFAULT_NAME), config).expect("config");
    // The working directory the configs below name (a missing one is an error of its own).
    std::fs::create_dir(dir.path().join("sub")).expect("sub");
    let options = crate::options::plan::PlanOptions {
        app: AppArgs { procfile: Some(dir.path().join("Procfile")), root: None },
        formation: formation.map(str::to_owned),
        port: Some("5000".into()),
        supervision: Some(flags),
        ..Default::default()
    };
    crate::options::plan::load(&options).map_err(|d| d.render(false))
}

#[test]
fn the_plan_carries_the_config_and_flags_win_over_it() {
    let config = r#"{"processes": {
        "web": {"restart": "on-failure", "stop_signal": "INT", "max_restarts": 9,
                "env": {"A": "1"}, "cwd": "sub", "umask": "077", "stop_timeout": "20s"},
        "db": {"command": "postgres -p $PORT", "instances": 2}}}"#;
    let flags = SupervisionArgs {
        restart: vec!["always".into()],
        stop_signal: vec!["web=QUIT".into()],
        ..SupervisionArgs::default()
    };
    let plan = plan_with("web: a\nworker: b\n", config, None, flags).expect("a plan");
    let names: Vec<(&str, usize, u32)> =
        plan.processes.iter().map(|p| (p.name.as_str(), p.index, p.count)).collect();
    assert_eq!(names, [("web", 0, 1), ("worker", 1, 1), ("db", 2, 2)]);
    let web = &plan.processes[0];
    assert_eq!(web.settings.restart, Some(RestartPolicy::Always), "the flag wins");
    assert_eq!(web.settings.stop_signal, Some(Signal::QUIT), "the named flag wins");
    assert_eq!(web.settings.max_retries, Some(9), "the config is kept where no flag is given");
    assert_eq!(web.settings.umask, Some(0o77));
    assert_eq!(web.settings.stop_timeout, Some(Duration::from_secs(20)));
    assert_eq!(web.env, [("A".to_owned(), "1".to_owned())]);
    assert_eq!(web.cwd.as_deref(), Some(Path::new("sub")));
    assert_eq!(plan.processes[1].settings.restart, Some(RestartPolicy::Always));
    // Foreman's PORT rule counts config-only types after the Procfile's.
    assert_eq!(plan.port(2, 2), Some(5201));
    let db = plan.instance(plan.process("db").expect("db"), 2);
    assert_eq!((db.port, db.ps.as_str()), (5201, "db.2"));
    assert_eq!(plan.argv_for(&db).expect("argv").join(" "), "postgres -p 5201");
}

#[test]
fn a_formation_wins_over_instances_and_may_name_config_only_types() {
    let config = r#"{"processes": {"web": {"instances": 3}, "db": {"command": "postgres"}}}"#;
    let plan =
        plan_with("web: a\n", config, Some("db=2"), SupervisionArgs::default()).expect("a plan");
    let counts: Vec<u32> = plan.processes.iter().map(|p| p.count).collect();
    assert_eq!(counts, [0, 2]);
    let rendered = plan_with(
        "web: a\n",
        r#"{"processes": {"web": {"instances": 0}}}"#,
        None,
        SupervisionArgs::default(),
    )
    .expect_err("nothing to start");
    assert!(rendered.contains("the formation starts no process"), "{rendered}");
    assert!(rendered.contains("`instances` in procman.json"), "{rendered}");
}

#[test]
fn flags_naming_config_only_types_are_accepted() {
    let config = r#"{"processes": {"db": {"command": "postgres"}}}"#;
    let flags = SupervisionArgs {
        can_die: vec!["db".into()],
        backoff: vec!["db=2s".into()],
        ..SupervisionArgs::default()
    };
    let plan = plan_with("web: a\n", config, None, flags).expect("a plan");
    assert_eq!(plan.processes[1].settings.backoff, Some(backoff_from(Duration::from_secs(2))));
}

#[test]
fn check_dirs_points_at_the_cwd_of_the_right_process() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
    let config = parse(
        "{\"processes\": {\n  \"web\": {\"cwd\": \"sub\"},\n  \"worker\": {\"instances\": 1,\n    \
         \"cwd\": \"nope\"}\n}}",
    )
    .expect("valid");
    let rendered = config.check_dirs(dir.path()).expect_err("nope is missing").render(false);
    assert!(
        rendered.starts_with(
            "error: procman.json: processes.worker.cwd: \"nope\" is not a directory\n  --> \
             procman.json:4:5\n"
        ),
        "{rendered}"
    );
    let good = parse(r#"{"processes": {"web": {"cwd": "sub"}}}"#).expect("valid");
    assert_eq!(good.check_dirs(dir.path()), Ok(()));
}

mod startup;
