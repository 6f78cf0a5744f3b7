//! Unit tests of `envfile.rs`: Foreman's readings (the table of issue 12), procman's extensions,
//! the errors and warnings users see, and the bounds.

mod properties;

use super::*;

/// procman's environment as the tests see it: only `HOME` and `DB` are set.
fn fixed_environment(name: &str) -> Option<String> {
    match name {
        "HOME" => Some("/home/app".to_owned()),
        "DB" => Some("inherited-db".to_owned()),
        _ => None,
    }
}

fn parse_text(text: &str) -> Result<(Vec<EnvVar>, Diagnostics), Diagnostics> {
    parse_with(Path::new(".env"), text.as_bytes(), fixed_environment)
}

/// `(key, value, line)` of every assignment; fails on any error.
fn vars(text: &str) -> Vec<(String, String, usize)> {
    match parse_text(text) {
        Ok((vars, _)) => vars.into_iter().map(|var| (var.key, var.value, var.line)).collect(),
        Err(error) => panic!("unexpected error:\n{}", error.render(false)),
    }
}

/// The value of the only assignment of `line`, and the warnings, rendered.
fn read_one(line: &str) -> (String, String) {
    match parse_text(&format!("{line}\n")) {
        Ok((vars, warnings)) => {
            assert_eq!(vars.len(), 1, "{line:?} gives {vars:?}");
            (vars[0].value.clone(), warnings.render_warnings(false))
        }
        Err(error) => panic!("{line:?}: unexpected error:\n{}", error.render(false)),
    }
}

fn var(key: &str, value: &str, line: usize) -> (String, String, usize) {
    (key.to_owned(), value.to_owned(), line)
}

fn error(text: &str) -> String {
    match parse_text(text) {
        Ok((vars, _)) => panic!("expected an error, got {vars:?}"),
        Err(error) => error.render(false),
    }
}

// ISSUE_TABLE and FOREMAN_QUIRKS, shared with `tests/cli/parity.rs`, which checks them against
// the real Foreman.
include!("tests/table.rs");

#[test]
fn every_row_of_the_issue_table_reads_as_in_foreman_without_a_warning() {
    for (line, foreman) in ISSUE_TABLE.iter().chain(FOREMAN_QUIRKS) {
        let (value, warnings) = read_one(line);
        assert_eq!(&value, foreman, "{line:?}");
        // The reference implementation agrees, so `tests/cli/parity.rs` tests it too.
        assert_eq!(foreman_reading(line).map(|(_, value)| value).as_deref(), Some(*foreman));
        // A value that keeps its quotes is the only one with a word said (a lint, not a
        // difference).
        let expected_warning = line.starts_with("QUOTE_THEN_SPACE");
        assert_eq!(!warnings.is_empty(), expected_warning, "{line:?}: {warnings}");
    }
}

#[test]
fn lines_with_crlf_and_a_bom_read_as_lf() {
    let text = "\u{feff}A=1\r\nB=\"x\"\r\nC=3";
    assert_eq!(vars(text), vec![var("A", "1", 1), var("B", "x", 2), var("C", "3", 3)]);
}

#[test]
fn blank_and_comment_lines_are_skipped_with_their_numbers_kept() {
    let text = "# comment\n\n   \n  # indented comment\nA=1\n\t\nB=2\n";
    assert_eq!(vars(text), vec![var("A", "1", 5), var("B", "2", 7)]);
}

#[test]
fn export_prefix_is_read_and_warned_about() {
    let (value, warnings) = read_one("export EXPORTED=yes");
    assert_eq!(value, "yes");
    assert_eq!(
        warnings,
        "warning: .env line 1: Foreman reads this line differently\n  --> .env:1:1\n   |\n 1 | \
         export EXPORTED=yes\n   | ^\n   = note: procman reads `export EXPORTED=...` as \
         `EXPORTED=...`; Foreman ignores lines that start with `export`\n   = note: procman \
         reads `yes`; Foreman reads nothing (the line is ignored)\n   = help: to mean the same \
         to both, write `EXPORTED=yes`\n"
    );
    assert_eq!(
        vars("export\tTABBED=1\nexport=2\n"),
        vec![var("TABBED", "1", 1), var("export", "2", 2)]
    );
}

