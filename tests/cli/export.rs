//! `procman export` through the binary: the options reach the exporter and the files land.

use crate::harness::{Dir, fifo, skip};

/// An app of two processes and a `.env`.
fn app() -> Dir {
    let dir = Dir::with_procfile("web: bundle exec puma -p $PORT\nworker: bundle exec sidekiq\n");
    dir.write(".env", "GREETING=\"hello world\"\n");
    dir
}

#[test]
fn systemd_export_writes_foremans_files_and_lists_them() {
    let dir = app();
    let out =
        dir.run(&["export", "systemd", "units", "-a", "shop", "-u", "deploy", "-m", "all=1,web=2"]);
    assert_eq!(out.code(), Some(0), "{}", out.stderr());
    let units = dir.path().join("units");
    for name in ["shop.target", "shop-web.1.service", "shop-web.2.service", "shop-worker.1.service"]
    {
        assert!(units.join(name).is_file(), "{name} missing; stdout:\n{}", out.stdout());
        assert!(out.stdout().contains(name), "{name} not listed:\n{}", out.stdout());
    }
    let web2 = std::fs::read_to_string(units.join("shop-web.2.service")).expect("unit");
    assert!(web2.contains("User=deploy"), "{web2}");
    assert!(web2.contains("Environment=PORT=5001"), "{web2}");
    assert!(web2.contains("Environment=PS=web.2"), "{web2}");
    assert!(web2.contains("Restart=always"), "{web2}");
    assert!(web2.contains("TimeoutStopSec=5"), "{web2}");
}

#[test]
fn supervision_flags_carry_into_the_units() {
    let dir = app();
    let out = dir.run(&[
        "export",
        "systemd",
        "units",
        "-a",
        "shop",
        "--timeout",
        "20",
        "--stop-signal",
        "web=INT",
        "--restart",
        "on-failure",
    ]);
    assert_eq!(out.code(), Some(0), "{}", out.stderr());
    let web = std::fs::read_to_string(dir.path().join("units/shop-web.1.service")).expect("unit");
    assert!(web.contains("KillSignal=SIGINT"), "{web}");
    assert!(web.contains("Restart=on-failure"), "{web}");
    assert!(web.contains("TimeoutStopSec=20"), "{web}");
}

#[test]
fn inittab_goes_to_standard_output_with_a_dash() {
    let dir = app();
    let out = dir.run(&["export", "inittab", "-", "-a", "shop"]);
    assert_eq!(out.code(), Some(0), "{}", out.stderr());
    assert!(out.stdout().contains("# ----- foreman shop processes -----"), "{}", out.stdout());
    assert!(out.stdout().contains("PORT=5100"), "{}", out.stdout());
}

#[test]
fn dry_run_writes_nothing() {
    let dir = app();
    let out = dir.run(&["export", "supervisord", "conf", "-a", "shop", "--dry-run"]);
    assert_eq!(out.code(), Some(0), "{}", out.stderr());
    assert!(out.stdout().contains("[program:shop-web-1]"), "{}", out.stdout());
    assert!(!dir.path().join("conf").exists());
}

#[test]
fn an_unknown_format_lists_the_known_ones() {
    let dir = app();
    let out = dir.run(&["export", "nomad", "out"]);
    assert_eq!(out.code(), Some(1));
    for known in ["systemd", "supervisord", "launchd", "runit", "upstart", "inittab", "kubernetes"]
    {
        assert!(out.stderr().contains(known), "{known}: {}", out.stderr());
    }
    assert!(!dir.path().join("out").exists());
}

#[test]
fn kubernetes_needs_an_image() {
    let dir = app();
    let out = dir.run(&["export", "kubernetes", "k8s", "-a", "shop"]);
    assert_eq!(out.code(), Some(1));
    assert!(out.stderr().contains("--image"), "{}", out.stderr());
}

