//! Unit tests of `dotforeman.rs`, including the exact messages users see.

use super::*;

fn parse(text: &str) -> Result<DotForeman, Diagnostics> {
    DotForeman::parse(Path::new(".foreman"), text.as_bytes())
}

fn pairs(text: &str) -> Vec<(String, String, bool, usize)> {
    match parse(text) {
        Ok(file) => file
            .settings
            .into_iter()
            .map(|setting| (setting.key, setting.value, setting.quoted, setting.line))
            .collect(),
        Err(error) => panic!("unexpected error:\n{}", error.render(false)),
    }
}

fn error(text: &str) -> String {
    match parse(text) {
        Ok(file) => panic!("expected an error, got {file:?}"),
        Err(error) => error.render(false),
    }
}

fn pair(key: &str, value: &str, quoted: bool, line: usize) -> (String, String, bool, usize) {
    (key.to_owned(), value.to_owned(), quoted, line)
}

#[test]
fn foreman_examples() {
    assert_eq!(
        pairs("formation: alpha=0,bravo=1\nport: 15000\n"),
        vec![pair("formation", "alpha=0,bravo=1", false, 1), pair("port", "15000", false, 2)]
    );
}

#[test]
fn scalars_comments_and_document_start() {
    let text = "---\n# defaults\nprocfile: Procfile.dev   # comment\nenv: '.env,it''s.env'\n\
                root: \"/srv/app \\\"x\\\" \\u00e9\\t\"  # c\ntimestamp: false\nno-color: yes\n\
                url: http://x:80/#frag\n";
    assert_eq!(
        pairs(text),
        vec![
            pair("procfile", "Procfile.dev", false, 3),
            pair("env", ".env,it's.env", true, 4),
            pair("root", "/srv/app \"x\" é\t", true, 5),
            pair("timestamp", "false", false, 6),
            pair("no-color", "yes", false, 7),
            pair("url", "http://x:80/#frag", false, 8),
        ]
    );
}

#[test]
fn get_and_booleans() {
    let file = parse("timestamp: Off\nno_color: \"true\"\nport: 5000\n").expect("valid");
    assert_eq!(file.get("timestamp").and_then(Setting::as_bool), Some(false));
    // `-` and `_` are the same in option names; a quoted "true" is text.
    assert_eq!(file.get("no-color").map(|setting| setting.value.as_str()), Some("true"));
    assert_eq!(file.get("no-color").and_then(Setting::as_bool), None);
    assert_eq!(file.get("port").and_then(Setting::as_bool), None);
    assert!(file.get("missing").is_none());
}

#[test]
fn empty_and_comment_only_files_are_fine() {
    assert_eq!(pairs(""), vec![]);
    assert_eq!(pairs("# nothing\n\n---\n"), vec![]);
}

#[test]
fn nested_maps_and_lists_are_refused_once() {
    assert_eq!(
        error("port: 5000\nenv:\n  - a.env\n  - b.env\nformation: web=1\n"),
        "error: .foreman line 2: nested maps and lists are not supported in .foreman\n  --> \
         .foreman:2\n   |\n 2 | env:\n   |\n   = help: .foreman holds flat `key: value` lines, \
         e.g. `formation: web=1,worker=2`\n"
    );
    assert!(error("- a\n").contains("lists are not supported"));
    assert!(error("env: - a\n").contains("lists are not supported"));
    assert!(error("env: [a, b]\n").contains("flow lists (`[a, b]`) are not supported"));
    assert!(error("env: {a: b}\n").contains("flow maps (`{a: b}`) are not supported"));
    assert!(error("port: &p 5000\n").contains("anchors (`&name`) are not supported"));
    assert!(error("port: *p\n").contains("aliases (`*name`) are not supported"));
    assert!(error("port: !!int 5\n").contains("tags (`!tag`) are not supported"));
    assert!(error("env: |\n  a\n").contains("block scalars (`|`, `>`) are not supported"));
    assert!(error("a: 1\n---\nb: 2\n").contains("several YAML documents are not supported"));
    assert!(error("\"port\": 1\n").contains("quoted keys are not supported"));
    assert!(error("? port\n").contains("complex keys are not supported"));
}

