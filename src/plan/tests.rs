//! Unit tests of `plan.rs`, including the exact messages users see.

use super::*;
use procman::envfile;

fn procfile(text: &str) -> Procfile {
    Procfile::parse(Path::new("Procfile"), text.as_bytes()).expect("valid Procfile")
}

fn env(text: &str) -> EnvFiles {
    let vars = envfile::parse(Path::new(".env"), text.as_bytes()).expect("valid env");
    EnvFiles { vars, files: vec![PathBuf::from(".env")], ..EnvFiles::default() }
}

struct Case {
    procfile: &'static str,
    env: &'static str,
    formation: Option<&'static str>,
    port: Option<u16>,
    inherited: Option<&'static str>,
}

const AB: Case =
    Case { procfile: "a: ./a\nb: ./b\n", env: "", formation: None, port: None, inherited: None };

fn build(case: Case) -> Result<Plan, Diagnostics> {
    let procfile = procfile(case.procfile);
    let env = env(case.env);
    let formation = match case.formation {
        Some(text) => Formation::parse(text, "-m/--formation")?,
        None => Formation::default(),
    };
    Plan::build(PlanInput {
        procfile: &procfile,
        root: Path::new("/app"),
        env: &env,
        formation: &formation,
        port: case.port.map(|port| (port, crate::plan::PortSource::Option)),
        inherited_port: case.inherited,
    })
}

fn table(plan: &Plan) -> Vec<(String, u16)> {
    plan.instances().into_iter().map(|instance| (instance.ps, instance.port)).collect()
}

fn row(ps: &str, port: u16) -> (String, u16) {
    (ps.to_owned(), port)
}

#[test]
fn foreman_port_table() {
    let plan = build(Case { formation: Some("a=2,b=1"), ..AB }).expect("plan");
    assert_eq!(table(&plan), vec![row("a.1", 5000), row("a.2", 5001), row("b.1", 5100)]);
    assert_eq!(plan.base_port, 5000);
    assert_eq!(plan.port(1, 1), Some(5100));
    assert_eq!(plan.root, PathBuf::from("/app"));
}

#[test]
fn count_zero_entries_keep_their_slot() {
    let case = Case { procfile: "a: ./a\nb: ./b\nc: ./c\n", formation: Some("a=1,b=0,c=2"), ..AB };
    let plan = build(case).expect("plan");
    assert_eq!(table(&plan), vec![row("a.1", 5000), row("c.1", 5200), row("c.2", 5201)]);
    assert_eq!(plan.processes.len(), 3);
    assert_eq!(plan.processes[1].count, 0);
}

#[test]
fn base_port_precedence() {
    let plan = |port, env, inherited| {
        build(Case { env, port, inherited, ..AB }).map(|plan| plan.base_port).expect("plan")
    };
    assert_eq!(plan(Some(6000), "PORT=7000\n", Some("8000")), 6000);
    assert_eq!(plan(None, "PORT=7000\n", Some("8000")), 7000);
    assert_eq!(plan(None, "", Some("8000")), 8000);
    assert_eq!(plan(None, "", None), 5000);
    // An empty PORT counts as unset.
    assert_eq!(plan(None, "PORT=\n", Some(" ")), 5000);
    assert_eq!(plan(Some(0), "", None), 0);
}

#[test]
fn bad_port_values() {
    let error = build(Case { env: "A=1\nPORT=abc\n", ..AB }).expect_err("bad PORT");
    assert_eq!(
        error.render(false),
        "error: PORT in .env: `abc` is not a port number\n  --> .env:2\n   = help: set PORT to a \
         whole number from 0 to 65535, or pass -p/--port\n"
    );
    let error = build(Case { inherited: Some("5000x"), ..AB }).expect_err("bad $PORT");
    assert_eq!(
        error.render(false),
        "error: $PORT in procman's environment: `5000x` is not a port number\n  --> $PORT\n   = \
         help: set PORT to a whole number from 0 to 65535, or pass -p/--port\n"
    );
    let error = build(Case { env: "PORT=70000\n", ..AB }).expect_err("too big");
    assert!(error.render(false).starts_with("error: PORT in .env: `70000` is past 65535\n"));
    assert_eq!(parse_port(" 8080 "), Ok(8080));
    assert_eq!(parse_port("-1"), Err("`-1` is not a port number".to_owned()));
    assert_eq!(
        parse_port("99999999999999999999999"),
        Err("`99999999999999999999999` is past 65535".to_owned())
    );
}