#[test]
fn a_hash_after_whitespace_starts_a_comment_with_a_warning() {
    for (line, value) in [
        ("PLAIN=value # a comment", "value"),
        ("TABBED=value\t#comment", "value"),
        ("SINGLE='a # b' # c", "a # b"),
        ("DOUBLE=\"a\\nb\" # c", "a\nb"),
        ("ONLY= # nothing", ""),
        ("UNCLOSED=\"a # b", "\"a"),
    ] {
        let (read, warnings) = read_one(line);
        assert_eq!(read, value, "{line:?}");
        assert!(warnings.contains("Foreman reads this line differently"), "{line:?}: {warnings}");
        assert!(warnings.contains("procman drops the comment"), "{warnings}");
    }
    let (_, warnings) = read_one("PLAIN=value # a comment");
    assert!(warnings.contains("  --> .env:1:13\n"), "{warnings}");
    assert!(
        warnings.contains("= note: procman reads `value`; Foreman reads `value # a comment`\n"),
        "{warnings}"
    );
    assert!(
        warnings.contains(
            "= help: to mean the same to both, write `PLAIN=value` and put the comment on a line \
             of its own\n"
        ),
        "{warnings}"
    );
    // Quoted as a whole, a `#` is part of the value, as in Foreman.
    assert_eq!(read_one("Q=\"a\" # b \"c\""), ("a\" # b \"c".to_owned(), String::new()));
}

#[test]
fn defined_names_are_replaced_and_others_stay() {
    let text = "BASE=app\nDERIVED=${BASE}-db\nBARE=$BASE/x\nDOUBLE=\"$BASE and ${BASE}\"\n\
                SINGLE='$BASE'\nESCAPED=\"\\$BASE\"\nUNQUOTED_ESCAPE=\\$BASE\nHOME_DIR=$HOME/data\n\
                LONGER=$BASEMENT\nSHORTER=$DB_HOST\nUNDERSCORE=${BASE}_x\nLATER=$NOT_YET\nNOT_YET=1\n";
    let values: Vec<(String, String)> =
        vars(text).into_iter().map(|(key, value, _)| (key, value)).collect();
    let expected = [
        ("BASE", "app"),
        ("DERIVED", "app-db"),
        ("BARE", "app/x"),
        ("DOUBLE", "app and app"),
        ("SINGLE", "$BASE"),
        ("ESCAPED", "$BASE"),
        ("UNQUOTED_ESCAPE", "\\$BASE"),
        ("HOME_DIR", "/home/app/data"),
        // The longest name is the name: `$BASEMENT` is not `$BASE` + `MENT`, and `$DB_HOST`
        // is not `$DB` + `_HOST` even though DB is set.
        ("LONGER", "$BASEMENT"),
        ("SHORTER", "$DB_HOST"),
        ("UNDERSCORE", "app_x"),
        ("LATER", "$NOT_YET"),
        ("NOT_YET", "1"),
    ];
    let expected: Vec<(String, String)> =
        expected.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    assert_eq!(values, expected);
}

#[test]
fn the_files_values_win_over_procmans_environment_for_interpolation() {
    assert_eq!(vars("DB=mine\nURL=$DB\n")[1], var("URL", "mine", 2));
    assert_eq!(vars("URL=$DB\n")[0], var("URL", "inherited-db", 1));
}

