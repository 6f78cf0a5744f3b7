//! Unit tests of `procfile.rs`, including the exact messages users see.

use super::*;

fn parse(text: &str) -> Result<Procfile, Diagnostics> {
    Procfile::parse(Path::new("Procfile"), text.as_bytes())
}

fn entries(text: &str) -> Vec<(String, String, usize)> {
    match parse(text) {
        Ok(procfile) => procfile
            .entries
            .into_iter()
            .map(|entry| (entry.name, entry.command, entry.line))
            .collect(),
        Err(error) => panic!("unexpected error:\n{}", error.render(false)),
    }
}

fn error(text: &str) -> String {
    match parse(text) {
        Ok(procfile) => panic!("expected an error, got {procfile:?}"),
        Err(error) => error.render(false),
    }
}

fn entry(name: &str, command: &str, line: usize) -> (String, String, usize) {
    (name.to_owned(), command.to_owned(), line)
}

#[test]
fn foreman_grammar_in_order() {
    let text = "# comment\nweb: bundle exec puma -p $PORT\n\n   \nworker:rake jobs:work\n\
                clock_2-b:\t  ./clock  \n";
    assert_eq!(
        entries(text),
        vec![
            entry("web", "bundle exec puma -p $PORT", 2),
            entry("worker", "rake jobs:work", 5),
            entry("clock_2-b", "./clock", 6),
        ]
    );
}

#[test]
fn crlf_bom_and_indented_comments_are_accepted() {
    let text = "\u{feff}web: a\r\n   # indented comment\r\n\tworker: b --x=1:2\r\n";
    // The tab-indented entry is an error; the rest is fine.
    let rendered = error(text);
    assert!(rendered.contains("Procfile line 3 is indented"), "{rendered}");
    assert_eq!(entries("\u{feff}web: a\r\n# c\r\nworker: b\r\n").len(), 2);
}

#[test]
fn colon_inside_command_and_double_colon_kept() {
    assert_eq!(
        entries("web::cmd\nurl: curl http://x:80/"),
        vec![entry("web", ":cmd", 1), entry("url", "curl http://x:80/", 2)]
    );
}

#[test]
fn check_message_lists_names_in_order() {
    let procfile = parse("worker: b\nweb: a\n").expect("valid");
    assert_eq!(check_message(&procfile), "valid procfile detected (worker, web)");
    assert_eq!(procfile.get("web").map(|entry| entry.line), Some(2));
    assert!(procfile.get("nope").is_none());
}

#[test]
fn no_colon_line() {
    assert_eq!(
        error("web: a\nworker: b\nweb bundle exec puma\n"),
        "error: Procfile line 3 has no `:` separating a name from a command\n  --> Procfile:3\n   |\n \
         3 | web bundle exec puma\n   |\n   = note: Foreman silently skips this line, so the \
         process never runs\n   = help: the line has no process name: write it as `name: \
         command`, e.g. `puma: web bundle exec puma`\n"
    );
}

/// The helps of the errors of `text`, in order.
fn help(text: &str) -> Vec<String> {
    let Err(error) = parse(text) else { panic!("expected an error: {text:?}") };
    error.list.into_iter().filter_map(|diagnostic| diagnostic.help).collect()
}

