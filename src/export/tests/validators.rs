//! The formats' own tools read what we write: `systemd-analyze verify`, supervisord's config
//! parser, `sh -n` and `sh` itself for runit and inittab, Python's plistlib for launchd, Ruby
//! for bluepill. A missing tool makes its test print `SKIPPED: ...` and return (CI installs
//! them).

use crate::test_support::SerialOutput;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value as Json;

use super::snapshots::with_settings;
use super::{export, ok, options, process, representative, skip, temp, tool, tree, vars};
use crate::export::Format;
use crate::plan::Plan;

/// Runs `systemd-analyze verify` on every file in `dir` (an export writes only units there);
/// `None` when the tool is missing. Returns its output (stdout and stderr), after checking it
/// succeeded.
pub(super) fn verify_units(dir: &Path) -> Option<String> {
    if tool("systemd-analyze", &["--version"]).is_none() {
        skip("systemd-analyze not installed (Debian package `systemd`)");
        return None;
    }
    let units: Vec<PathBuf> = tree(dir).keys().map(|f| dir.join(f)).collect();
    assert!(!units.is_empty(), "no units in {}", dir.display());
    let output = Command::new("systemd-analyze")
        .arg("verify")
        .args(&units)
        .serial_output()
        .unwrap_or_else(|e| panic!("systemd-analyze: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "systemd-analyze verify failed:\n{text}");
    Some(text)
}

/// The installed systemd's version, from `systemd-analyze --version` (`systemd 252 (...)`).
fn systemd_version() -> Option<u32> {
    let output = tool("systemd-analyze", &["--version"])?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.split_whitespace().nth(1)?.parse().ok()
}

/// Exports `plan` as systemd units run by root into a fresh directory.
pub(super) fn systemd_units(plan: &Plan, version: Option<u32>) -> tempfile::TempDir {
    let dir = temp();
    let mut options = options(Format::Systemd, dir.path());
    options.user = Some("root".to_owned());
    options.systemd_version = version;
    ok(export(plan, &options));
    dir
}

#[test]
fn systemd_units_pass_systemd_analyze_verify() {
    let root = temp();
    let dir = systemd_units(&representative(root.path()), None);
    if let Some(output) = verify_units(dir.path()) {
        assert_eq!(output, "", "systemd-analyze verify warned");
    }
    let dir = systemd_units(&with_settings(root.path()), None);
    if let Some(output) = verify_units(dir.path()) {
        assert_eq!(output, "", "systemd-analyze verify warned");
    }
}

#[test]
fn systemd_backoff_steps_are_verified_where_supported() {
    let root = temp();
    let dir = systemd_units(&with_settings(root.path()), Some(255));
    let unit = fs::read_to_string(dir.path().join("shop-web.1.service")).unwrap_or_default();
    assert!(unit.contains("RestartSteps=5\nRestartMaxDelaySec=30s\n"), "{unit}");
    let Some(output) = verify_units(dir.path()) else { return };
    if systemd_version().is_some_and(|v| v >= 254) {
        assert_eq!(output, "", "systemd-analyze verify warned");
    } else {
        // Older systemd ignores the two keys, which is why they are opt-in.
        for line in output.lines() {
            assert!(
                line.contains("Unknown key 'RestartSteps'")
                    || line.contains("Unknown key 'RestartMaxDelaySec'"),
                "unexpected warning: {line}"
            );
        }
    }
}

/// A Python that can import supervisor, if any.
fn python_with(module: &str) -> Option<&'static str> {
    ["python3", "/usr/bin/python3"].into_iter().find(|python| {
        tool(python, &["-c", &format!("import {module}")]).is_some_and(|o| o.status.success())
    })
}

const SUPERVISOR_DUMP: &str = r#"
import json, shlex, sys
from supervisor.options import ServerOptions
options = ServerOptions()
options.realize(args=["-c", sys.argv[1]])
name = lambda v: getattr(v, "__name__", v)
out = {}
for group in options.process_group_configs:
    for p in group.process_configs:
        out[p.name] = {
            "group": group.name,
            "argv": shlex.split(p.command),
            "environment": p.environment,
            "directory": p.directory,
            "uid": p.uid,
            "autostart": p.autostart,
            "autorestart": str(name(p.autorestart)),
            "stopsignal": int(p.stopsignal),
            "stopwaitsecs": p.stopwaitsecs,
            "stopasgroup": p.stopasgroup,
            "killasgroup": p.killasgroup,
            "startretries": p.startretries,
            "startsecs": p.startsecs,
            "exitcodes": list(p.exitcodes),
            "umask": p.umask,
            "stdout_logfile": p.stdout_logfile,
            "stderr_logfile": p.stderr_logfile,
        }
print(json.dumps(out))
"#;

/// Loads `conf` with supervisord's own parser, through a supervisord.conf that includes it;
/// `None` when supervisor is not installed.
pub(super) fn supervisor_load(conf: &Path) -> Option<Json> {
    let Some(python) = python_with("supervisor") else {
        skip("supervisor not installed (Debian `supervisor` or PyPI `supervisor`)");
        return None;
    };
    let dir = conf.parent().unwrap_or(Path::new("/"));
    let main = dir.join("supervisord.conf");
    let text = format!(
        "[supervisord]\nlogfile={0}/supervisord.log\npidfile={0}/supervisord.pid\n\n\
         [include]\nfiles = {1}\n",
        dir.display(),
        conf.display()
    );
    fs::write(&main, text).unwrap_or_else(|e| panic!("{e}"));
    let output = Command::new(python)
        .args(["-c", SUPERVISOR_DUMP])
        .arg(&main)
        .serial_output()
        .unwrap_or_else(|e| panic!("{python}: {e}"));
    assert!(
        output.status.success(),
        "supervisord rejected the config:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Some(serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}")))
}