#[test]
fn port_overflow_is_refused_before_anything_starts() {
    let error = build(Case { formation: Some("a=1,b=3"), port: Some(65_500), ..AB });
    assert_eq!(
        error.expect_err("overflow").render(false),
        "error: PORT of `b.1` would be 65600, past 65535\n  --> -p/--port\n   = note: the base port \
         65500 comes from -p/--port; PORT = base + 100 × position in the Procfile + instance \
         number − 1\n   = help: use a base port of at most 65433\n"
    );
    let error = build(Case { formation: Some("a=40"), env: "PORT=65500\n", ..AB });
    let rendered = error.expect_err("overflow").render(false);
    assert!(
        rendered.starts_with("error: PORT of `a.37` would be 65536, past 65535\n  --> .env:1\n"),
        "{rendered}"
    );
    // The same base is fine when the overflowing entry does not run.
    let plan = build(Case { formation: Some("a=1,b=0"), port: Some(65_500), ..AB }).expect("fits");
    assert_eq!(table(&plan), vec![row("a.1", 65_500)]);
    assert_eq!(plan.port(1, 1), None);
}

#[test]
fn instance_env_order_and_argv() {
    let mut plan = build(Case {
        procfile: "web: ./web -p $PORT --name $PS --x $X\nworker: ./w; echo $PORTAL\n",
        env: "X=1\nPORT=6000\nY=2\n",
        ..AB
    })
    .expect("plan");
    plan.processes[0].env =
        vec![("Y".to_owned(), "3".to_owned()), ("Z".to_owned(), "4".to_owned())];
    let instances = plan.instances();
    let web = &instances[0];
    let pairs: Vec<(&str, &str)> =
        vec![("X", "1"), ("PORT", "6000"), ("Y", "3"), ("Z", "4"), ("PS", "web.1")];
    let expected: Vec<(String, String)> =
        pairs.into_iter().map(|(key, value)| (key.to_owned(), value.to_owned())).collect();
    assert_eq!(plan.instance_env(web), expected);
    assert_eq!(
        plan.argv_for(web),
        Some(["./web", "-p", "6000", "--name", "web.1", "--x", "1"].map(str::to_owned).to_vec())
    );
    assert_eq!(
        plan.argv_for(&instances[1]),
        Some(["/bin/sh", "-c", "./w; echo $PORTAL"].map(str::to_owned).to_vec())
    );
    let bogus = InstancePlan { process: "nope".into(), number: 1, port: 1, ps: "nope.1".into() };
    assert_eq!(plan.argv_for(&bogus), None);
}

#[test]
fn name_width_follows_foreman() {
    let width = |procfile, formation| {
        build(Case { procfile, formation, ..AB }).map(|plan| plan.name_width()).expect("plan")
    };
    assert_eq!(width("web: a\nworker: b\n", None), 8);
    assert_eq!(width("a: a\n", None), 6);
    assert_eq!(width("web: a\nworker: b\n", Some("web=10")), 9);
    // Entries with count 0 still count, as in Foreman.
    assert_eq!(width("web: a\na_long_name: b\n", Some("web=1")), 13);
}

#[test]
fn formation_errors_pass_through() {
    let error = build(Case { formation: Some("c=1"), ..AB }).expect_err("unknown");
    assert!(error.render(false).contains("unknown process `c` in the formation"));
    let error = build(Case { formation: Some("all=1000"), ..AB }).expect_err("too many");
    assert!(error.render(false).contains("asks for 2000 instances in total"));
}

#[test]
fn empty_commands_after_substitution_are_refused() {
    let error = build(Case { procfile: "web: $CMD\n", env: "CMD=\n", ..AB }).expect_err("empty");
    assert_eq!(
        error.render(false),
        "error: the command of `web` is empty once env values are substituted\n  --> Procfile:1\n   \
         |\n 1 | web: $CMD\n   |\n   = help: give the variables it uses a value in the env files\n"
    );
    // Not running it is fine.
    assert!(
        build(Case { procfile: "web: $CMD\nw: x\n", env: "CMD=\n", formation: Some("w=1"), ..AB })
            .is_ok()
    );
}

#[test]
fn root_checks() {
    let dir = tempfile::tempdir().expect("tempdir");
    assert!(check_root(dir.path()).is_ok());
    let file = dir.path().join("file");
    std::fs::write(&file, "").expect("write");
    assert!(check_root(&file).expect_err("file").render(false).contains("is not a directory"));
    let rendered = check_root(&dir.path().join("none")).expect_err("missing").render(false);
    assert!(rendered.contains("cannot be used: it does not exist"), "{rendered}");
}
