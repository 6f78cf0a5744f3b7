//! Unit tests of `formation.rs`, including the exact messages users see.

use std::path::Path;

use super::*;

fn procfile(names: &[&str]) -> Procfile {
    let text: String = names.iter().map(|name| format!("{name}: ./{name}\n")).collect();
    Procfile::parse(Path::new("Procfile"), text.as_bytes()).expect("valid Procfile")
}

fn counts(spec: &str, names: &[&str]) -> Vec<u32> {
    let formation = Formation::parse(spec, "-m/--formation").expect("valid formation");
    formation.resolve(&procfile(names)).expect("resolves")
}

fn parse_error(spec: &str) -> String {
    Formation::parse(spec, "-m/--formation").expect_err("invalid formation").render(false)
}

fn resolve_error(spec: &str, names: &[&str]) -> String {
    let formation = Formation::parse(spec, "-m/--formation").expect("parses");
    formation.resolve(&procfile(names)).expect_err("does not resolve").render(false)
}

#[test]
fn foreman_rules() {
    let names = ["web", "worker", "clock"];
    assert_eq!(Formation::default().resolve(&procfile(&names)).ok(), Some(vec![1, 1, 1]));
    assert_eq!(counts("web=2", &names), vec![2, 0, 0]);
    assert_eq!(counts("web=2,worker=0,all=1", &names), vec![2, 0, 1]);
    assert_eq!(counts("all=3, worker = 1", &names), vec![3, 1, 3]);
    assert_eq!(counts(" w e b = 1 0 ,", &names), vec![10, 0, 0]);
    assert_eq!(counts("web=1,,clock=01", &names), vec![1, 0, 1]);
    assert_eq!(counts("all=0,clock=1", &names), vec![0, 0, 1]);
}

#[test]
fn process_argument() {
    let names = ["web", "worker"];
    let single = Formation::from_process_arg("worker", "PROCESS").expect("name");
    assert_eq!(single.resolve(&procfile(&names)).ok(), Some(vec![0, 1]));
    let formation = Formation::from_process_arg("web=3", "PROCESS").expect("formation");
    assert_eq!(formation.resolve(&procfile(&names)).ok(), Some(vec![3, 0]));
    let error = Formation::single("wrker", "PROCESS").resolve(&procfile(&names));
    assert_eq!(
        error.expect_err("unknown").render(false),
        "error: there is no process `wrker` in the Procfile\n  --> PROCESS\n   |\n   | wrker\n   | \
         ^^^^^\n   = note: defined in Procfile\n   = help: the Procfile defines: web, worker; did \
         you mean `worker`?\n"
    );
}

#[test]
fn unknown_name_lists_the_known_ones() {
    assert_eq!(
        resolve_error("web=1,wbe=2", &["web", "worker"]),
        "error: unknown process `wbe` in the formation\n  --> -m/--formation\n   |\n   | \
         web=1,wbe=2\n   |       ^^^^^\n   = note: defined in Procfile\n   = help: the Procfile \
         defines: web, worker; did you mean `web`?\n"
    );
    let rendered = resolve_error("nothing_like_it=1", &["web", "worker"]);
    assert!(rendered.contains("help: the Procfile defines: web, worker\n"), "{rendered}");
    let rendered = resolve_error("WEB=1", &["web"]);
    assert!(rendered.contains("did you mean `web`?"), "{rendered}");
}

#[test]
fn malformed_counts() {
    assert_eq!(
        parse_error("web=-1"),
        "error: the count of `web` is negative: `-1`\n  --> -m/--formation\n   |\n   | web=-1\n   \
         | ^^^^^^\n   = help: a count is a whole number from 0 to 1000, e.g. `web=2`\n"
    );
    assert!(
        parse_error("web=x").starts_with("error: the count of `web` is not a whole number: `x`\n")
    );
    assert!(parse_error("web=1.5").contains("is not a whole number: `1.5`"));
    assert!(parse_error("web=+1").contains("is not a whole number: `+1`"));
    assert!(parse_error("web=").starts_with("error: `web=` in the formation has no count\n"));
    assert!(parse_error("web").starts_with("error: `web` in the formation has no count\n"));
    assert!(parse_error("web").contains("help: write `web=1`"));
    assert!(parse_error("=2").starts_with("error: `=2` in the formation has no process name\n"));
    assert!(
        parse_error("a=1=2").starts_with("error: `a=1=2` in the formation has more than one `=`\n")
    );
    assert_eq!(
        parse_error("web=99999999999999999999999"),
        "error: the count of `web` is too large: `99999999999999999999999`\n  --> \
         -m/--formation\n   |\n   | web=99999999999999999999999\n   | \
         ^^^^^^^^^^^^^^^^^^^^^^^^^^^\n   = help: procman runs at most 1000 instances in all\n"
    );
    assert!(parse_error("web=1001").contains("too large"));
    assert!(
        parse_error("web=1,web=2")
            .starts_with("error: `web` is given twice in the formation (columns 1 and 7)\n")
    );
}