/// Exports `plan` for supervisord (run by root) and loads it with supervisord's parser.
pub(super) fn supervisord_programs(plan: &Plan) -> Option<Json> {
    let dir = temp();
    let mut options = options(Format::Supervisord, dir.path());
    options.user = Some("root".to_owned());
    options.log_dir = Some(dir.path().join("log"));
    // supervisord wants the log directory to exist, as Foreman's export leaves it to the user.
    fs::create_dir(dir.path().join("log")).unwrap_or_else(|e| panic!("{e}"));
    ok(export(plan, &options));
    supervisor_load(&dir.path().join("shop.conf"))
}

#[test]
fn supervisord_config_loads_in_supervisord() {
    let root = temp();
    let plan = representative(root.path());
    let Some(programs) = supervisord_programs(&plan) else { return };
    let names: Vec<&String> = programs.as_object().map(|o| o.keys().collect()).unwrap_or_default();
    assert_eq!(names, ["shop-web-1", "shop-web-2", "shop-worker-1"]);
    let web2 = &programs["shop-web-2"];
    assert_eq!(web2["group"], "shop");
    assert_eq!(web2["argv"], serde_json::json!(["/bin/sh", "-c", plan.processes[0].command]));
    assert_eq!(web2["environment"]["PORT"], "5001");
    assert_eq!(web2["environment"]["PS"], "web.2");
    assert_eq!(web2["environment"]["GREETING"], "hello, world");
    assert_eq!(web2["environment"]["DATABASE_URL"], "postgres://shop:s3cret@db.internal:5432/shop");
    assert_eq!(web2["directory"], root.path().to_string_lossy().as_ref());
    assert_eq!(web2["uid"], 0);
    assert_eq!(web2["autorestart"], "RestartUnconditionally");
    assert_eq!(web2["stopsignal"], 15);
    assert_eq!(web2["stopwaitsecs"], 5);
    assert_eq!(web2["stopasgroup"], true);
    let worker = &programs["shop-worker-1"];
    assert_eq!(worker["environment"]["PORT"], "5100");
    assert_eq!(worker["environment"]["MALLOC_ARENA_MAX"], "2");
}

#[test]
fn supervisord_settings_load_in_supervisord() {
    let root = temp();
    let Some(programs) = supervisord_programs(&with_settings(root.path())) else { return };
    let web = &programs["shop-web-1"];
    assert_eq!(web["autorestart"], "RestartWhenExitUnexpected");
    assert_eq!(web["stopsignal"], 2);
    assert_eq!(web["stopwaitsecs"], 8);
    assert_eq!(web["startretries"], 4);
    assert_eq!(web["startsecs"], 3);
    assert_eq!(web["exitcodes"], serde_json::json!([0, 3]));
    assert_eq!(web["umask"], 0o027);
    let worker = &programs["shop-worker-1"];
    assert_eq!(worker["autorestart"], "False");
    assert_eq!(worker["stopsignal"], 3);
}