#[test]
fn no_colon_hints_never_offer_a_name_the_file_uses_or_another_hint_offered() {
    // Issue 12's review: both lines were offered `web`, which line 1 defines.
    assert_eq!(
        help("web: echo hi\nbundle exec sidekiq -C config/sidekiq.yml\nrake\n"),
        [
            "the line has no process name: write it as `name: command`, e.g. `sidekiq: bundle \
             exec sidekiq -C config/sidekiq.yml`",
            "the line has no process name: write it as `name: command`, e.g. `rake: rake`",
        ]
    );
    // Taken by a later line, by lines that mean to define it, or by an earlier hint.
    assert_eq!(
        help("rake\nrake db:migrate\nrake: x\nrake2 : y\n  rake3: z\n"),
        [
            "the line has no process name: write it as `name: command`, e.g. `rake4: rake`",
            "the line has no process name: write it as `name: command`, e.g. `rake5: rake \
             db:migrate`",
            "put the colon right after the name: `rake2: y`",
            "remove the leading whitespace: `rake3: z`",
        ]
    );
    // A first word that names another process is not offered as this line's name.
    assert_eq!(
        help("worker: a\nworker bin/jobs\nclock bin/clock\nclock run\n"),
        [
            "the line has no process name: write it as `name: command`, e.g. `jobs: worker \
             bin/jobs`",
            "write it as `name: command`: `clock: bin/clock` if `clock` is the name, or give the \
             command a name, e.g. `clock2: clock bin/clock`",
            "the line has no process name: write it as `name: command`, e.g. `clock3: clock run`",
        ]
    );
}

#[test]
fn other_hints_offer_free_names_too() {
    assert_eq!(
        help("web: a\nweb2: b\nweb: c\n: ./worker\nworker: d\nmy_web.1: e\nmy_web_1: f\n"),
        [
            "give each process its own name, e.g. `web3`",
            "put a name made of letters, digits, `_` and `-` before the colon, e.g. `worker2: \
             ./worker`",
            "names may contain only ASCII letters, digits, `_` and `-`: write `my_web_12: e`",
        ]
    );
    let help = help("my: a\nmy web: ./web\n");
    assert_eq!(
        help,
        ["names may contain only ASCII letters, digits, `_` and `-`: write `my_web: ./web`"],
        "`my` is taken, so `my: web: ./web` is not offered"
    );
}

#[test]
fn no_colon_after_a_program_names_the_command_instead() {
    for (line, suggestion) in [
        ("python manage.py migrate", "migrate: python manage.py migrate"),
        ("bundle exec puma -p 3000", "puma: bundle exec puma -p 3000"),
        ("celery -A proj worker -l info", "worker: celery -A proj worker -l info"),
        ("./bin/worker", "worker: ./bin/worker"),
        ("npm run dev", "dev: npm run dev"),
        (
            "python manage.py runserver 0.0.0.0:8000",
            "runserver: python manage.py runserver 0.0.0.0:8000",
        ),
    ] {
        let rendered = error(&format!("{line}\n"));
        let help = format!(
            "= help: the line has no process name: write it as `name: command`, e.g. `{suggestion}`\n"
        );
        assert!(rendered.contains(&help), "{line}: {rendered}");
    }
}

#[test]
fn no_colon_with_a_colon_far_away() {
    let rendered = error("web puma -b tcp://0.0.0.0:3000\n");
    assert!(rendered.starts_with("error: Procfile line 1 has no `:` separating"), "{rendered}");
    assert!(
        rendered.contains("`web: puma -b tcp://0.0.0.0:3000` if `web` is the name"),
        "{rendered}"
    );
}

#[test]
fn bad_name_with_dot() {
    assert_eq!(
        error("web.1: ./web\n"),
        "error: Procfile line 1: process name `web.1` contains `.`\n  --> Procfile:1:4\n   |\n 1 | \
         web.1: ./web\n   |    ^\n   = note: Foreman silently skips this line, so the process \
         never runs\n   = help: names may contain only ASCII letters, digits, `_` and `-`: write \
         `web_1: ./web`\n"
    );
}

#[test]
fn bad_name_with_space_and_shell_metacharacters() {
    let rendered = error("my web: ./web\n");
    assert!(rendered.contains("process name `my web` contains a space"), "{rendered}");
    assert!(rendered.contains("write `my_web: ./web`, or, if the name is `my`, `my: web: ./web`"));
    for (line, bad) in
        [("we$b: x", "`$`"), ("a;b: x", "`;`"), ("w`x`: y", "`` ` ``"), ("wéb: x", "`é`")]
    {
        let rendered = error(line);
        let expected = match bad {
            "`` ` ``" => "contains ```".to_owned(),
            other => format!("contains {other}"),
        };
        assert!(rendered.contains(&expected), "{line}: {rendered}");
    }
}

