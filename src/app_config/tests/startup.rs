//! `"ready"` and `"depends_on"`: every form each takes, their errors with JSON paths, and the
//! order checks (unknown names, cycles) on a whole plan.

use supervise::Condition;

use super::*;
use crate::plan::startup::{DependsOn, ReadyCheck, ReadyPort};

fn depends(name: &str, condition: Condition) -> DependsOn {
    DependsOn { name: name.to_owned(), condition }
}

#[test]
fn ready_takes_a_log_line_a_port_a_variable_or_a_command_with_its_timing() {
    let web = one(r#"{"processes": {"web": {"ready": {"log": "listening on \\d+"}}}}"#);
    let ready = web.settings.ready.expect("a check");
    let ReadyCheck::Log(pattern) = &ready.check else { panic!("{ready:?}") };
    assert_eq!(pattern.as_str(), "listening on \\d+");
    assert!(pattern.is_match(b"web: listening on 5000"));
    assert!(!pattern.is_match(b"listening on port"));
    assert_eq!((ready.interval, ready.timeout), (None, None));

    let db = one(r#"{"processes": {"db": {"ready": {"port": 5432, "interval": "250ms"}}}}"#);
    let ready = db.settings.ready.expect("a check");
    assert_eq!(ready.check, ReadyCheck::Port(ReadyPort::Number(5432)));
    assert_eq!(ready.interval, Some(Duration::from_millis(250)));
    for text in ["$PORT", "${PORT}"] {
        let json = format!(r#"{{"processes": {{"web": {{"ready": {{"port": "{text}"}}}}}}}}"#);
        let check = one(&json).settings.ready.expect("a check").check;
        assert_eq!(check, ReadyCheck::Port(ReadyPort::Variable("PORT".to_owned())), "{text}");
    }
    let pg =
        one(r#"{"processes": {"db": {"ready": {"command": "pg_isready -q", "timeout": 90}}}}"#);
    let ready = pg.settings.ready.expect("a check");
    assert_eq!(ready.check, ReadyCheck::Command("pg_isready -q".to_owned()));
    assert_eq!(ready.timeout, Some(Duration::from_secs(90)));
}

#[test]
fn depends_on_takes_conditions_or_a_list_of_started_types() {
    let web =
        one(r#"{"processes": {"web": {"depends_on": {"db": "ready", "migrate": "exited"}}}}"#);
    assert_eq!(
        web.settings.depends_on,
        [depends("db", Condition::Ready), depends("migrate", Condition::Exited)]
    );
    let worker = one(r#"{"processes": {"worker": {"depends_on": ["web", "db"]}}}"#);
    assert_eq!(
        worker.settings.depends_on,
        [depends("web", Condition::Started), depends("db", Condition::Started)]
    );
    let none = one(r#"{"processes": {"web": {"depends_on": []}}}"#);
    assert!(none.settings.depends_on.is_empty() && none.settings.ready.is_none());
}

#[test]
fn ready_and_depends_on_errors_name_the_value_and_what_to_write() {
    let cases = [
        (
            r#"{"processes": {"web": {"ready": {"log": "(unclosed"}}}}"#,
            "processes.web.ready.log: \"(unclosed\" is not a regular expression: unclosed group",
        ),
        (
            r#"{"processes": {"web": {"ready": {"port": "PORT"}}}}"#,
            "processes.web.ready.port: \"PORT\" is neither a port number nor a variable such as \
             \"$PORT\"",
        ),
        (
            r#"{"processes": {"web": {"ready": {"port": 70000}}}}"#,
            "processes.web.ready.port: 70000 is not a port number (1 to 65535)",
        ),
        (
            r#"{"processes": {"web": {"ready": {"port": 1, "command": "true"}}}}"#,
            "processes.web.ready: it has 2 checks (port, command); give one",
        ),
        (
            r#"{"processes": {"web": {"ready": {"timeout": "5s"}}}}"#,
            "processes.web.ready: it needs one check: \"log\", \"port\" or \"command\"",
        ),
        (
            r#"{"processes": {"web": {"ready": {"port": 1, "interval": 0}}}}"#,
            "processes.web.ready: the interval must be above zero",
        ),
        (
            r#"{"processes": {"web": {"ready": {"port": 1, "timeout": "soon"}}}}"#,
            "processes.web.ready.timeout: \"soon\" is not a duration (units: ms, s, m, h)",
        ),
        (
            r#"{"processes": {"web": {"ready": "port"}}}"#,
            "processes.web.ready: invalid type: string \"port\", expected an object such as {\"port\": 5432}",
        ),
        (
            r#"{"processes": {"web": {"depends_on": {"db": "healthy"}}}}"#,
            "processes.web.depends_on.db: \"healthy\" is not a condition (use \"started\", \
             \"ready\" or \"exited\")",
        ),
        (
            r#"{"processes": {"web": {"depends_on": ["db", "db"]}}}"#,
            "processes.web.depends_on: \"db\" is named twice",
        ),
        (
            r#"{"processes": {"web": {"depends_on": ["d b"]}}}"#,
            "processes.web.depends_on[0]: \"d b\" is not a process type name",
        ),
        (
            r#"{"processes": {"web": {"depends_on": "db"}}}"#,
            "processes.web.depends_on: invalid type: string \"db\", expected an object such as",
        ),
    ];
    for (text, expected) in cases {
        let first = error(text);
        assert!(first.starts_with(&format!("error: procman.json: {expected}")), "{text}\n{first}");
    }
    let rendered = parse(r#"{"processes": {"web": {"ready": {"port": 1, "timout": 3}}}}"#)
        .expect_err("a typo");
    assert!(rendered.contains("help: did you mean `timeout`?"), "{rendered}");
    let rendered =
        parse(r#"{"processes": {"web": {"depends_on": {"db": "done"}}}}"#).expect_err("bad");
    assert!(rendered.contains("the conditions are \"started\", \"ready\" and \"exited\""));
}

#[test]
fn the_plan_refuses_an_unknown_dependency_or_a_cycle_at_the_config_files_line() {
    let procfile = "web: a\nworker: b\ndb: c\n";
    let unknown = plan_with(
        procfile,
        "{\"processes\": {\n  \"web\": {\"depends_on\": {\"dbb\": \"ready\"}}}}",
        None,
        SupervisionArgs::default(),
    )
    .expect_err("dbb is unknown");
    assert!(
        unknown.starts_with(
            "error: procman.json: processes.web.depends_on: `web` depends on `dbb`, which is not \
             a process type\n"
        ),
        "{unknown}"
    );
    assert!(unknown.contains("procman.json:2:11\n"), "{unknown}");
    assert!(unknown.contains("help: did you mean `db`?"), "{unknown}");
    let cycle = plan_with(
        procfile,
        r#"{"processes": {"web": {"depends_on": ["worker"]}, "worker": {"depends_on":
            {"db": "ready"}}, "db": {"depends_on": {"web": "started"}}}}"#,
        None,
        SupervisionArgs::default(),
    )
    .expect_err("a cycle");
    assert!(
        cycle.starts_with(
            "error: procman.json: processes.web.depends_on: process types depend on each other \
             in a cycle: web -> worker -> db -> web"
        ),
        "{cycle}"
    );
    let itself = plan_with(
        procfile,
        r#"{"processes": {"db": {"depends_on": ["db"]}}}"#,
        None,
        SupervisionArgs::default(),
    )
    .expect_err("itself");
    assert!(
        itself.starts_with("error: procman.json: processes.db.depends_on: `db` depends on itself")
    );
    // A config-only type may be depended on, and the settings reach the plan.
    let plan = plan_with(
        procfile,
        r#"{"processes": {"web": {"depends_on": {"migrate": "exited"}, "ready": {"port": "$PORT"}},
            "migrate": {"command": "bin/migrate"}}}"#,
        None,
        SupervisionArgs::default(),
    )
    .expect("a plan");
    let web = plan.process("web").expect("web");
    assert_eq!(web.settings.depends_on, [depends("migrate", Condition::Exited)]);
    assert!(web.settings.ready.is_some());
}

#[test]
fn the_readiness_example_in_the_docs_is_valid_and_means_what_the_docs_say() {
    let doc = include_str!("../../../docs/config.md");
    let section = &doc[doc.find("## Readiness and start order").expect("the section")..];
    let start = section.find("```json\n").expect("an example") + "```json\n".len();
    let end = start + section[start..].find("```").expect("its end");
    let config = parse(&section[start..end]).expect("the example is valid");
    assert_eq!(config.names(), ["db", "migrate", "web", "worker"]);
    let db = config.process("db").expect("db").settings.ready.clone().expect("a check");
    assert_eq!(db.check, ReadyCheck::Port(ReadyPort::Variable("PORT".to_owned())));
    assert_eq!(db.timeout, Some(Duration::from_secs(30)));
    let web = &config.process("web").expect("web").settings;
    assert_eq!(
        web.depends_on,
        [depends("db", Condition::Ready), depends("migrate", Condition::Exited)]
    );
    let worker = &config.process("worker").expect("worker").settings;
    assert_eq!(worker.depends_on, [depends("web", Condition::Started)]);
    assert_eq!(config.check_order(&["db", "migrate", "web", "worker"]), Ok(()));
}