/// A stand-in for runit's `chpst -u USER -e DIR CMD...`: loads DIR as chpst does (first
/// line of each file) and runs CMD.
const FAKE_CHPST: &str = r#"#!/bin/sh
[ "$1" = -u ] || exit 90
shift 2
[ "$1" = -e ] || exit 91
dir=$2
shift 2
for f in "$dir"/*; do
  export "$(basename "$f")=$(head -n 1 "$f")"
done
exec "$@"
"#;

/// A directory holding the executable script `name`, and a `PATH` that finds it there first.
fn stand_in(name: &str, script: &str) -> (tempfile::TempDir, String) {
    let bin = temp();
    let program = bin.path().join(name);
    fs::write(&program, script).unwrap_or_else(|e| panic!("{e}"));
    fs::set_permissions(&program, fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("{e}"));
    let path = format!("{}:{}", bin.path().display(), std::env::var("PATH").unwrap_or_default());
    (bin, path)
}

/// Exports `plan` for runit, checks every script with `sh -n`, then runs each instance's
/// `run` with a stand-in `chpst`; returns what each printed, by service directory.
pub(super) fn run_runit(plan: &Plan) -> Vec<(String, String)> {
    let dir = temp();
    ok(export(plan, &options(Format::Runit, dir.path())));
    let files = tree(dir.path());
    let (_bin, path) = stand_in("chpst", FAKE_CHPST);
    let mut printed = Vec::new();
    for script in files.keys().filter(|f| f.ends_with("/run")) {
        let full = dir.path().join(script);
        let mode = fs::metadata(&full).map(|m| m.permissions().mode() & 0o777).unwrap_or(0);
        assert_eq!(mode, 0o755, "{script} is not executable");
        let check = Command::new("sh").arg("-n").arg(&full).serial_output();
        let check = check.unwrap_or_else(|e| panic!("sh: {e}"));
        assert!(
            check.status.success(),
            "sh -n {script}: {}",
            String::from_utf8_lossy(&check.stderr)
        );
        if script.ends_with("/log/run") {
            continue;
        }
        let output = Command::new(&full)
            .env_clear()
            .env("PATH", &path)
            .serial_output()
            .unwrap_or_else(|e| panic!("{script}: {e}"));
        assert!(output.status.success(), "{script}: {}", String::from_utf8_lossy(&output.stderr));
        let service = script.trim_end_matches("/run").to_owned();
        printed.push((service, String::from_utf8_lossy(&output.stdout).into_owned()));
    }
    printed
}

/// A plan whose processes print their environment, to run for real.
pub(super) fn printing_plan(root: &Path, command: &str, env: &[(&str, &str)]) -> Plan {
    let mut plan = representative(root);
    plan.env = vars(env);
    plan.processes = vec![process("web", command, 0, 2), process("worker", "true", 1, 0)];
    plan
}

#[test]
fn runit_scripts_pass_sh_and_run_with_the_environment() {
    let root = temp();
    let plan = printing_plan(
        root.path(),
        r#"printf '%s|%s|%s|%s\n' "$PORT" "$PS" "$GREETING" "$(pwd)""#,
        &[("GREETING", "hello, world")],
    );
    let printed = run_runit(&plan);
    let root = root.path().display();
    assert_eq!(
        printed,
        [
            ("shop-web-1".to_owned(), format!("5000|web.1|hello, world|{root}\n")),
            ("shop-web-2".to_owned(), format!("5001|web.2|hello, world|{root}\n")),
        ]
    );
}

/// Parses a plist with Python's plistlib; `None` when Python is missing.
pub(super) fn parse_plist(path: &Path) -> Option<Json> {
    let Some(python) = python_with("plistlib") else {
        skip("python3 not installed");
        return None;
    };
    let script =
        "import json, plistlib, sys\nprint(json.dumps(plistlib.load(open(sys.argv[1], 'rb'))))";
    let output = Command::new(python).args(["-c", script]).arg(path).serial_output().ok()?;
    assert!(
        output.status.success(),
        "plistlib rejected {}: {}",
        path.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    Some(serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}")))
}

#[test]
fn launchd_plists_parse_as_plists() {
    let root = temp();
    let plan = representative(root.path());
    let dir = temp();
    ok(export(&plan, &options(Format::Launchd, dir.path())));
    let files: Vec<String> =
        tree(dir.path()).into_keys().filter(|f| f.ends_with(".plist")).collect();
    assert_eq!(files, ["shop-web-1.plist", "shop-web-2.plist", "shop-worker-1.plist"]);
    let Some(web2) = parse_plist(&dir.path().join("shop-web-2.plist")) else { return };
    assert_eq!(web2["Label"], "shop-web-2");
    assert_eq!(
        web2["ProgramArguments"],
        serde_json::json!(["/bin/sh", "-c", plan.processes[0].command])
    );
    assert_eq!(web2["EnvironmentVariables"]["PORT"], "5001");
    assert_eq!(web2["EnvironmentVariables"]["PS"], "web.2");
    assert_eq!(web2["EnvironmentVariables"]["GREETING"], "hello, world");
    assert_eq!(web2["KeepAlive"], true);
    assert_eq!(web2["RunAtLoad"], true);
    assert_eq!(web2["StandardOutPath"], "/var/log/shop/shop-web-2.log");
    assert_eq!(web2["UserName"], "deploy");
    assert_eq!(web2["WorkingDirectory"], root.path().to_string_lossy().as_ref());
    assert_eq!(web2["ExitTimeOut"], 5);
}

/// Splits an inittab entry into its id and its process field.
fn inittab_entries(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let mut fields = l.splitn(4, ':');
            let id = fields.next().unwrap_or_default().to_owned();
            (id, fields.nth(2).unwrap_or_default().to_owned())
        })
        .collect()
}

/// Runs each inittab entry's process field with a stand-in `su` that runs its `-c` script.
pub(super) fn run_inittab(plan: &Plan, log: &Path) -> String {
    let mut options = options(Format::Inittab, "-");
    options.log_dir = Some(log.to_owned());
    let (report, text) = ok(export(plan, &options));
    assert!(report.to_stdout);
    for (_, field) in inittab_entries(&text) {
        let rest = field.strip_prefix("/bin/su ").unwrap_or_else(|| panic!("not su: {field}"));
        let script = format!(
            "su() {{ [ \"$1 $2 $3\" = '- deploy -c' ] || exit 90; sh -c \"$4\"; }}; su {rest}"
        );
        let output = Command::new("sh")
            .args(["-c", &script])
            .serial_output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(output.status.success(), "{field}: {}", String::from_utf8_lossy(&output.stderr));
    }
    text
}

#[test]
fn inittab_goes_to_stdout_and_its_entries_run() {
    let root = temp();
    let log = temp();
    let plan = printing_plan(
        root.path(),
        r#"printf '%s|%s|%s|%s\n' "$PORT" "$PS" "$GREETING" "$(pwd)""#,
        &[("GREETING", "it's a \"test\"")],
    );
    let text = run_inittab(&plan, log.path());
    let ids: Vec<String> = inittab_entries(&text).into_iter().map(|(id, _)| id).collect();
    assert_eq!(ids, ["SH01", "SH02"]);
    assert!(text.starts_with("# ----- foreman shop processes -----\n"), "{text}");
    assert!(text.ends_with("# ----- end foreman shop processes -----\n"), "{text}");
    let root = root.path().display();
    let logs = tree(log.path());
    assert_eq!(logs["web-1.log"], format!("5000|web.1|it's a \"test\"|{root}\n"));
    assert_eq!(logs["web-2.log"], format!("5001|web.2|it's a \"test\"|{root}\n"));
}

#[test]
fn upstart_and_daemon_exec_lines_pass_sh() {
    let plan = representative(Path::new("/srv/shop"));
    for format in [Format::Upstart, Format::Daemon] {
        let dir = temp();
        ok(export(&plan, &options(format, dir.path())));
        let files = tree(dir.path());
        let names: Vec<&String> = files.keys().filter(|f| !f.starts_with('.')).collect();
        assert_eq!(
            names,
            [
                "shop-web-1.conf",
                "shop-web-2.conf",
                "shop-web.conf",
                "shop-worker-1.conf",
                "shop-worker.conf",
                "shop.conf"
            ],
            "{format}"
        );
        for (name, text) in &files {
            for line in text.lines().filter_map(|l| l.strip_prefix("exec ")) {
                let check = Command::new("sh").args(["-n", "-c", line]).serial_output();
                let check = check.unwrap_or_else(|e| panic!("sh: {e}"));
                assert!(check.status.success(), "{format} {name}: {line}");
            }
        }
    }
}

/// The characters that make upstart run an `exec` line through `/bin/sh -e -c "exec LINE"`
/// (`SHELL_CHARS` in upstart's `init/job_process.c`); a line without one is split on blanks.
const UPSTART_SHELL_CHARS: &[char] = &[
    '~', '`', '!', '$', '^', '&', '*', '(', ')', '=', '|', '\\', '{', '}', '[', ']', ';', '"',
    '\'', '<', '>', '?',
];

/// A stand-in for `start-stop-daemon --start ... --chdir DIR ... --exec PROGRAM -- ARGS`:
/// runs PROGRAM ARGS in DIR, in its own place (as the real one does without `--background`).
const FAKE_START_STOP_DAEMON: &str = r#"#!/bin/sh
while [ $# -gt 0 ]; do
  case $1 in
    --start|--make-pidfile) shift ;;
    --chdir) cd "$2" || exit 92; shift 2 ;;
    --exec) program=$2; shift 2 ;;
    --) shift; break ;;
    *) shift 2 ;;
  esac
done
exec "$program" "$@"
"#;

/// Exports `plan` for `format` (upstart or daemon) and runs each instance job's `exec` line as
/// upstart does, with the job's `env` and the stand-in `start-stop-daemon` first on `PATH`;
/// returns, by job file, the pid upstart would watch, then the job's standard output and its
/// daemon log.
fn run_upstart_jobs(plan: &Plan, format: Format) -> Vec<(String, String)> {
    let dir = temp();
    let log = temp();
    let mut options = options(format, dir.path());
    options.log_dir = Some(log.path().to_owned());
    ok(export(plan, &options));
    let (_bin, path) = stand_in("start-stop-daemon", FAKE_START_STOP_DAEMON);
    let mut outputs = Vec::new();
    for (name, text) in tree(dir.path()) {
        let Some(line) = text.lines().find_map(|l| l.strip_prefix("exec ")) else { continue };
        let job: Vec<String> = if line.contains(UPSTART_SHELL_CHARS) {
            ["/bin/sh", "-e", "-c", &format!("exec {line}")].map(str::to_owned).into()
        } else {
            line.split_whitespace().map(str::to_owned).collect()
        };
        let mut command = Command::new("/bin/sh");
        // The pid upstart would watch, printed before the job's program replaces it.
        command.args(["-c", "echo \"$$\"; exec \"$@\"", "upstart"]).args(&job);
        command.env_clear().env("PATH", &path).current_dir(&plan.root);
        for (key, value) in text.lines().filter_map(|l| l.strip_prefix("env ")?.split_once('=')) {
            // upstart_quote's `'...'` with `'` written `'"'"'`; PORT and PS are bare.
            let value = match value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
                Some(quoted) => quoted.replace("'\"'\"'", "'"),
                None => value.to_owned(),
            };
            command.env(key, value);
        }
        let output = command.serial_output().unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(output.status.success(), "{name}: {}", String::from_utf8_lossy(&output.stderr));
        let mut printed = String::from_utf8_lossy(&output.stdout).into_owned();
        for text in tree(log.path()).into_values() {
            printed.push_str(&text);
        }
        fs::remove_dir_all(log.path())
            .and_then(|()| fs::create_dir(log.path()))
            .unwrap_or_else(|e| panic!("{e}"));
        outputs.push((name, printed));
    }
    outputs
}

#[test]
fn upstart_and_daemon_run_each_shape_of_command() {
    let root = temp();
    let mut plan = representative(root.path());
    plan.processes = vec![
        process("web", "echo web $PS", 0, 1),
        process("worker", r#"FOO="a b" sh -c 'echo "worker $FOO $PS $$"'"#, 1, 1),
        process("release", r#"echo one && echo "two $PS""#, 2, 1),
    ];
    for format in [Format::Upstart, Format::Daemon] {
        let outputs = run_upstart_jobs(&plan, format);
        let names: Vec<&str> = outputs.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, ["shop-release-1.conf", "shop-web-1.conf", "shop-worker-1.conf"]);
        for (name, printed) in &outputs {
            let (pid, printed) = printed.split_once('\n').unwrap_or_default();
            let expected = match name.as_str() {
                "shop-web-1.conf" => "web web.1\n".to_owned(),
                // The program's own pid: every shell on the way exec'd.
                "shop-worker-1.conf" => format!("worker a b worker.1 {pid}\n"),
                _ => "one\ntwo release.1\n".to_owned(),
            };
            assert_eq!(printed, expected, "{format} {name}");
        }
    }
}

/// Loads a pill the way bluepill does (Ruby evaluates it, with `Integer#seconds`), records what
/// it configures, and runs each process's start command as bluepill's `daemonize` does (in
/// its working directory, with its environment, split by Shellwords and run without a
/// shell): prints JSON `{name, options, app, processes: {NAME: {..., argv, output}}}`.
const BLUEPILL_LOAD: &str = r##"
require "json"
require "open3"
require "shellwords"
class Integer; def seconds; self; end; end
class Recorder
  attr_reader :attrs
  def initialize; @attrs = {}; end
  def respond_to_missing?(*); true; end
  def method_missing(name, *args, &block)
    key = name.to_s
    if key.end_with?("=")
      @attrs[key.chomp("=")] = args.first
    elsif block
      child = Recorder.new
      block.call(child)
      @attrs[key] = child.attrs
    else
      @attrs[key] = args.first
    end
  end
end
module Bluepill
  def self.application(name, options = {}, &block)
    app = Recorder.new
    processes = {}
    app.define_singleton_method(:process) do |pname, &b|
      process = Recorder.new
      b.call(process)
      processes[pname] = process.attrs
    end
    block.call(app)
    processes.each_value do |p|
      p["argv"] = Shellwords.shellwords(p["start_command"])
      env = p["environment"].transform_keys(&:to_s).transform_values(&:to_s)
      out, status = Open3.capture2(env, *p["argv"], chdir: p["working_dir"])
      raise "#{p["argv"]} failed: #{status}" unless status.success?
      p["output"] = out
    end
    puts JSON.generate({ "name" => name, "options" => options, "app" => app.attrs, "processes" => processes })
  end
end
load ARGV[0]
"##;

/// Exports `plan` for bluepill, checks the pill with `ruby -c`, then loads it and runs its
/// processes (see [`BLUEPILL_LOAD`]); `None` when Ruby is missing.
pub(super) fn load_pill(plan: &Plan) -> Option<Json> {
    if tool("ruby", &["--version"]).is_none() {
        skip("ruby not installed (Debian package `ruby`)");
        return None;
    }
    let dir = temp();
    ok(export(plan, &options(Format::Bluepill, dir.path())));
    let pill = dir.path().join("shop.pill");
    let check = Command::new("ruby").arg("-c").arg(&pill).serial_output();
    let check = check.unwrap_or_else(|e| panic!("ruby: {e}"));
    assert!(
        check.status.success(),
        "ruby -c rejected the pill: {}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    let output = Command::new("ruby")
        .args(["-e", BLUEPILL_LOAD])
        .arg(&pill)
        .serial_output()
        .unwrap_or_else(|e| panic!("ruby: {e}"));
    assert!(
        output.status.success(),
        "loading the pill failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}")))
}

#[test]
fn bluepill_pill_parses_in_ruby_and_runs_its_commands() {
    let root = temp();
    let plan = printing_plan(
        root.path(),
        r#"printf '%s|%s|%s|%s\n' "$PORT" "$PS" "$GREETING" "$(pwd)""#,
        &[("GREETING", "hello, world")],
    );
    let Some(pill) = load_pill(&plan) else { return };
    assert_eq!(pill["name"], "shop");
    assert_eq!(pill["app"]["uid"], "deploy");
    assert_eq!(pill["app"]["gid"], "deploy");
    let names: Vec<&String> =
        pill["processes"].as_object().map(|o| o.keys().collect()).unwrap_or_default();
    assert_eq!(names, ["web-1", "web-2"]);
    let web2 = &pill["processes"]["web-2"];
    let root = root.path().display().to_string();
    assert_eq!(web2["output"], format!("5001|web.2|hello, world|{root}\n"));
    assert_eq!(web2["argv"], serde_json::json!(["/bin/sh", "-c", plan.processes[0].command]));
    assert_eq!(web2["working_dir"], root);
    assert_eq!(web2["group"], "shop-web");
    assert_eq!(web2["daemonize"], true);
    assert_eq!(web2["stop_signals"], serde_json::json!(["term", 5, "kill"]));
    assert_eq!(web2["stop_grace_time"], 10);
    assert_eq!(web2["stdout"], "/var/log/shop/shop-web-2.log");
    assert_eq!(web2["monitor_children"]["stop_command"], "kill {{PID}}");
}