#[test]
fn a_replaced_name_is_warned_about_without_showing_its_value() {
    let (value, warnings) = read_one("DATA=$HOME/data");
    assert_eq!(value, "/home/app/data");
    assert_eq!(
        warnings,
        "warning: .env line 1: Foreman reads this line differently\n  --> .env:1:6\n   |\n 1 | \
         DATA=$HOME/data\n   |      ^\n   = note: procman replaces `$HOME` with the value of HOME \
         (from procman's environment); Foreman keeps the \
         text `$HOME`\n   = help: to keep \
         `$HOME` as text for both, write `DATA='$HOME/data'`; Foreman cannot replace `$HOME`, so \
         if you mean its value, this line needs procman\n"
    );
    let (_, vars_warnings) = parse_text("A=1\nB=\"${A}\"\n").expect("parses");
    let rendered = vars_warnings.render_warnings(false);
    assert!(rendered.contains("--> .env:2:4"), "{rendered}");
    assert!(rendered.contains("the value of A (set on line 1)"), "{rendered}");
}

#[test]
fn values_from_earlier_files_are_visible_and_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("a.env"), "PROCMAN_TEST_ONLY_IN_A=1\n").expect("write");
    std::fs::write(dir.path().join("b.env"), "B=[${PROCMAN_TEST_ONLY_IN_A}]\n").expect("write");
    let files = vec![dir.path().join("a.env"), dir.path().join("b.env")];
    let env = load(dir.path(), Some(&files), Scope::Inherited).expect("load");
    assert_eq!(env.get("B").map(|var| var.value.as_str()), Some("[1]"));
    let warnings = env.warnings.render_warnings(false);
    assert!(warnings.contains("(set in a.env:1)"), "{warnings}");
}

#[test]
fn files_only_interpolation_sees_the_files_and_never_procmans_environment() {
    // `PATH` is set in procman's environment (cargo runs the tests with one); the files set A.
    let Some(path) = std::env::var_os("PATH").map(|path| path.to_string_lossy().into_owned())
    else {
        panic!("the tests run with a PATH");
    };
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("a.env"), "A=1\n").expect("write");
    std::fs::write(dir.path().join("b.env"), "B=$A/$PATH\nC=\"${PATH}:${A}\"\n").expect("write");
    let files = vec![dir.path().join("a.env"), dir.path().join("b.env")];
    let value = |env: &EnvFiles, key: &str| env.get(key).map(|var| var.value.clone());

    let env = load(dir.path(), Some(&files), Scope::FilesOnly).expect("load");
    assert_eq!(value(&env, "B").as_deref(), Some("1/$PATH"));
    assert_eq!(value(&env, "C").as_deref(), Some("${PATH}:1"));

    let env = load(dir.path(), Some(&files), Scope::Inherited).expect("load");
    assert_eq!(value(&env, "B"), Some(format!("1/{path}")));
    assert_eq!(value(&env, "C"), Some(format!("{path}:1")));
}

#[test]
fn a_bom_makes_foreman_ignore_the_first_line() {
    let (vars, warnings) = parse_text("\u{feff}A=1\nB=2\n").expect("parses");
    assert_eq!(vars.len(), 2);
    assert_eq!(warnings.len(), 1);
    let rendered = warnings.render_warnings(false);
    assert!(rendered.starts_with("warning: .env line 1: Foreman reads this line differently"));
    assert!(rendered.contains("byte-order mark"), "{rendered}");
}

#[test]
fn a_quote_followed_by_whitespace_is_kept_and_warned_about() {
    let (value, warnings) = read_one("Q=\"quoted\"  ");
    assert_eq!(value, "\"quoted\"  ");
    assert!(warnings.starts_with(
        "warning: .env line 1: the value of `Q` keeps its quotes: whitespace follows the closing \
         quote\n  --> .env:1:11\n"
    ));
    assert!(warnings.contains("= help: remove the whitespace after the quote: `Q=\"quoted\"`"));
}