/// The names of the files under `dir`, relative, sorted (links not followed).
fn files(dir: &std::path::Path) -> Vec<String> {
    fn walk(base: &std::path::Path, dir: &std::path::Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).expect("read_dir").flatten() {
            let path = entry.path();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                walk(base, &path, out);
            } else {
                out.push(path.strip_prefix(base).unwrap_or(&path).display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

#[test]
fn the_location_holds_only_the_service_managers_files() {
    let dir = app();
    let out = dir.run(&["export", "systemd", "units", "-a", "shop", "-u", "root"]);
    assert_eq!(out.code(), Some(0), "{}", out.stderr());
    let units = dir.path().join("units");
    assert_eq!(files(&units), ["shop-web.1.service", "shop-worker.1.service", "shop.target"]);
    verify_units(&units);
}

/// systemd-analyze over every file of `units`, as an admin would run it.
fn verify_units(units: &std::path::Path) {
    let all: Vec<std::path::PathBuf> = files(units).iter().map(|f| units.join(f)).collect();
    match std::process::Command::new("systemd-analyze").arg("verify").args(&all).output() {
        Ok(verify) => assert!(
            verify.status.success(),
            "systemd-analyze verify: {}",
            String::from_utf8_lossy(&verify.stderr)
        ),
        Err(error) => skip(&format!("systemd-analyze not installed: {error}")),
    }
}

/// The example of docs/config.md: a migration that web waits for, web ready when its PORT
/// accepts a connection, worker ready on a log line and waiting for web to be ready.
fn app_with_order() -> Dir {
    let dir =
        Dir::with_procfile("migrate: bin/migrate\nweb: bin/web -p $PORT\nworker: bin/worker\n");
    dir.write(
        "procman.json",
        r#"{"processes": {
            "web": {"depends_on": {"migrate": "exited"}, "ready": {"port": "$PORT", "timeout": "30s"}},
            "worker": {"depends_on": {"web": "ready"}, "ready": {"log": "^ready"}}}}"#,
    );
    dir
}

const LOG_CHECK_DROPPED: &str =
    "warning: the log-line readiness check of worker (\"^ready\") is dropped";

#[test]
fn exports_carry_start_order_and_readiness_and_say_what_they_drop() {
    let dir = app_with_order();
    let out = dir.run(&["export", "systemd", "units", "-a", "shop", "-u", "root"]);
    assert_eq!(out.code(), Some(0), "{}", out.stderr());
    let units = dir.path().join("units");
    let unit = |name: &str| std::fs::read_to_string(units.join(name)).expect("unit");
    let migrate = unit("shop-migrate.1.service");
    assert!(migrate.contains("Type=oneshot\nRemainAfterExit=yes\n"), "{migrate}");
    let web = unit("shop-web.1.service");
    assert!(
        web.contains("After=shop-migrate.1.service\nRequires=shop-migrate.1.service\n"),
        "{web}"
    );
    assert!(web.contains("ExecStartPost=") && web.contains("TimeoutStartSec=30s"), "{web}");
    let worker = unit("shop-worker.1.service");
    assert!(worker.contains("After=shop-web.1.service\nRequires=shop-web.1.service\n"), "{worker}");
    assert!(!worker.contains("ExecStartPost="), "a log-line check has no unit form: {worker}");
    assert!(out.stderr().contains(LOG_CHECK_DROPPED), "{}", out.stderr());
    verify_units(&units);

    let out = dir.run(&["export", "compose", "compose", "-a", "shop", "--dry-run"]);
    assert_eq!(out.code(), Some(0), "{}", out.stderr());
    let compose = out.stdout();
    for needed in [
        "    depends_on:\n      migrate:\n        condition: service_completed_successfully\n",
        "    depends_on:\n      web:\n        condition: service_healthy\n",
        "    healthcheck:\n",
    ] {
        assert!(compose.contains(needed), "{needed:?} missing:\n{compose}");
    }
    assert!(out.stderr().contains(LOG_CHECK_DROPPED), "{}", out.stderr());

    let args = ["export", "kubernetes", "k8s", "-a", "shop", "--image", "shop:1", "--dry-run"];
    let out = dir.run(&args);
    assert_eq!(out.code(), Some(0), "{}", out.stderr());
    // web's own PORT (5100: Foreman's 100 per type), probed over TCP.
    let probe = "readinessProbe:\n            tcpSocket:\n              port: 5100\n";
    assert!(out.stdout().contains(probe), "{}", out.stdout());
    assert_eq!(out.stdout().matches("readinessProbe:").count(), 1, "{}", out.stdout());
    assert!(
        out.stderr().contains(
            "warning: kubernetes has no start order between Deployments: the depends_on of \
             web, worker is dropped"
        ),
        "{}",
        out.stderr()
    );
}

#[test]
fn the_app_root_need_not_exist_here() {
    let dir = app();
    // -d names where the app lives on the machine that runs the units.
    let root = dir.path().join("nowhere/srv/app");
    let root = root.to_str().expect("utf-8");
    let out =
        dir.run(&["export", "systemd", "units", "-f", "Procfile", "-d", root, "-u", "deploy"]);
    assert_eq!(out.code(), Some(0), "{}", out.stderr());
    let web = std::fs::read_to_string(dir.path().join("units/app-web.1.service")).expect("unit");
    assert!(web.contains(&format!("WorkingDirectory={root}\n")), "{web}");
    assert!(!std::path::Path::new(root).exists());

    // What must exist here still must: the Procfile, the env files named with -e.
    let out = dir.run(&["export", "systemd", "units", "-f", "Missing", "-d", root]);
    assert_eq!(out.code(), Some(1));
    assert!(out.stderr().contains("Missing"), "{}", out.stderr());
    let out =
        dir.run(&["export", "systemd", "units", "-f", "Procfile", "-d", root, "-e", "no.env"]);
    assert_eq!(out.code(), Some(1));
    assert!(out.stderr().contains("no.env"), "{}", out.stderr());
}

#[test]
fn exports_take_no_value_from_the_exporting_shell() {
    // `$NAME` in an export sees only what the env files set (as `start` does, first); a name
    // only this shell sets stays as text, as Foreman writes it: the units run elsewhere.
    let dir = Dir::with_procfile("web: ./web\n");
    dir.write("base.env", "HOST=db.internal\n");
    dir.write(".env", "URL=postgres://$USER@$HOST\nS=$SECRET_TOKEN\nQ=\"${SECRET_TOKEN}!\"\n");
    let export = |args: &[&str]| {
        let mut command = dir.command(args);
        command.env("USER", "builder").env("SECRET_TOKEN", "s3cr3t");
        dir.run_with(command)
    };
    let out = export(&["export", "systemd", "units", "-a", "shop", "-e", "base.env,.env"]);
    assert_eq!(out.code(), Some(0), "{}", out.stderr());
    let web = std::fs::read_to_string(dir.path().join("units/shop-web.1.service")).expect("unit");
    for line in [
        "Environment=\"HOST=db.internal\"\n",
        "Environment=\"URL=postgres://$USER@db.internal\"\n",
        "Environment=\"S=$SECRET_TOKEN\"\n",
        "Environment=\"Q=${SECRET_TOKEN}!\"\n",
    ] {
        assert!(web.contains(line), "{line:?} missing:\n{web}");
    }
    assert!(!web.contains("builder") && !web.contains("s3cr3t"), "{web}");
    assert!(!out.stdout().contains("s3cr3t") && !out.stderr().contains("s3cr3t"));

    // Every format is built from the same environment.
    let out = export(&["export", "inittab", "-", "-a", "shop"]);
    assert_eq!(out.code(), Some(0), "{}", out.stderr());
    assert!(out.stdout().contains("export S='\\''$SECRET_TOKEN'\\'';"), "{}", out.stdout());
    assert!(!out.stdout().contains("s3cr3t"), "{}", out.stdout());

    // `run` starts the command here, where this shell's values are the ones it runs with.
    let out = export(&["run", "env"]);
    assert_eq!(out.code(), Some(0), "{}", out.stderr());
    assert!(out.stdout().lines().any(|line| line == "S=s3cr3t"), "{}", out.stdout());
}

#[test]
fn a_linked_runit_env_directory_is_refused() {
    let dir = app();
    let cron = dir.path().join("cron.d");
    std::fs::create_dir(&cron).expect("mkdir");
    std::fs::create_dir_all(dir.path().join("sv/shop-web-1")).expect("mkdir");
    std::os::unix::fs::symlink(&cron, dir.path().join("sv/shop-web-1/env")).expect("symlink");
    let out = dir.run(&["export", "runit", "sv", "-a", "shop"]);
    assert_eq!(out.code(), Some(1), "{}", out.stdout());
    let link = dir.path().join("sv/shop-web-1/env");
    assert!(
        out.stderr().contains(&format!("symbolic link {}", link.display())),
        "{}",
        out.stderr()
    );
    assert!(files(&cron).is_empty(), "written through the link: {:?}", files(&cron));
    assert!(!dir.path().join("sv/shop-web-1/run").exists());
}

#[test]
fn built_in_templates_are_printed() {
    let dir = Dir::new();
    let out = dir.run(&["export", "--print-template", "systemd", "service"]);
    assert_eq!(out.code(), Some(0), "{}", out.stderr());
    assert!(out.stdout().starts_with("# {{ header }}\n[Unit]\n"), "{}", out.stdout());
    let out = dir.run(&["export", "--print-template", "runit"]);
    assert_eq!(out.stdout(), "run\nlog/run\n");
    let out = dir.run(&["export", "--print-template", "systemd", "socket"]);
    assert_eq!(out.code(), Some(1));
    assert!(out.stderr().contains("process.service, master.target"), "{}", out.stderr());
}

#[test]
fn foremans_erb_templates_are_named_and_not_used() {
    let dir = app();
    dir.write("tpl/process.service.erb", "[Service]\nExecStart=<%= process.command %>\n");
    let out = dir.run(&["export", "systemd", "units", "-a", "shop", "-t", "tpl"]);
    assert_eq!(out.code(), Some(0), "{}", out.stderr());
    let stderr = out.stderr();
    for part in ["minijinja", "process.service.erb", "--print-template systemd process.service"] {
        assert!(stderr.contains(part), "{part}: {stderr}");
    }
    let unit = std::fs::read_to_string(dir.path().join("units/shop-web.1.service")).expect("unit");
    assert!(unit.contains("KillMode=mixed"), "{unit}");
}

#[test]
fn bluepill_writes_one_pill() {
    let dir = app();
    let out = dir.run(&["export", "bluepill", "pills", "-a", "shop", "-u", "deploy"]);
    assert_eq!(out.code(), Some(0), "{}", out.stderr());
    assert_eq!(files(&dir.path().join("pills")), ["shop.pill"]);
    let pill = std::fs::read_to_string(dir.path().join("pills/shop.pill")).expect("pill");
    assert!(pill.contains("Bluepill.application(\"shop\""), "{pill}");
    match std::process::Command::new("ruby")
        .arg("-c")
        .arg(dir.path().join("pills/shop.pill"))
        .output()
    {
        Ok(check) => assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr)),
        Err(error) => skip(&format!("ruby not installed: {error}")),
    }
}

