//! Unit tests of `shell.rs`, including the exact messages users see.

use super::*;

fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(key, value)| (key.to_string(), value.to_string())).collect()
}

fn run(command: &str) -> Vec<String> {
    argv(command, &vars(&[("PORT", "5000"), ("PS", "web.1")]))
}

fn sh(script: &str) -> Vec<String> {
    vec!["/bin/sh".to_owned(), "-c".to_owned(), script.to_owned()]
}

fn words(list: &[&str]) -> Vec<String> {
    list.iter().map(|word| word.to_string()).collect()
}

#[test]
fn substitution_longest_key_at_a_boundary() {
    let env = vars(&[("PORT", "5000"), ("PORTAL", "portal"), ("PS", "web.1"), ("A.B", "dot")]);
    assert_eq!(substitute("-p $PORT", &env), "-p 5000");
    assert_eq!(substitute("$PORTAL/$PORT", &env), "portal/5000");
    // No key `PORTX`: left for the shell instead of Foreman's `5000X`.
    assert_eq!(substitute("$PORTX $PS.log", &env), "$PORTX web.1.log");
    assert_eq!(substitute("$A.B $A.C", &env), "dot $A.C");
    assert_eq!(substitute("${PORT} $$PORT $ $", &env), "${PORT} $5000 $ $");
    assert_eq!(substitute("'$PORT' \\$PORT", &env), "'5000' \\5000");
    assert_eq!(substitute("$PORT_X:$PORT-x", &env), "$PORT_X:5000-x");
    assert_eq!(substitute("ünï $PORT ünï", &env), "ünï 5000 ünï");
}

#[test]
fn substitution_is_one_pass_and_later_pairs_win() {
    let env = vars(&[("A", "$B"), ("B", "b"), ("A", "$B!")]);
    assert_eq!(substitute("$A $B", &env), "$B! b");
}

#[test]
fn direct_exec_without_metacharacters() {
    assert_eq!(run("bundle exec puma -p $PORT"), words(&["bundle", "exec", "puma", "-p", "5000"]));
    assert_eq!(run("  ./bin/web \t --ps=$PS  "), words(&["./bin/web", "--ps=web.1"]));
    assert_eq!(run("./a=b c"), words(&["./a=b", "c"]));
    assert_eq!(run("/usr/bin/exit 3"), words(&["/usr/bin/exit", "3"]));
    assert_eq!(run("node server.js %s"), words(&["node", "server.js", "%s"]));
}

#[test]
fn ruby_shell_rule() {
    for text in [
        "echo *",
        "a?",
        "{a}",
        "[a]",
        "a > b",
        "a < b",
        "(a)",
        "~/x",
        "a & b",
        "a | b",
        "a\\ b",
        "echo $HOME",
        "a; b",
        "'a'",
        "`a`",
        "\"a\"",
        "a\nb",
        "a # c",
        "A=1 cmd",
        "exit 3",
        "if",
        "export A=1",
        ". ./env",
        ": noop",
        "while",
    ] {
        assert!(needs_shell(text), "{text:?}");
    }
    for text in [
        "cmd",
        "cmd a=b",
        "./x=y",
        "/bin/exit",
        "ls -la /tmp",
        "node %s",
        "exitx",
        "x/=y",
        "cd /tmp",
        "",
    ] {
        assert!(!needs_shell(text), "{text:?}");
    }
}

#[test]
fn shell_commands_get_exec() {
    assert_eq!(run("bundle exec puma -p $PORT 2>&1"), sh("exec bundle exec puma -p 5000 2>&1"));
    assert_eq!(run("echo 'a;b|c&d' \"x;y\""), sh("exec echo 'a;b|c&d' \"x;y\""));
    assert_eq!(run("A=1 B=\"two words\" ./web --x"), sh("A=1 B=\"two words\" exec ./web --x"));
    assert_eq!(run("FOO=bar"), sh("FOO=bar"));
    assert_eq!(
        run("python -m http.server $PORT >>log 2>&1 </dev/null"),
        sh("exec python -m http.server 5000 >>log 2>&1 </dev/null")
    );
    assert_eq!(run("cmd >| out"), sh("exec cmd >| out"));
    assert_eq!(run("$CMD --x"), sh("exec $CMD --x"));
    assert_eq!(run("cmd a\\;b"), sh("exec cmd a\\;b"));
    assert_eq!(run("cmd # trailing; comment"), sh("exec cmd # trailing; comment"));
    assert_eq!(run("echo *.log ~/x"), sh("exec echo *.log ~/x"));
}