#[test]
fn control_characters_in_names_are_escaped() {
    let rendered = error("we\x1b[31mb: x\n");
    assert!(!rendered.contains('\x1b'), "{rendered:?}");
    assert!(rendered.contains("we\\x1b[31mb"), "{rendered}");
}

#[test]
fn space_before_colon() {
    let rendered = error("web : ./web\n");
    assert!(
        rendered.contains("Procfile line 1 has whitespace between `web` and `:`"),
        "{rendered}"
    );
    assert!(rendered.contains("help: put the colon right after the name: `web: ./web`"));
}

#[test]
fn missing_name_and_missing_command() {
    let rendered = error(": ./web\n");
    assert!(rendered.contains("Procfile line 1 has no process name before `:`"), "{rendered}");
    assert_eq!(
        error("web:   \n"),
        "error: Procfile line 1 gives `web` no command\n  --> Procfile:1:5\n   |\n 1 | web:   \n   \
         |     ^\n   = note: Foreman silently skips this line, so the process never runs\n   = \
         help: write the command after the colon, e.g. `web: ./bin/web`\n"
    );
}

#[test]
fn indented_entry() {
    assert_eq!(
        error("  web: ./web\n"),
        "error: Procfile line 1 is indented\n  --> Procfile:1:1\n   |\n 1 |   web: ./web\n   | ^^\n   \
         = note: Foreman silently skips this line, so the process never runs\n   = help: remove \
         the leading whitespace: `web: ./web`\n"
    );
    // An indented bad line reports its own problem, at the right column.
    let rendered = error("  web.1: x\n");
    assert!(rendered.contains("--> Procfile:1:6"), "{rendered}");
}

#[test]
fn duplicate_names_give_both_lines() {
    assert_eq!(
        error("web: a\nworker: b\nweb: c\n"),
        "error: Procfile defines `web` twice, on lines 1 and 3\n  --> Procfile:3:1\n   |\n 3 | web: \
         c\n   | ^^^\n   = note: line 1 is `web: a`\n   = note: Foreman starts both under the same name, and `run` and `start \
         NAME` see only the second\n   = help: give each process its own name, e.g. `web2`\n"
    );
}

#[test]
fn every_bad_line_is_reported() {
    let error = parse("a b c d\nweb: x\nx.y: z\nw:\n").err().map(|error| error.len());
    assert_eq!(error, Some(3));
}

#[test]
fn empty_file_and_comment_only_file() {
    for text in ["", "\n\n", "# only\n# comments\n"] {
        assert_eq!(
            error(text),
            "error: no processes defined\n  --> Procfile\n   = help: add a line `name: command`, \
             e.g. `web: bundle exec puma`\n"
        );
    }
}

#[test]
fn megabyte_line_is_refused_and_not_echoed_whole() {
    let text = format!("web: a\nworker: {}\n", "x".repeat(1 << 20));
    let rendered = error(&text);
    assert!(
        rendered.starts_with(
            "error: Procfile line 2 is 1048584 bytes long, more than the 64 KiB a Procfile line \
             may have\n  --> Procfile:2\n"
        ),
        "{rendered}"
    );
    assert!(rendered.contains("xxx…\n"));
    assert!(rendered.len() < 1000, "{} bytes", rendered.len());
}

#[test]
fn binary_and_invalid_utf8_files() {
    let rendered = parse_bytes(b"\x7fELF\x02\x01\x01\0\0\0").unwrap_or_default();
    assert!(rendered.starts_with("error: Procfile contains a NUL byte on line 1 (byte offset 7)"));
    let rendered = parse_bytes(b"web: caf\xc3\x28\n").unwrap_or_default();
    assert!(
        rendered
            .starts_with("error: Procfile is not valid UTF-8: line 1, column 9 (byte offset 8)"),
        "{rendered}"
    );
}

fn parse_bytes(bytes: &[u8]) -> Option<String> {
    Procfile::parse(Path::new("Procfile"), bytes).err().map(|error| error.render(false))
}