#[test]
fn every_bad_item_is_reported() {
    let error = Formation::parse("a=x,b=-1,c", "-m").expect_err("three errors");
    assert_eq!(error.len(), 3);
    // Columns point into the text as given, spaces included.
    assert_eq!(error.list[1].column, Some(5));
}

#[test]
fn ten_thousand_instances_are_refused() {
    assert!(parse_error("web=10000").contains("the count of `web` is too large: `10000`"));
    let names: Vec<String> = (0..10).map(|n| format!("p{n}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    assert_eq!(
        resolve_error("all=1000", &names),
        "error: the formation asks for 10000 instances in total; procman runs at most 1000\n  --> \
         -m/--formation\n   |\n   | all=1000\n   | ^^^^^^^^\n   = help: lower the counts \
         (`all=N` applies to every process type not named)\n"
    );
    assert_eq!(counts("all=100", &names).iter().sum::<u32>(), 1000);
}

#[test]
fn a_formation_that_starts_nothing_is_refused() {
    let rendered = resolve_error("web=0", &["web", "worker"]);
    assert!(rendered.starts_with("error: the formation starts no process\n"), "{rendered}");
    assert!(rendered.contains("e.g. `web=1`"));
}

#[test]
fn hostile_text_is_escaped() {
    let rendered = parse_error("we\x1b[2Jb=\u{202e}1");
    assert!(!rendered.contains('\x1b') && !rendered.contains('\u{202e}'), "{rendered:?}");
}

#[test]
fn a_huge_formation_of_bad_items_is_counted_not_copied() {
    // 65,000 bad items (the size of one command-line argument): 100 diagnostics are kept, the rest
    // counted; each kept one holds the whole text, so building the dropped ones was quadratic.
    let text = "a,".repeat(65_000);
    let error = Formation::parse(&text, "-m/--formation").expect_err("invalid");
    assert_eq!((error.list.len(), error.len()), (crate::diagnostic::MAX_KEPT, 65_000));
    let text = "web=1,".repeat(20_000);
    assert_eq!(Formation::parse(&text, "-m").expect_err("duplicates").len(), 19_999);
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn never_panics(text in "\\PC{0,64}") {
            if let Ok(formation) = Formation::parse(&text, "-m") {
                let _ = formation.resolve(&procfile(&["web", "worker"]));
            }
        }

        #[test]
        fn written_counts_round_trip(web in 0u32..=500, worker in 0u32..=500, all in 0u32..=500) {
            let names = ["web", "worker", "clock"];
            let got = Formation::parse(&format!("worker={worker}, web={web}, all={all}"), "-m")
                .map_err(|error| TestCaseError::fail(error.render(false)))?
                .resolve(&procfile(&names));
            if web + worker + all == 0 || web + worker + all > MAX_INSTANCES {
                prop_assert!(got.is_err());
            } else {
                prop_assert_eq!(got.ok(), Some(vec![web, worker, all]));
            }
        }
    }
}

#[test]
fn the_instance_limit_follows_the_open_files_limit() {
    assert_eq!(InstanceLimit::default(), InstanceLimit { max: 1000, open_files: None });
    // 96 descriptors for procman, 2 per instance.
    assert_eq!(
        InstanceLimit::for_open_files(1024),
        InstanceLimit { max: 464, open_files: Some(1024) }
    );
    assert_eq!(InstanceLimit::for_open_files(100), InstanceLimit { max: 2, open_files: Some(100) });
    assert_eq!(InstanceLimit::for_open_files(10), InstanceLimit { max: 0, open_files: Some(10) });
    // Enough descriptors: the fixed limit holds.
    assert_eq!(InstanceLimit::for_open_files(2096), InstanceLimit::default());
    assert_eq!(InstanceLimit::for_open_files(1 << 20), InstanceLimit::default());
    assert_eq!(InstanceLimit::for_open_files(u64::MAX), InstanceLimit::default());

    let limit = InstanceLimit::for_open_files(100);
    assert_eq!(limit.check(2, "the formation asks for"), Ok(()));
    assert_eq!(
        limit.check(3, "the formation asks for"),
        Err("the formation asks for 3 instances in total, but procman may open only 100 files \
             (RLIMIT_NOFILE, its hard limit), enough for 2 instances (2 descriptors each, 96 for \
             procman itself)"
            .to_owned())
    );
    assert!(limit.help().contains("ulimit -n"));
    assert_eq!(
        InstanceLimit::default().check(1001, "scaling would make"),
        Err("scaling would make 1001 instances in total; procman runs at most 1000".to_owned())
    );
}