#[test]
fn compound_commands_run_as_written() {
    for text in [
        "a; b",
        "a && b",
        "a || b",
        "a | b",
        "a &",
        "a &> log",
        "a |& b",
        "a\nb",
        "(a)",
        "{ a; }",
        "echo $(date)",
        "echo \"$(date)\"",
        "echo `date`",
        "echo \"`date`\"",
        "if true; then a; fi",
        "! a",
        "exec a",
        "A=1 exec a",
        "cd /tmp && a",
        "cd /tmp; a",
        "ulimit -n 1024 # raise",
        "source .env # load",
        "export A=1",
        "trap '' INT",
        "time a # measure",
        "case x in x) a;; esac",
        "while true",
        "a # comment\nb",
        "echo 'unterminated",
        "echo \"unterminated",
    ] {
        assert_eq!(run(text), sh(text), "{text:?}");
    }
}

#[test]
fn exec_split_cuts_before_the_program() {
    assert_eq!(exec_split("./web -p 1"), Some(("", "./web -p 1")));
    assert_eq!(
        exec_split(r#"URL="postgres://x" B=2  ./web"#),
        Some((r#"URL="postgres://x" B=2  "#, "./web"))
    );
    for text in ["./migrate && ./serve", "a; b", "a | b", "(a)", "cd x", "A=1", "A=1 exec a"] {
        assert_eq!(exec_split(text), None, "{text:?}");
    }
}

#[test]
fn builtins_without_metacharacters_are_exec_directly_as_ruby_does() {
    // Ruby (and so Foreman) only sends reserved words and special built-ins to the shell.
    assert_eq!(run("cd /tmp"), words(&["cd", "/tmp"]));
}

#[test]
fn blank_commands_go_to_the_shell_unchanged() {
    assert_eq!(argv("", &[]), sh(""));
    assert_eq!(argv("$EMPTY", &vars(&[("EMPTY", "")])), sh(""));
}

#[test]
fn values_are_inserted_raw_as_in_foreman() {
    let env = vars(&[("ARGS", "-a -b"), ("GLOB", "*.txt")]);
    assert_eq!(argv("cmd $ARGS", &env), words(&["cmd", "-a", "-b"]));
    assert_eq!(argv("ls $GLOB", &env), sh("exec ls *.txt"));
}

#[test]
fn assignments() {
    assert!(is_assignment("A=1"));
    assert!(is_assignment("_a9=\"x y\""));
    assert!(!is_assignment("9A=1"));
    assert!(!is_assignment("A-B=1"));
    assert!(!is_assignment("cmd"));
    assert!(!is_assignment("=x"));
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn never_panics_and_never_empty(command in "\\PC{0,80}") {
            let argv = argv(&command, &vars(&[("PORT", "5000"), ("X", "$X")]));
            prop_assert!(!argv.is_empty());
        }

        #[test]
        fn exec_is_only_added_in_front_of_a_word(command in "[a-z=\"' ;&|<>2$#]{0,30}") {
            if let Some(script) = with_exec(&command) {
                // Removing the inserted `exec ` gives the original text back.
                let at = script.find("exec ").unwrap_or(0);
                let restored = format!("{}{}", &script[..at], &script[at + 5..]);
                prop_assert_eq!(restored, command.clone());
            }
        }

        #[test]
        fn substitution_without_dollar_is_identity(command in "[^$]{0,60}") {
            prop_assert_eq!(substitute(&command, &vars(&[("PORT", "1")])), command);
        }
    }
}

#[test]
fn the_examples_in_docs_procfile_md_hold() {
    let doc = include_str!("../../docs/procfile.md");
    let mut checked = 0;
    for line in doc.lines().filter(|line| line.starts_with("| `") && line.contains("` | `")) {
        let cells: Vec<&str> = line.trim_matches('|').split(" | ").collect();
        let [command, expected] = cells.as_slice() else { continue };
        let command = command.trim().trim_matches('`');
        let expected: Vec<String> =
            expected.trim().split("` `").map(|word| word.trim_matches('`').to_owned()).collect();
        assert_eq!(run(command), expected, "{command}");
        checked += 1;
    }
    assert_eq!(checked, 5);
}