#[test]
fn lines_foreman_ignores_are_errors_with_a_fix() {
    let rendered = error("A=1\n  INDENTED=x\n");
    assert_eq!(
        rendered,
        "error: .env line 2 is indented\n  --> .env:2:1\n   |\n 2 |   INDENTED=x\n   | ^^\n   = \
         note: Foreman ignores this line without a word; procman refuses it, since the variable \
         it means would not be set\n   = help: remove the whitespace before `INDENTED=x`\n"
    );
    let rendered = error("SPACED = value\n");
    assert!(rendered.starts_with("error: .env line 1: whitespace before `=`\n  --> .env:1:7\n"));
    assert!(rendered.contains("= help: write `SPACED=value`\n"), "{rendered}");
    let rendered = error("MY-KEY=1\n");
    assert!(
        rendered.starts_with("error: .env line 1: key `MY-KEY` contains `-`\n  --> .env:1:3\n")
    );
    assert!(rendered.contains("e.g. `MY_KEY`"), "{rendered}");
    assert!(error("A.B=1\n").contains("key `A.B` contains `.`"));
    assert!(error("=v\n").starts_with("error: .env line 1 has no key before `=`\n"));
    assert!(error("KEY\n").starts_with("error: .env line 1: `KEY` has no `=` and no value\n"));
    assert!(
        error("KEY value\n").starts_with("error: .env line 1 is not a `KEY=value` assignment\n")
    );
    assert!(error("!!\n").starts_with("error: .env line 1 is not a `KEY=value` assignment\n"));
    assert!(error("export A-B=1\n").contains("key `A-B` contains `-`"));
    assert!(error("export KEY\n").contains("`KEY` has no `=` and no value"));
}

#[test]
fn a_value_on_several_lines_gets_the_one_line_fix() {
    let errors =
        parse_text("KEY=\"-----BEGIN KEY-----\nMIIBOgIBAAJBAK+/x==\n-----END KEY-----\"\nB=2\n")
            .expect_err("two lines are not assignments");
    assert_eq!(errors.len(), 2);
    assert!(errors.list[1].render(false).contains("line 1 opens a `\"`"));
    let rendered = errors.list[0].render(false);
    assert!(
        rendered.starts_with("error: .env line 2: key `MIIBOgIBAAJBAK+/x` contains `+`\n"),
        "{rendered}"
    );
    assert!(
        rendered.contains(
            "= note: line 1 opens a `\"` that it does not close: a value is one line long, as in \
             Foreman\n"
        ),
        "{rendered}"
    );
    assert!(
        rendered.contains(
            "= help: write line breaks as `\\n` inside double quotes: `KEY=\"line one\\nline two\"`"
        ),
        "{rendered}"
    );
}

