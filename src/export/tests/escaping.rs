//! Values with spaces, quotes, `%`, `$`, backslashes and unicode reach the process intact in
//! every format we can run or parse; control characters are refused with an error naming the
//! variable or the process.

use std::path::Path;

use super::validators::{
    load_pill, parse_plist, printing_plan, run_inittab, run_runit, supervisord_programs,
    systemd_units, verify_units,
};
use super::{export, ok, options, process, representative, temp, vars};
use crate::export::{ExportError, Format};

/// Values that need escaping somewhere (supervisord cannot hold a value with both quote
/// kinds, so each has one kind).
const TRICKY: &[(&str, &str)] = &[
    ("SPACES", "  two  spaces  inside"),
    ("DOUBLE", r#"say "hi" now"#),
    ("SINGLE", "it's 'quoted'."),
    ("PERCENT", "100% of %n and %%"),
    ("DOLLAR", "$HOME ${PORT} $(id) `id`"),
    ("BACKSLASH", r"C:\temp\new \\ end"),
    ("UNICODE", "ünïcødé ✓ 日本語 🚀"),
    ("PUNCT", "a=b,c;d#e&f|g<h>i"),
];

const COMMAND: &str = r#"printf '%s\n' "it's" "$PORT" 100% '\n' ünï"#;

fn tricky_plan(root: &Path) -> crate::plan::Plan {
    let mut plan = representative(root);
    plan.env = vars(TRICKY);
    plan.processes = vec![process("web", COMMAND, 0, 1)];
    plan
}

#[test]
fn systemd_escapes_environment_and_exec_start() {
    let mut plan = tricky_plan(Path::new("/srv/shop"));
    plan.root = "/srv/my \"shop\" 100%".into();
    let dir = systemd_units(&plan, None);
    let unit = std::fs::read_to_string(dir.path().join("shop-web.1.service")).unwrap_or_default();
    for line in [
        r#"WorkingDirectory=/srv/my "shop" 100%%"#,
        r#"Environment="SPACES=  two  spaces  inside""#,
        r#"Environment="DOUBLE=say \"hi\" now""#,
        r#"Environment="SINGLE=it's 'quoted'.""#,
        r#"Environment="PERCENT=100%% of %%n and %%%%""#,
        r#"Environment="DOLLAR=$HOME ${PORT} $(id) `id`""#,
        r#"Environment="BACKSLASH=C:\\temp\\new \\\\ end""#,
        r#"Environment="UNICODE=ünïcødé ✓ 日本語 🚀""#,
        r#"ExecStart=/bin/bash -lc 'exec -a "shop-web.1" printf \'%%s\\n\' "it\'s" "$$PORT" 100%% \'\\n\' ünï'"#,
    ] {
        assert!(unit.lines().any(|l| l == line), "missing {line}\nin\n{unit}");
    }
    // systemd's own parser: unbalanced quotes or bad escapes would be reported here.
    if let Some(output) = verify_units(dir.path()) {
        assert_eq!(output, "", "systemd-analyze verify warned");
    }
}

#[test]
fn supervisord_round_trips_values_through_its_parser() {
    let root = temp();
    let mut plan = tricky_plan(root.path());
    plan.processes[0].command = format!("{COMMAND} ; echo done # not a comment");
    let Some(programs) = supervisord_programs(&plan) else { return };
    let web = &programs["shop-web-1"];
    for (name, value) in TRICKY {
        assert_eq!(web["environment"][name], *value, "{name}");
    }
    assert_eq!(web["argv"], serde_json::json!(["/bin/sh", "-c", plan.processes[0].command]));
}

#[test]
fn supervisord_refuses_values_it_cannot_spell() {
    let mut plan = representative(Path::new("/srv/shop"));
    plan.env = vars(&[("BOTH", r#"it's "both" here"#)]);
    let mut options = options(Format::Supervisord, "/nonexistent/x");
    options.dry_run = true;
    let error = export(&plan, &options).err().map(|e| e.to_string()).unwrap_or_default();
    assert_eq!(
        error,
        "the value of `BOTH` (for process `web`) cannot be expressed in supervisord files: \
         supervisord cannot quote a value that holds both `'` and `\"`"
    );
}

#[test]
fn runit_and_inittab_pass_values_through_the_shell() {
    let root = temp();
    let command = r#"printf '%s|' "$SPACES" "$DOUBLE" "$SINGLE" "$PERCENT" "$DOLLAR" "$BACKSLASH" "$UNICODE" "$PUNCT"; printf '%s\n' 100% "it's""#;
    let plan = printing_plan(root.path(), command, TRICKY);
    let expected =
        format!("{}|100%\nit's\n", TRICKY.iter().map(|(_, v)| *v).collect::<Vec<_>>().join("|"));
    let printed = run_runit(&plan);
    assert_eq!(printed.len(), 2);
    for (service, text) in printed {
        assert_eq!(text, expected, "{service}");
    }
    let log = temp();
    run_inittab(&plan, log.path());
    let logs = super::tree(log.path());
    assert_eq!(logs["web-1.log"], expected);
}

#[test]
fn bluepill_escapes_ruby_strings_and_the_shell() {
    let root = temp();
    let command = r##"printf '%s|' "$SPACES" "$DOUBLE" "$SINGLE" "$PERCENT" "$DOLLAR" "$BACKSLASH" "$UNICODE" "$PUNCT"; printf '%s\n' 100% "it's" '#{x}' "#$y""##;
    let mut env = TRICKY.to_vec();
    env.push(("HASH", "#{`id`} #$0 #@x"));
    let plan = printing_plan(root.path(), command, &env);
    let Some(pill) = load_pill(&plan) else { return };
    let web = &pill["processes"]["web-1"];
    for (name, value) in &env {
        assert_eq!(web["environment"][name], *value, "{name}");
    }
    let expected = format!(
        "{}|100%\nit's\n#{{x}}\n#\n",
        TRICKY.iter().map(|(_, v)| *v).collect::<Vec<_>>().join("|")
    );
    assert_eq!(web["output"], expected);
}

#[test]
fn launchd_escapes_xml() {
    let root = temp();
    let dir = temp();
    let mut plan = tricky_plan(root.path());
    plan.processes[0].command = "echo '<b>' && echo \"a & b\"".to_owned();
    ok(export(&plan, &options(Format::Launchd, dir.path())));
    let Some(plist) = parse_plist(&dir.path().join("shop-web-1.plist")) else { return };
    for (name, value) in TRICKY {
        assert_eq!(plist["EnvironmentVariables"][name], *value, "{name}");
    }
    assert_eq!(plist["ProgramArguments"][2], plan.processes[0].command);
}

#[test]
fn control_characters_are_refused_naming_the_value() {
    let plan = representative(Path::new("/srv/shop"));
    for format in crate::export::Format::ALL {
        let mut options =
            options(format, if format == Format::Inittab { "-" } else { "/nonexistent/x" });
        options.dry_run = true;
        options.image = Some("shop:1".to_owned());

        let mut bad = plan.clone();
        bad.env.push(("MOTD".to_owned(), "line one\nline two".to_owned()));
        let error = export(&bad, &options).err();
        assert!(
            matches!(&error, Some(ExportError::UnsafeValue { character: '\n', .. })),
            "{format}: {error:?}"
        );
        let message = error.map(|e| e.to_string()).unwrap_or_default();
        assert!(
            message.starts_with(&format!(
                "the value of `MOTD` (from the env files) contains the control character '\\n', \
                 which cannot be written safely into {format} files"
            )),
            "{message}"
        );

        let mut bad = plan.clone();
        bad.processes[1].command = "sidekiq\nExecStartPre=/bin/rm -rf /".to_owned();
        let message = export(&bad, &options).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            message.starts_with(
                "the command of process `worker` contains the control character '\\n'"
            ),
            "{message}"
        );

        let mut bad = plan.clone();
        bad.processes[1].env.push(("TABBED".to_owned(), "a\tb".to_owned()));
        let message = export(&bad, &options).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            message.starts_with("the value of `TABBED` (from the config of process `worker`) contains the control character '\\t'"),
            "{message}"
        );
    }
}

#[test]
fn invalid_variable_names_are_refused() {
    let mut plan = representative(Path::new("/srv/shop"));
    plan.env.push(("1ST".to_owned(), "x".to_owned()));
    let mut options = options(Format::Systemd, "/nonexistent/x");
    options.dry_run = true;
    let message = export(&plan, &options).err().map(|e| e.to_string()).unwrap_or_default();
    assert_eq!(
        message,
        "environment variable `1ST` from the env files has an invalid name: use letters, digits \
         and `_`, not starting with a digit"
    );
}