#[test]
fn missing_and_unreadable_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("Procfile");
    let rendered = Procfile::load(&path).err().map(|error| error.render(false)).unwrap_or_default();
    let shown = path.display();
    assert_eq!(
        rendered,
        format!(
            "error: {shown} does not exist\n  --> {shown}\n   = help: create it with lines such as \
             `web: bundle exec puma`, or name another file with `-f/--procfile` (or the app \
             directory with `-d/--root`)\n"
        )
    );
    assert!(matches!(Procfile::load_if_present(&path), Ok(None)));
    let rendered = Procfile::load(dir.path()).err().map(|error| error.render(false));
    assert!(rendered.unwrap_or_default().contains(": it is a directory\n"));

    std::fs::write(&path, "web: ./web\n").expect("write");
    let loaded =
        Procfile::load_if_present(&path).ok().flatten().map(|procfile| procfile.names().len());
    assert_eq!(loaded, Some(1));
}

#[test]
fn classify_matches_foreman_regex_on_valid_lines() {
    // Lines Foreman's regex accepts are accepted with the same name and command (modulo the
    // trailing whitespace procman trims).
    let regex = regex::Regex::new(r"^([A-Za-z0-9_-]+):\s*(.+)$").expect("regex");
    for line in ["web: a", "w-1_x:b", "a:  b  ", "x::", "y: #c", "z:\tq"] {
        let captures = regex.captures(line).expect("foreman accepts");
        match classify(line) {
            Line::Entry { name, command } => {
                assert_eq!(name, &captures[1]);
                assert_eq!(command, captures[2].trim_end());
            }
            other => panic!("{line:?}: {other:?}"),
        }
    }
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = Procfile::parse(Path::new("Procfile"), &bytes);
        }

        #[test]
        fn rendered_errors_never_hold_control_characters(text in "\\PC{0,40}[\\x00-\\x1f\\x7f]{0,4}\\PC{0,40}") {
            if let Err(error) = Procfile::parse(Path::new("Procfile"), text.as_bytes()) {
                let rendered = error.render(false);
                prop_assert!(!rendered.chars().any(|c| c.is_control() && c != '\n'), "{:?}", rendered);
            }
        }

        #[test]
        fn written_entries_round_trip(
            names in proptest::collection::btree_set("[A-Za-z0-9_-]{1,12}", 1..6),
            command in "[a-z$./ -]{0,20}[a-z]",
        ) {
            let text: String = names.iter().map(|name| format!("{name}: {command}\n")).collect();
            let procfile = Procfile::parse(Path::new("Procfile"), text.as_bytes());
            let procfile = procfile.map_err(|error| TestCaseError::fail(error.render(false)))?;
            let parsed: Vec<&str> = procfile.names();
            let expected: Vec<&str> = names.iter().map(String::as_str).collect();
            prop_assert_eq!(parsed, expected);
            for entry in &procfile.entries {
                prop_assert_eq!(&entry.command, command.trim());
            }
        }
    }
}

#[test]
fn a_file_full_of_bad_lines_stays_cheap() {
    let text = "x\n".repeat(2 << 20);
    let error = parse(&text).expect_err("all bad");
    assert_eq!(error.len(), 2 << 20);
    assert!(error.list.len() <= crate::diagnostic::MAX_KEPT);
}

#[test]
fn free_names_are_found_cheaply_when_many_are_taken() {
    // `web2` to `web100000` taken, and a hundred `web` duplicates to name: each hint resumes
    // where the last one stopped instead of searching from `web2`.
    let mut text: String = (2..=100_000).map(|n| format!("web{n}: x\n")).collect();
    text.push_str(&"web: a\n".repeat(101));
    let helps = help(&text);
    assert_eq!(helps.len(), 100);
    assert_eq!(helps[0], "give each process its own name, e.g. `web100001`");
    assert_eq!(helps[99], "give each process its own name, e.g. `web100100`");
}