#[test]
fn malformed_lines() {
    assert_eq!(
        error("port:5000\n"),
        "error: .foreman line 1 is not a `key: value` line\n  --> .foreman:1\n   |\n 1 | \
         port:5000\n   |\n   = help: put a space after the colon, e.g. `port: 5000`\n"
    );
    assert!(error("port 5000\n").contains("help: write `key: value`, e.g. `port: 5000`"));
    assert!(error("my port: 1\n").contains("`my port` is not an option name"));
    assert!(error("  port: 1\n").contains(".foreman line 1 is indented"));
    assert!(error("port:\n").contains(".foreman line 1: `port` has no value"));
    assert!(error("port: ~\n").contains("`port` has no value"));
    assert!(error("port: null # x\n").contains("`port` has no value"));
    assert!(error("a: b: c\n").contains("a plain value cannot contain `: `"));
    assert!(error("a: @b\n").contains("a plain value cannot start with `@`"));
    assert!(error("a: \"open\n").contains("the quoted value is never closed"));
    assert!(error("a: 'x' y\n").contains("unexpected text after the quoted value"));
    assert!(error("a: \"\\q\"\n").contains("unknown escape `\\q`"));
    assert!(error("a: \"\\0\"\n").contains("unknown escape `\\0`"));
    assert_eq!(
        error("port: 1\nport: 2\n"),
        "error: .foreman sets `port` twice, on lines 1 and 2\n  --> .foreman:2:1\n   |\n 2 | port: \
         2\n   | ^^^^\n   = help: keep one of the two lines\n"
    );
    assert!(error("no-color: 1\nno_color: 2\n").contains("twice"));
}

#[test]
fn every_bad_line_is_reported() {
    assert_eq!(parse("a\nb: [x]\nc: ok\nd:e\n").expect_err("errors").len(), 3);
}

#[test]
fn unknown_keys_and_bad_values_for_the_cli_layer() {
    let file = parse("prot: 5000\nport: abc\n").expect("valid syntax");
    let known = ["port", "procfile", "env", "formation", "timeout"];
    assert_eq!(
        file.check_keys(&known).expect_err("unknown").render(false),
        "error: .foreman line 1: unknown option `prot`\n  --> .foreman:1:1\n   |\n 1 | prot: \
         5000\n   | ^^^^\n   = help: the options .foreman may set are: port, procfile, env, \
         formation, timeout; did you mean `port`?\n"
    );
    let port = file.get("port").expect("port");
    let rendered = file
        .invalid(port, "`abc` is not a port number".to_owned())
        .with_help("use a number from 0 to 65535")
        .render(false);
    assert!(
        rendered
            .starts_with("error: .foreman line 2: `abc` is not a port number\n  --> .foreman:2\n")
    );
    assert!(parse("port: 1\n").expect("valid").check_keys(&known).is_ok());
}

#[test]
fn load_from_a_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    assert!(matches!(DotForeman::load(dir.path()), Ok(None)));
    std::fs::write(dir.path().join(".foreman"), "port: 15000\n").expect("write");
    let loaded = DotForeman::load(dir.path()).ok().flatten().map(|file| file.settings.len());
    assert_eq!(loaded, Some(1));
    std::fs::write(dir.path().join(".foreman"), b"port: \xff\n").expect("write");
    let error = DotForeman::load(dir.path()).expect_err("not UTF-8").render(false);
    assert!(error.starts_with("error: .foreman is not valid UTF-8: line 1, column 7"), "{error}");
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn never_panics(text in "\\PC{0,200}") {
            let _ = parse(&text);
        }

        #[test]
        fn quoted_values_round_trip(key in "[a-z][a-z_-]{0,10}", value in "[^\\x00-\\x1f\\x7f]{0,30}") {
            let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
            let text = format!("{key}: \"{escaped}\"\n{key}2: '{}'\n", value.replace('\'', "''"));
            let file = parse(&text).map_err(|error| TestCaseError::fail(error.render(false)))?;
            prop_assert_eq!(&file.settings[0].value, &value);
            prop_assert_eq!(&file.settings[1].value, &value);
        }
    }
}

#[test]
fn the_example_in_docs_procfile_md_parses() {
    let doc = include_str!("../../docs/procfile.md");
    let start = doc.find("```yaml\n").map(|at| at + 8).unwrap_or_default();
    let end = doc[start..].find("```").map_or(start, |len| start + len);
    let file = parse(&doc[start..end]).expect("the documented example is valid");
    assert_eq!(file.get("formation").map(|setting| setting.value.as_str()), Some("web=1,worker=2"));
    assert_eq!(file.get("env").map(|setting| setting.value.as_str()), Some(".env,.env.local"));
    assert_eq!(file.get("timestamp").and_then(Setting::as_bool), Some(false));
}