#[test]
fn an_export_over_foremans_replaces_it_and_lists_what_it_removed() {
    let dir = app();
    let foreman = std::process::Command::new("foreman")
        .args(["export", "systemd", "units", "-a", "shop", "-u", "deploy", "-m", "web=2,worker=1"])
        .current_dir(dir.path())
        .output();
    match foreman {
        Ok(output) => {
            assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stdout))
        }
        Err(error) => return skip(&format!("foreman not installed: {error}")),
    }
    let out = dir.run(&["export", "systemd", "units", "-a", "shop", "-u", "deploy"]);
    assert_eq!(out.code(), Some(0), "{}", out.stderr());
    let units = dir.path().join("units");
    for line in [
        format!("writing: {}/shop.target (replaces Foreman's)", units.display()),
        format!("writing: {}/shop-web.1.service (replaces Foreman's)", units.display()),
        format!("cleaning up: {}/shop-web.2.service (Foreman's)", units.display()),
    ] {
        assert!(out.stdout().contains(&line), "{line}: {}", out.stdout());
    }
    assert_eq!(files(&units), ["shop-web.1.service", "shop-worker.1.service", "shop.target"]);
    for file in files(&units) {
        let text = std::fs::read_to_string(units.join(&file)).expect("unit");
        assert!(text.starts_with("# Generated by procman export"), "{file}: {text}");
    }
}

