//! The command line of formats whose file puts `exec` in front of the Procfile command
//! (systemd's `exec -a NAME`, upstart's `exec` stanza, which runs `sh -c "exec COMMAND"`,
//! daemon's `exec start-stop-daemon --exec PROGRAM`). Foreman writes the command there as it
//! is, which breaks two kinds of commands `procman start` runs: one that starts with `VAR=value`
//! words (`exec` takes the first one for the program: exit 127) and a list, pipeline or compound
//! command (`exec` replaces the shell with its first command: the rest never runs). Which
//! commands `exec` can run is `procman start`'s own rule, [`procman::shell::exec_split`].

use std::borrow::Cow;

use super::escape::sh_quote_always;
use procman::shell::{SHELL, exec_split, with_exec};

/// The script of `ExecStart=/bin/bash -lc SCRIPT`: Foreman's `exec -a "TITLE" COMMAND`, with
/// any leading `VAR=value` words kept in front of `exec` (bash passes them to the program it
/// execs), or the command as written when `exec` cannot run it (it then keeps its own
/// process title).
pub(super) fn bash_script(command: &str, title: &str) -> String {
    match exec_split(command) {
        Some((assignments, program)) => format!("{assignments}exec -a \"{title}\" {program}"),
        None => command.to_owned(),
    }
}

/// Whether [`bash_script`] execs the program: the unit's main process is then the program
/// itself, else a `bash` that waits for the commands it runs.
pub(super) fn bash_execs(command: &str) -> bool {
    exec_split(command).is_some()
}

/// `None` when the command starts with its program, so that `exec COMMAND` runs it as written
/// (Foreman's line is kept); else the script to run with `/bin/sh -c` instead, with `exec` after
/// any leading `VAR=value` words as `procman start` runs it.
pub(super) fn sh_script(command: &str) -> Option<Cow<'_, str>> {
    match exec_split(command) {
        Some((assignments, _)) if assignments.trim().is_empty() => None,
        _ => Some(with_exec(command).map_or(Cow::Borrowed(command), Cow::Owned)),
    }
}

/// The command after upstart's `exec` stanza: the command itself, or `/bin/sh -c 'SCRIPT'`
/// (see [`sh_script`]).
pub(super) fn upstart_exec(command: &str) -> Cow<'_, str> {
    match sh_script(command) {
        None => Cow::Borrowed(command),
        Some(script) => Cow::Owned(format!("{SHELL} -c {}", sh_quote_always(&script))),
    }
}

/// The program and the arguments of `start-stop-daemon --exec PROGRAM -- ARGUMENTS`: the
/// command's first word and the others (Foreman's), or `/bin/sh` and `-c 'SCRIPT'`.
pub(super) fn daemon_exec(command: &str) -> (String, String) {
    match sh_script(command) {
        None => {
            let mut words = command.split_whitespace();
            let program = words.next().unwrap_or_default().to_owned();
            (program, words.collect::<Vec<_>>().join(" "))
        }
        Some(script) => (SHELL.to_owned(), format!("-c {}", sh_quote_always(&script))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bash_script_keeps_foremans_exec_for_a_simple_command() {
        for command in ["bundle exec puma -p $PORT", "./web > log 2>&1", "echo 'a; b' \"c|d\""] {
            assert_eq!(
                bash_script(command, "shop-web.1"),
                format!("exec -a \"shop-web.1\" {command}")
            );
            assert!(bash_execs(command));
        }
    }

    #[test]
    fn bash_script_puts_assignments_before_exec() {
        assert_eq!(
            bash_script(r#"URL="postgres://x" B='two words' ./web --x"#, "shop-web.1"),
            r#"URL="postgres://x" B='two words' exec -a "shop-web.1" ./web --x"#
        );
        assert!(bash_execs("A=1 ./web"));
    }

    #[test]
    fn bash_script_runs_other_commands_as_written() {
        for command in [
            "./migrate && ./serve",
            "a || b",
            "a; b",
            "a | b",
            "a &",
            "(cd sub && ./run)",
            "{ a; b; }",
            "if true; then a; fi",
            "cd sub",
            "A=1",
            "exec ./web",
        ] {
            assert_eq!(bash_script(command, "shop-web.1"), command, "{command}");
            assert!(!bash_execs(command), "{command}");
        }
    }

    #[test]
    fn upstart_and_daemon_wrap_what_exec_cannot_start() {
        let simple = "bundle exec puma -p $PORT";
        assert_eq!(upstart_exec(simple), simple);
        assert_eq!(daemon_exec(simple), ("bundle".to_owned(), "exec puma -p $PORT".to_owned()));
        assert_eq!(upstart_exec("FOO=bar ./web"), "/bin/sh -c 'FOO=bar exec ./web'");
        assert_eq!(upstart_exec("a && b 'c'"), r"/bin/sh -c 'a && b '\''c'\'''");
        assert_eq!(
            daemon_exec("./migrate  &&  ./serve"),
            ("/bin/sh".to_owned(), "-c './migrate  &&  ./serve'".to_owned())
        );
        assert_eq!(
            daemon_exec("A=1 ./web"),
            ("/bin/sh".to_owned(), "-c 'A=1 exec ./web'".to_owned())
        );
    }
}
