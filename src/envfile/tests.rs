//! Unit tests of `envfile.rs`, including the exact messages users see.

use super::*;

fn parse_text(text: &str) -> Result<Vec<EnvVar>, Diagnostics> {
    parse(Path::new(".env"), text.as_bytes())
}

fn vars(text: &str) -> Vec<(String, String, usize)> {
    match parse_text(text) {
        Ok(vars) => vars.into_iter().map(|var| (var.key, var.value, var.line)).collect(),
        Err(error) => panic!("unexpected error:\n{}", error.render(false)),
    }
}

fn var(key: &str, value: &str, line: usize) -> (String, String, usize) {
    (key.to_owned(), value.to_owned(), line)
}

fn error(text: &str) -> String {
    match parse_text(text) {
        Ok(vars) => panic!("expected an error, got {vars:?}"),
        Err(error) => error.render(false),
    }
}

#[test]
fn dotenvy_syntax_with_line_numbers() {
    let text = "# comment\n\nexport A=1\nB='single $A \\n'\nC=\"double\\n${A}\"\n  D = spaced # note\n\
                E=unquoted#kept\nF=\nG=${A}x\n";
    assert_eq!(
        vars(text),
        vec![
            var("A", "1", 3),
            var("B", "single $A \\n", 4),
            var("C", "double\n1", 5),
            var("D", "spaced", 6),
            var("E", "unquoted#kept", 7),
            var("F", "", 8),
            var("G", "1x", 9),
        ]
    );
}

#[test]
fn multi_line_values_keep_their_starting_line() {
    let text = "A=1\nKEY=\"-----BEGIN\nabc\n-----END\"\n# c\nB=2\r\n";
    assert_eq!(
        vars(text),
        vec![var("A", "1", 1), var("KEY", "-----BEGIN\nabc\n-----END", 2), var("B", "2", 6)]
    );
}

#[test]
fn crlf_and_bom() {
    assert_eq!(
        vars("\u{feff}A=1\r\nB=\"x\r\ny\"\r\n"),
        vec![var("A", "1", 1), var("B", "x\ny", 2)]
    );
}

#[test]
fn interpolation_sees_procman_env_first_then_lines_above() {
    let path = std::env::var("PATH").unwrap_or_default();
    assert_eq!(
        vars("PATH=mine\nP=${PATH}\nQ=${PROCMAN_TEST_SURELY_UNSET}!\n"),
        vec![var("PATH", "mine", 1), var("P", &path, 2), var("Q", "!", 3)]
    );
}

#[test]
fn unquoted_space_is_an_error_with_the_fix() {
    assert_eq!(
        error("A=1\nGREETING=hello world\n"),
        "error: .env line 2: the value of `GREETING` has unquoted whitespace\n  --> .env:2:15\n   \
         |\n 2 | GREETING=hello world\n   |               ^\n   = note: Foreman took the rest of the \
         line as the value; dotenvy needs quotes\n   = help: quote the value: GREETING=\"hello \
         world\"\n"
    );
    // dotenvy ends `$x` at the space and keeps the space: no error there.
    assert_eq!(vars("A=$PROCMANTESTUNSET 'b'\n"), vec![var("A", " b", 1)]);
    assert!(error("A=say \"hi\" now\n").contains("help: quote the value: A='say \"hi\" now'"));
    assert!(error("A=C:\\a b\n").contains("the unknown escape `\\a`"));
}

#[test]
fn key_errors() {
    let rendered = error("1PASSWORD=x\n");
    assert!(rendered.starts_with("error: .env line 1: key `1PASSWORD` starts with a digit\n"));
    assert!(rendered.contains("help: env keys must start with a letter or `_`, e.g. `_1PASSWORD`"));
    let rendered = error("MY-KEY=1\n");
    assert!(
        rendered.starts_with("error: .env line 1: key `MY-KEY` contains `-`\n  --> .env:1:3\n")
    );
    assert!(rendered.contains("e.g. `MY_KEY`"), "{rendered}");
    assert!(error("=v\n").starts_with("error: .env line 1 has no key before `=`\n"));
    assert!(error("KEY\n").starts_with("error: .env line 1: `KEY` has no `=` and no value\n"));
    assert!(
        error("KEY value\n").starts_with("error: .env line 1 is not a `KEY=value` assignment\n")
    );
    assert!(error("!!\n").starts_with("error: .env line 1 is not a `KEY=value` assignment\n"));
    assert!(error("export 1A=1\n").contains("key `1A` starts with a digit"));
}

