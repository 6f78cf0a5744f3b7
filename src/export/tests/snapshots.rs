//! Snapshots of every format for the representative app (`super::representative`), taken from
//! `--dry-run` output (paths and contents), committed under `src/export/snapshots/`.

use std::path::Path;
use std::time::Duration;

use supervise::{Backoff, RestartPolicy, Signal};

use super::{export, ok, options, process, representative};
use crate::export::Format;
use crate::plan::{Plan, Settings};

/// The dry-run output of `format` for `plan`.
pub(super) fn dry_run(
    plan: &Plan,
    format: Format,
    configure: impl FnOnce(&mut crate::export::ExportOptions),
) -> String {
    let location = if format == Format::Inittab {
        "-".to_owned()
    } else {
        format!("/nonexistent/procman-export/{format}")
    };
    let mut options = options(format, location);
    options.dry_run = true;
    configure(&mut options);
    ok(export(plan, &options)).1
}

pub(super) fn snapshot(name: &str, text: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| insta::assert_snapshot!(name, text));
}

fn representative_snapshot(format: Format) {
    let plan = representative(Path::new("/srv/shop"));
    let text = dry_run(&plan, format, |o| o.image = Some("registry.example/shop:1.4.2".to_owned()));
    snapshot(format.name(), &text);
}

#[test]
fn systemd() {
    representative_snapshot(Format::Systemd);
}

#[test]
fn supervisord() {
    representative_snapshot(Format::Supervisord);
}

#[test]
fn launchd() {
    representative_snapshot(Format::Launchd);
}

#[test]
fn runit() {
    representative_snapshot(Format::Runit);
}

#[test]
fn upstart() {
    representative_snapshot(Format::Upstart);
}

#[test]
fn daemon() {
    representative_snapshot(Format::Daemon);
}

#[test]
fn inittab() {
    representative_snapshot(Format::Inittab);
}

#[test]
fn bluepill() {
    representative_snapshot(Format::Bluepill);
}

#[test]
fn compose() {
    representative_snapshot(Format::Compose);
}

#[test]
fn kubernetes() {
    representative_snapshot(Format::Kubernetes);
}

/// Every supervision setting set, on the representative app's `web`.
pub(super) fn with_settings(root: &Path) -> Plan {
    let mut plan = representative(root);
    plan.processes[0].settings = Settings {
        stop_signal: Some(Signal::INT),
        stop_timeout: Some(Duration::from_millis(7500)),
        restart: Some(RestartPolicy::OnUnexpectedExit),
        max_retries: Some(4),
        backoff: Some(Backoff {
            initial: Duration::from_secs(1),
            factor: 2.0,
            max: Duration::from_secs(30),
        }),
        start_grace: Some(Duration::from_secs(3)),
        expected_exit_codes: Some(vec![0, 3]),
        umask: Some(0o027),
        tty: Some(true),
        // Start order and readiness have snapshots of their own (`order.rs`).
        ready: None,
        depends_on: Vec::new(),
    };
    plan.processes[1].settings.restart = Some(RestartPolicy::Never);
    plan.processes[1].settings.stop_signal = Some(Signal::QUIT);
    plan
}

#[test]
fn systemd_with_settings() {
    let plan = with_settings(Path::new("/srv/shop"));
    snapshot("systemd_with_settings", &dry_run(&plan, Format::Systemd, |_| {}));
    let modern = dry_run(&plan, Format::Systemd, |o| o.systemd_version = Some(255));
    assert!(modern.contains("RestartSec=1s\nRestartSteps=5\nRestartMaxDelaySec=30s\n"), "{modern}");
    assert!(!modern.contains("needs systemd 254"), "{modern}");
}

#[test]
fn supervisord_with_settings() {
    let plan = with_settings(Path::new("/srv/shop"));
    snapshot("supervisord_with_settings", &dry_run(&plan, Format::Supervisord, |_| {}));
}

#[test]
fn upstart_with_settings() {
    let plan = with_settings(Path::new("/srv/shop"));
    snapshot("upstart_with_settings", &dry_run(&plan, Format::Upstart, |_| {}));
}

#[test]
fn timeout_option_reaches_every_stop_setting() {
    let plan = representative(Path::new("/srv/shop"));
    let systemd = dry_run(&plan, Format::Systemd, |o| o.timeout = Duration::from_secs(20));
    assert_eq!(systemd.matches("TimeoutStopSec=20\n").count(), 3, "{systemd}");
    let supervisord = dry_run(&plan, Format::Supervisord, |o| o.timeout = Duration::from_secs(20));
    assert_eq!(supervisord.matches("stopwaitsecs=20\n").count(), 3, "{supervisord}");
}

/// The representative app with a command of each shape a format's `exec` meets: a simple
/// command, one that starts with assignments, and a list.
pub(super) fn command_shapes(root: &Path) -> Plan {
    let mut plan = representative(root);
    plan.processes = vec![
        process("web", "bundle exec puma -p $PORT", 0, 1),
        process(
            "worker",
            r#"QUEUES="default mailers" RAILS_MAX_THREADS=5 bundle exec sidekiq"#,
            1,
            1,
        ),
        process("release", "bin/rails db:migrate && bin/rails db:seed", 2, 1),
    ];
    plan
}

#[test]
fn command_shapes_in_formats_that_exec() {
    let plan = command_shapes(Path::new("/srv/shop"));
    // The lines that start the command, by file, for each format that writes `exec`.
    let mut text = String::new();
    for format in [Format::Systemd, Format::Upstart, Format::Daemon] {
        for line in dry_run(&plan, format, |_| {}).lines() {
            let file =
                line.strip_prefix("[procman export] would write: /nonexistent/procman-export/");
            if let Some(file) = file {
                text.push_str(&format!("{}\n", file.trim_end_matches(" (mode 644)")));
            } else if ["ExecStart=", "KillMode=", "exec "].iter().any(|p| line.starts_with(p)) {
                text.push_str(&format!("    {line}\n"));
            }
        }
    }
    snapshot("command_shapes", &text);
}
