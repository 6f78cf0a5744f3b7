//! `--version`, `--help` with an example for every subcommand, shell completions and the man
//! page, all from the same clap definition.

use crate::support::assert_code;
use crate::util::Dir;

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