#[test]
fn escape_and_quote_errors() {
    let rendered = error("TAB=\"a\\tb\"\n");
    assert!(
        rendered.starts_with(
            "error: .env line 1: the value of `TAB` has the unknown escape `\\t`\n  --> .env:1:7\n"
        ),
        "{rendered}"
    );
    let rendered = error("A=1\nQ=\"open\nB=2\n");
    assert!(
        rendered.starts_with(
            "error: .env line 2: the value of `Q` opens a double quote that is never closed\n  --> \
             .env:2:3\n"
        ),
        "{rendered}"
    );
    assert!(rendered.contains("= note: the value spans lines 2 to 3\n"), "{rendered}");
    let rendered = error("S='open\n");
    assert!(rendered.contains("opens a single quote that is never closed"), "{rendered}");
    let rendered = error("U=${NAME\n");
    assert!(
        rendered.starts_with(
            "error: .env line 1: `${` in the value of `U` is never closed\n  --> .env:1:3\n"
        ),
        "{rendered}"
    );
    let rendered = error("H=\"$HOME\"\n");
    assert!(
        rendered.contains("the `\"` right after `$HOME` does not close the quote"),
        "{rendered}"
    );
    assert!(
        rendered.contains("help: write `${HOME}` instead of `$HOME` before a quote"),
        "{rendered}"
    );
    assert!(rendered.contains("--> .env:1:4"), "{rendered}");
    let rendered = error("K='a\\'\nB=2\n");
    assert!(
        rendered.contains("a quoted value is never closed and runs to the end of the file"),
        "{rendered}"
    );
}

#[test]
fn every_error_is_reported_and_good_lines_after_errors_still_parse() {
    let error = parse_text("A=a b\nB=ok\nC=c d\n").err().map(|error| error.len());
    assert_eq!(error, Some(2));
}

#[test]
fn binary_and_invalid_utf8() {
    assert!(error("A=1\nB=\0\n").starts_with("error: .env contains a NUL byte on line 2 (byte offset 6): it looks like a binary file, not an env file\n"));
    let rendered = parse(Path::new(".env"), b"A=caf\xe9\n").err().map(|error| error.render(false));
    assert!(
        rendered
            .unwrap_or_default()
            .starts_with("error: .env is not valid UTF-8: line 1, column 6 (byte offset 5)\n")
    );
}

#[test]
fn loading_rules() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    // No .env: fine. A directory called .env (a Python virtualenv) is skipped, as in Foreman.
    assert_eq!(load(root, None).ok(), Some(EnvFiles::default()));
    std::fs::create_dir(root.join(".env")).expect("mkdir");
    assert_eq!(load(root, None).ok(), Some(EnvFiles::default()));
    std::fs::remove_dir(root.join(".env")).expect("rmdir");

    std::fs::write(root.join(".env"), "A=1\nB=2\n").expect("write");
    std::fs::write(root.join("a.env"), "X=a\nY=a\n").expect("write");
    std::fs::write(root.join("b.env"), "Y=b\nZ=b\nX=b2\n").expect("write");
    let env = load(root, None).expect("default .env");
    assert_eq!(env.pairs(), vec![("A".into(), "1".into()), ("B".into(), "2".into())]);

    let named =
        split_list(&format!("{},{}", root.join("a.env").display(), root.join("b.env").display()));
    let env = load(root, Some(&named)).expect("named files");
    // `-e` replaces the default .env; later files win at the first position.
    let pairs: Vec<(String, String)> =
        vec![("X".into(), "b2".into()), ("Y".into(), "b".into()), ("Z".into(), "b".into())];
    assert_eq!(env.pairs(), pairs);
    assert_eq!(env.get("X").map(|var| (var.line, var.path.ends_with("b.env"))), Some((3, true)));
    assert_eq!(env.files.len(), 2);

    let missing = vec![root.join("nope.env"), root.join("a.env"), root.to_path_buf()];
    let error = load(root, Some(&missing)).expect_err("errors");
    assert_eq!(error.len(), 2);
    let rendered = error.render(false);
    assert!(rendered.contains("nope.env does not exist\n"), "{rendered}");
    assert!(rendered.contains(": it is a directory\n"), "{rendered}");
}