#[test]
fn a_template_that_is_not_a_regular_file_is_an_error_naming_it_and_nothing_is_written() {
    let dir = app();
    std::fs::create_dir(dir.path().join("tpl")).expect("mkdir");
    let planted = fifo(&dir, "tpl/run");
    let export = ["export", "runit", "sv", "-a", "shop", "-t", "tpl"];
    let refused = |what: &str| {
        let out = dir.run(&export);
        assert_eq!(out.code(), Some(1), "{what}: {}\n{}", out.stdout(), out.stderr());
        assert!(
            out.stderr().contains(&format!("cannot read the template tpl/run: it is {what}")),
            "{what}: {}",
            out.stderr()
        );
        assert!(!dir.path().join("sv").exists(), "{what}: something was written");
    };
    refused("a named pipe (FIFO), not a regular file");
    // A device, through a link, and a directory are refused the same way.
    std::fs::remove_file(&planted).expect("rm");
    std::os::unix::fs::symlink("/dev/zero", &planted).expect("symlink");
    refused("a character device, not a regular file");
    std::fs::remove_file(&planted).expect("rm");
    std::fs::create_dir(&planted).expect("mkdir");
    refused("a directory");
    // Nothing there: the built-in template, as before.
    std::fs::remove_dir(&planted).expect("rmdir");
    let out = dir.run(&export);
    assert_eq!(out.code(), Some(0), "{}", out.stderr());
    let run = std::fs::read_to_string(dir.path().join("sv/shop-web-1/run")).expect("run");
    assert!(run.contains("exec"), "{run}");
}

