//! `--version`, `--help` with an example for every subcommand, shell completions and the man
//! page, all from the same clap definition.

use std::path::Path;
use std::process::Command;

use crate::harness::{Dir, assert_code, skip};

#[test]
fn version() {
    let dir = Dir::new();
    for args in [&["--version"][..], &["-V"][..]] {
        let finished = dir.run(args);
        assert_code(&finished, 0);
        assert_eq!(finished.stdout(), format!("procman {}\n", env!("CARGO_PKG_VERSION")));
    }
    // Every subcommand knows the version too (clap names it after the subcommand).
    let finished = dir.run(&["start", "--version"]);
    assert_code(&finished, 0);
    assert_eq!(finished.stdout(), format!("procman-start {}\n", env!("CARGO_PKG_VERSION")));
}

#[test]
fn every_subcommand_has_help_with_an_example() {
    let dir = Dir::new();
    let examples = [
        ("start", "procman start web=3"),
        ("run", "procman run rake db:migrate"),
        ("check", "procman check -f Procfile.dev"),
        ("export", "procman export systemd"),
        ("ps", "procman ps --watch"),
        ("restart", "procman restart web.2"),
        ("stop", "procman stop worker.1"),
        ("scale", "procman scale web=3 worker=0"),
        ("signal", "procman signal web USR2"),
        ("completions", "procman completions bash"),
        ("manpage", "procman manpage > procman.1"),
    ];
    for (command, example) in examples {
        for args in [vec![command, "--help"], vec!["help", command]] {
            let finished = dir.run(&args);
            assert_code(&finished, 0);
            let help = finished.stdout();
            assert!(help.contains(&format!("Usage: procman {command}")), "{args:?}:\n{help}");
            assert!(help.contains("Example"), "{args:?}:\n{help}");
            assert!(help.contains(example), "{args:?}:\n{help}");
        }
    }
    let finished = dir.run(&["--help"]);
    assert_code(&finished, 0);
    for command in ["start", "run", "check", "export", "completions", "manpage"] {
        assert!(finished.stdout().contains(&format!("  {command} ")), "{}", finished.stdout());
    }
}

#[test]
fn start_help_lists_foremans_options() {
    let dir = Dir::new();
    let finished = dir.run(&["start", "--help"]);
    let help = finished.stdout();
    for option in [
        "-f, --procfile",
        "-d, --root",
        "-e, --env",
        "-m, --formation",
        "--concurrency",
        "-p, --port",
        "-t, --timeout",
        "-c, --color",
        "--no-timestamp",
        "--no-prefix",
    ] {
        assert!(help.contains(option), "{option} missing:\n{help}");
    }
}

#[test]
fn a_usage_error_exits_2() {
    let dir = Dir::new();
    let finished = dir.run(&["start", "--no-such-option"]);
    assert_code(&finished, 2);
    assert!(finished.stderr().contains("--no-such-option"), "{}", finished.stderr());
    let finished = dir.run(&["run"]);
    assert_code(&finished, 2);
}

#[test]
fn completions_for_bash_and_others() {
    let dir = Dir::new();
    let finished = dir.run(&["completions", "bash"]);
    assert_code(&finished, 0);
    let script = finished.stdout();
    assert!(script.contains("_procman()"), "{script}");
    assert!(script.contains("complete -F _procman"), "{script}");
    assert!(script.contains("--formation"), "{script}");
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let finished = dir.run(&["completions", shell]);
        assert_code(&finished, 0);
        assert!(finished.stdout().contains("procman"), "{shell}");
    }
    let finished = dir.run(&["completions", "tcsh"]);
    assert_code(&finished, 2);
}

#[test]
fn manpage_prints_roff() {
    let dir = Dir::new();
    let finished = dir.run(&["manpage"]);
    assert_code(&finished, 0);
    let page = finished.stdout();
    assert!(page.starts_with(".ie \\n(.g .ds Aq") || page.starts_with(".TH"), "{page}");
    assert!(page.contains(".TH procman 1"), "{page}");
    assert!(page.contains(".SH NAME"), "{page}");
    assert!(page.contains("start"), "{page}");
}

/// The commands `procman --help` lists, but `help`.
fn listed_commands(dir: &Dir) -> Vec<String> {
    let finished = dir.run(&["--help"]);
    assert_code(&finished, 0);
    let help = finished.stdout();
    let (_, listing) = help.split_once("Commands:\n").expect("a command list");
    let names: Vec<String> = listing
        .lines()
        .take_while(|line| line.starts_with("  "))
        // A wrapped description goes on under the descriptions' column.
        .filter(|line| !line.starts_with("   "))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect();
    assert!(names.len() >= 10, "{help}");
    names
}

#[test]
fn manpage_dir_writes_a_page_per_command_that_groff_formats_without_a_warning() {
    let dir = Dir::new();
    let finished = dir.run(&["manpage", "--dir", "man/man1"]);
    assert_code(&finished, 0);
    let man1 = dir.path().join("man/man1");
    let mut expected = vec!["procman.1".to_owned()];
    expected.extend(listed_commands(&dir).iter().map(|name| format!("procman-{name}.1")));
    let mut written: Vec<String> = std::fs::read_dir(&man1)
        .expect("the directory was created")
        .map(|entry| entry.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    let mut sorted = expected.clone();
    sorted.sort();
    assert_eq!(written, sorted);
    // It lists what it wrote, procman's page first, under the directory as it was given.
    let listed: Vec<String> =
        expected.iter().map(|n| Path::new("man/man1").join(n).display().to_string()).collect();
    assert_eq!(finished.stdout().lines().collect::<Vec<_>>(), listed);

    if Command::new("groff").arg("--version").output().is_err() {
        skip("groff is not installed (Debian: groff-base); the pages were not formatted");
        return;
    }
    for name in &expected {
        let page = man1.join(name);
        let command = name.trim_end_matches(".1");
        let text = groff(&page);
        assert!(text.starts_with(&format!("{command}(1)")), "{name}:\n{text}");
        assert!(text.contains("\nNAME\n") && text.contains("\nSYNOPSIS\n"), "{name}:\n{text}");
        // The synopsis names the command as it is typed: `procman start`.
        assert!(text.contains(&command.replacen('-', " ", 1)), "{name}:\n{text}");
    }
    let top = groff(&man1.join("procman.1"));
    assert!(top.contains("procman-start(1)") && top.contains("procman-export(1)"), "{top}");
}

#[test]
fn a_manpage_dir_that_cannot_be_created_is_an_error_naming_it() {
    let dir = Dir::new();
    dir.write("taken", "a file, not a directory\n");
    let finished = dir.run(&["manpage", "--dir", "taken/man1"]);
    assert_code(&finished, 1);
    assert_eq!(finished.stdout(), "");
    assert!(
        finished.stderr().starts_with("error: cannot create taken/man1: "),
        "{}",
        finished.stderr()
    );
}

/// The page formatted as text by groff, which must not warn (`-ww`: every warning on).
fn groff(page: &Path) -> String {
    let output = Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-P-cbou"])
        .arg(page)
        .output()
        .expect("run groff");
    let warnings = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success() && warnings.is_empty(), "{}: {warnings}", page.display());
    String::from_utf8(output.stdout).expect("UTF-8 text")
}