#[test]
fn every_error_is_reported_and_good_lines_after_errors_still_parse() {
    let errors = parse_text("A a\nB=ok\nC c\n").err().map(|error| error.len());
    assert_eq!(errors, Some(2));
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
fn doubling_a_value_stops_at_the_value_bound_naming_the_line() {
    // 2^20 bytes (line 21) is the most a value may hold; line 22 would double it again.
    let text: String =
        std::iter::once("A=x\n".to_owned()).chain((0..30).map(|_| "A=$A$A\n".to_owned())).collect();
    let errors = parse_text(&text).expect_err("past the bound");
    // Lines 22 to 31 each fail; nothing was built past 1 MiB.
    assert_eq!(errors.len(), 10);
    let rendered = errors.list[0].render(false);
    assert!(
        rendered.starts_with(
            "error: .env line 22: the value of `A` passes 1 MiB (the most a value may hold) once \
             `$A` is replaced\n   --> .env:22:3\n"
        ),
        "{rendered}"
    );
    assert!(rendered.contains("`A=$A$A` doubles A on every line"), "{rendered}");
}

#[test]
fn all_values_together_stop_at_the_total_bound() {
    // A of 512 KiB, then copies of it.
    let mut text = String::from("A=x\n");
    text.extend((0..19).map(|_| "A=$A$A\n".to_owned()));
    text.extend((0..40).map(|n| format!("COPY{n}=$A\n")));
    let errors = parse_text(&text).expect_err("past the total bound");
    let rendered = errors.list[0].render(false);
    assert!(
        rendered.contains("passes the 16 MiB that the values of all env files may hold together"),
        "{rendered}"
    );
    // Lines 1 to 20 hold 1 MiB - 1 bytes together; 30 copies fit in the remaining 15 MiB + 1.
    assert_eq!(errors.list[0].line, Some(51));
}

#[test]
fn loading_rules() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    // No .env: fine. A directory called .env (a Python virtualenv) is skipped, as in Foreman.
    assert_eq!(load(root, None, Scope::Inherited).ok(), Some(EnvFiles::default()));
    std::fs::create_dir(root.join(".env")).expect("mkdir");
    assert_eq!(load(root, None, Scope::Inherited).ok(), Some(EnvFiles::default()));
    std::fs::remove_dir(root.join(".env")).expect("rmdir");

    std::fs::write(root.join(".env"), "A=1\nB=2\n").expect("write");
    std::fs::write(root.join("a.env"), "X=a\nY=a\n").expect("write");
    std::fs::write(root.join("b.env"), "Y=b\nZ=b\nX=b2\n").expect("write");
    let env = load(root, None, Scope::Inherited).expect("default .env");
    assert_eq!(env.pairs(), vec![("A".into(), "1".into()), ("B".into(), "2".into())]);

    let named = vec![root.join("a.env"), root.join("b.env")];
    let env = load(root, Some(&named), Scope::Inherited).expect("named files");
    // `-e` replaces the default .env; later files win at the first position.
    let pairs: Vec<(String, String)> =
        vec![("X".into(), "b2".into()), ("Y".into(), "b".into()), ("Z".into(), "b".into())];
    assert_eq!(env.pairs(), pairs);
    assert_eq!(env.get("X").map(|var| (var.line, var.path.ends_with("b.env"))), Some((3, true)));
    assert_eq!(env.files.len(), 2);

    let missing = vec![root.join("nope.env"), root.join("a.env"), root.to_path_buf()];
    let error = load(root, Some(&missing), Scope::Inherited).expect_err("errors");
    assert_eq!(error.len(), 2);
    let rendered = error.render(false);
    assert!(rendered.contains("nope.env does not exist\n"), "{rendered}");
    assert!(rendered.contains(": it is a directory\n"), "{rendered}");
}

#[test]
fn the_example_in_docs_env_md_parses_as_documented() {
    let doc = include_str!("../../docs/env.md");
    let start = doc.find("```sh\n").map(|at| at + 6).unwrap_or_default();
    let end = doc[start..].find("```").map_or(start, |len| start + len);
    let parsed = vars(&doc[start..end]);
    let get = |key: &str| parsed.iter().find(|(k, _, _)| k == key).map(|(_, v, _)| v.as_str());
    assert_eq!(get("PLAIN"), Some("hello from dotenv"));
    assert_eq!(get("QUOTES"), Some("some \"value\""));
    assert_eq!(get("DOLLAR"), Some("abc$"));
    assert_eq!(get("RAW"), Some("a\\nb"));
    assert_eq!(get("SINGLE"), Some("nothing $HOME \\n changes"));
    assert_eq!(get("DOUBLE"), Some("a\nb, a \"quote\", a $dollar"));
    assert_eq!(get("EXPORTED"), Some("1"));
    assert_eq!(get("COMMENTED"), Some("value"));
    assert_eq!(get("HASH"), Some("a#b"));
    assert_eq!(get("BASE"), Some("app"));
    assert_eq!(get("DERIVED"), Some("app-db"));
    assert_eq!(get("UNDEFINED"), Some("$NOT_SET_ANYWHERE"));
    assert_eq!(get("EMPTY"), Some(""));
}

#[test]
fn a_hundred_thousand_keys_load_in_one_pass() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text: String = (0..100_000).map(|n| format!("K{n}=v\n")).collect();
    std::fs::write(dir.path().join(".env"), &text).expect("write");
    let env = load(dir.path(), None, Scope::Inherited).expect("loads");
    assert_eq!(env.vars.len(), 100_000);
    assert!(env.warnings.is_empty());
}