/// The words of a systemd setting's value as systemd reads them (systemd.syntax(7)): split at
/// blanks, quotes removed with their C escapes undone, `%%` read as `%` and `$$` as `$`.
fn systemd_words(value: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut chars = value.chars().peekable();
    while chars.peek().is_some() {
        while chars.next_if(|c| c.is_ascii_whitespace()).is_some() {}
        let quote = chars.next_if(|&c| c == '\'' || c == '"');
        let mut word = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' if quote.is_some() => match chars.next() {
                    Some('n') => word.push('\n'),
                    Some('t') => word.push('\t'),
                    Some(other) => word.push(other),
                    None => panic!("a trailing backslash in {value}"),
                },
                '%' | '$' if chars.peek() == Some(&c) => {
                    chars.next();
                    word.push(c);
                }
                c if Some(c) == quote => break,
                c if quote.is_none() && c.is_ascii_whitespace() => break,
                c => word.push(c),
            }
        }
        words.push(word);
    }
    words
}

#[test]
fn systemd_runs_commands_with_assignments_and_lists() {
    let dir = Dir::with_procfile(
        "env: FOO=\"two words\" sh -c 'echo \"$FOO $PS $0\"'\nboth: echo first && echo \"second $PORT 100%\"\n",
    );
    let out = dir.run(&["export", "systemd", "units", "-a", "shop", "-u", "root"]);
    assert_eq!(out.code(), Some(0), "{}", out.stderr());
    let units = dir.path().join("units");
    for (unit, exec_start, kill_mode, printed) in [
        (
            "shop-env.1.service",
            r#"ExecStart=/bin/bash -lc 'FOO="two words" exec -a "shop-env.1" sh -c \'echo "$$FOO $$PS $$0"\''"#,
            "KillMode=mixed",
            // `$0` of `sh -c` is its argv[0]: the title `exec -a` gave it.
            "two words env.1 shop-env.1\n",
        ),
        (
            "shop-both.1.service",
            r#"ExecStart=/bin/bash -lc 'echo first && echo "second $$PORT 100%%"'"#,
            "KillMode=control-group",
            "first\nsecond 5100 100%\n",
        ),
    ] {
        let text = std::fs::read_to_string(units.join(unit)).expect("unit");
        let line = text.lines().find(|l| l.starts_with("ExecStart=")).unwrap_or_default();
        assert_eq!(line, exec_start, "{unit}");
        assert!(text.lines().any(|l| l == kill_mode), "{unit}: {text}");
        // What systemd would run, with `-c` for `-lc` (a login shell reads the profile).
        let words = systemd_words(&line["ExecStart=".len()..]);
        assert_eq!(&words[..2], ["/bin/bash", "-lc"], "{unit}");
        let mut bash = std::process::Command::new(&words[0]);
        bash.args(["-c", &words[2]]).current_dir(dir.path()).env_clear();
        bash.env("PATH", std::env::var_os("PATH").unwrap_or_default());
        for value in text.lines().filter_map(|l| l.strip_prefix("Environment=")) {
            for word in systemd_words(value) {
                let (key, value) = word.split_once('=').expect("NAME=value");
                bash.env(key, value);
            }
        }
        let output = bash.output().expect("bash");
        assert!(output.status.success(), "{unit}: {}", String::from_utf8_lossy(&output.stderr));
        assert_eq!(String::from_utf8_lossy(&output.stdout), printed, "{unit}");
    }
    verify_units(&units);
}