#[test]
fn other_files_values_are_not_interpolated() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("a.env"), "PROCMAN_TEST_ONLY_IN_A=1\n").expect("write");
    std::fs::write(dir.path().join("b.env"), "B=[${PROCMAN_TEST_ONLY_IN_A}]\n").expect("write");
    let files = vec![dir.path().join("a.env"), dir.path().join("b.env")];
    let env = load(dir.path(), Some(&files)).expect("load");
    assert_eq!(env.get("B").map(|var| var.value.as_str()), Some("[]"));
}

#[test]
fn split_list_drops_empty_items() {
    assert_eq!(split_list("a.env,,b.env,"), vec![PathBuf::from("a.env"), PathBuf::from("b.env")]);
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn never_panics_and_lines_are_in_range(text in "([A-Z_]{1,3}( ?= ?)[a-z \"'\\\\$#{}]{0,8}\n?){0,8}") {
            let lines = text.split('\n').count();
            match parse_text(&text) {
                Ok(vars) => for var in vars { prop_assert!(var.line >= 1 && var.line <= lines) },
                Err(errors) => for error in errors.list {
                    prop_assert!(error.line.is_some_and(|line| line >= 1 && line <= lines));
                }
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = parse(Path::new(".env"), &bytes);
        }

        #[test]
        fn simple_values_round_trip(
            pairs in proptest::collection::vec(("[A-Z][A-Z0-9_]{0,8}", "[a-zA-Z0-9 ._/:-]{0,20}"), 1..8)
        ) {
            let text: String = pairs.iter().map(|(key, value)| format!("{key}='{value}'\n")).collect();
            let parsed = parse_text(&text).map_err(|error| TestCaseError::fail(error.render(false)))?;
            let parsed: Vec<(String, String)> = parsed.into_iter().map(|var| (var.key, var.value)).collect();
            prop_assert_eq!(parsed, pairs);
        }
    }
}

#[test]
fn the_example_in_docs_env_md_parses_as_documented() {
    let doc = include_str!("../../docs/env.md");
    let start = doc.find("```sh\n").map(|at| at + 6).unwrap_or_default();
    let end = doc[start..].find("```").map_or(start, |len| start + len);
    let parsed = vars(&doc[start..end]);
    let get = |key: &str| parsed.iter().find(|(k, _, _)| k == key).map(|(_, v, _)| v.as_str());
    assert_eq!(get("PLAIN"), Some("value"));
    assert_eq!(get("HASH"), Some("a#b"));
    assert_eq!(get("EXPORTED"), Some("1"));
    assert_eq!(get("SPACED"), Some("ok"));
    assert_eq!(get("SINGLE"), Some("nothing $is \\n escaped here"));
    assert_eq!(get("DOUBLE"), Some("a\nb, a \"quote\", a $dollar, value"));
    assert_eq!(get("ESCAPED"), Some("a b"));
    assert_eq!(get("MULTI"), Some("line one\nline two"));
    assert_eq!(get("EMPTY"), Some(""));
}

#[test]
fn a_megabyte_of_distinct_keys_loads_quickly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text: String = (0..100_000).map(|n| format!("K{n}=v\n")).collect();
    std::fs::write(dir.path().join(".env"), &text).expect("write");
    let started = std::time::Instant::now();
    let env = load(dir.path(), None).expect("loads");
    assert_eq!(env.vars.len(), 100_000);
    assert!(started.elapsed() < std::time::Duration::from_secs(20), "{:?}", started.elapsed());
}
