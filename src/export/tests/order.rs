//! Start order and readiness in every format: snapshots of the formats that carry them, the
//! units `systemd-analyze verify` accepts, and the warnings for what each format drops.

use std::path::Path;
use std::time::Duration;

use supervise::Condition;

use super::snapshots::{dry_run, snapshot};
use super::validators::{systemd_units, verify_units};
use super::{export, ok, options, process, representative, temp};
use crate::export::Format;
use crate::plan::Plan;
use crate::plan::startup::{DependsOn, LogPattern, Ready, ReadyCheck, ReadyPort};

fn depends(name: &str, condition: Condition) -> DependsOn {
    DependsOn { name: name.to_owned(), condition }
}

/// The representative app with a migration that `web` waits for, `web` ready when its PORT
/// accepts a connection, and `worker` ready on a log line, waiting for `web` to be ready and
/// for `clock` (which has no instances) to start.
pub(super) fn with_order(root: &Path) -> Plan {
    let mut plan = representative(root);
    plan.processes.push(process("migrate", "bin/rails db:migrate", 3, 1));
    let web = &mut plan.processes[0].settings;
    web.ready = Some(Ready {
        check: ReadyCheck::Port(ReadyPort::Variable("PORT".to_owned())),
        interval: Some(Duration::from_secs(1)),
        timeout: Some(Duration::from_secs(30)),
    });
    web.depends_on = vec![depends("migrate", Condition::Exited)];
    let worker = &mut plan.processes[1].settings;
    worker.ready = Some(Ready {
        check: ReadyCheck::Log(LogPattern::new("^ready").unwrap_or_else(|e| panic!("{e}"))),
        interval: None,
        timeout: None,
    });
    worker.depends_on =
        vec![depends("web", Condition::Ready), depends("clock", Condition::Started)];
    plan
}

/// The dry run of `plan` in a cluster `format`, with an image.
fn with_image(plan: &Plan, format: Format) -> String {
    dry_run(plan, format, |o| o.image = Some("registry.example/shop:1.4.2".to_owned()))
}

/// The warnings of an export of `plan` in `format`.
fn warnings(plan: &Plan, format: Format) -> Vec<String> {
    let mut options = options(format, "/nonexistent/procman-export/order");
    options.dry_run = true;
    options.image = Some("registry.example/shop:1.4.2".to_owned());
    ok(export(plan, &options)).0.warnings
}

#[test]
fn systemd_orders_units_and_waits_for_readiness_after_the_start() {
    let plan = with_order(Path::new("/srv/shop"));
    let text = dry_run(&plan, Format::Systemd, |_| {});
    snapshot("systemd_with_order", &text);
    // web waits for the migration to finish; the migration runs once.
    assert!(text.contains("After=shop-migrate.1.service\nRequires=shop-migrate.1.service\n"));
    assert!(text.contains("Type=oneshot\nRemainAfterExit=yes\n"), "{text}");
    assert_eq!(text.matches("Type=oneshot").count(), 1, "only migrate is one-shot");
    // Each web unit counts as started once its own PORT accepts a connection.
    assert_eq!(
        text.matches(
            "ExecStartPost=/bin/sh -c 'until (bash -c \\': </dev/tcp/localhost/$${PORT}\\') \
             >/dev/null 2>&1; do sleep 1; done'\nTimeoutStartSec=30s\n"
        )
        .count(),
        2,
        "{text}"
    );
    // worker waits for both web units; its log check cannot be carried.
    assert!(
        text.contains("After=shop-web.1.service shop-web.2.service\nRequires=shop-web.1.service"),
        "{text}"
    );
    assert_eq!(
        warnings(&plan, Format::Systemd),
        [
            "worker depends on clock, which has no instances in this export: dropped",
            "the log-line readiness check of worker (\"^ready\") is dropped (systemd cannot \
             watch a process's output): units that wait for it to be ready wait for it to start",
        ]
    );
}

#[test]
fn systemd_units_with_start_order_pass_systemd_analyze_verify() {
    let root = temp();
    let dir = systemd_units(&with_order(root.path()), None);
    if let Some(output) = verify_units(dir.path()) {
        assert_eq!(output, "", "systemd-analyze verify warned");
    }
}

#[test]
fn compose_carries_conditions_and_healthchecks() {
    let plan = with_order(Path::new("/srv/shop"));
    let text = with_image(&plan, Format::Compose);
    snapshot("compose_with_order", &text);
    assert_eq!(
        warnings(&plan, Format::Compose),
        [
            "worker depends on clock, which has no instances in this export: dropped",
            "the log-line readiness check of worker (\"^ready\") is dropped (compose cannot \
             watch a process's output): services that wait for it to be ready wait for it to \
             start",
            "the healthcheck of web connects with bash (`/dev/tcp`): the image needs bash",
        ]
    );
}

#[test]
fn kubernetes_carries_readiness_probes_and_says_it_has_no_start_order() {
    let mut plan = with_order(Path::new("/srv/shop"));
    plan.processes[3].settings.ready = Some(Ready {
        check: ReadyCheck::Command("bin/rails db:migrate:status".to_owned()),
        interval: Some(Duration::from_millis(2500)),
        timeout: None,
    });
    let text = with_image(&plan, Format::Kubernetes);
    snapshot("kubernetes_with_order", &text);
    assert_eq!(
        warnings(&plan, Format::Kubernetes),
        [
            "worker depends on clock, which has no instances in this export: dropped",
            "the log-line readiness check of worker (\"^ready\") is dropped (kubernetes cannot \
             watch a process's output): it counts as ready once it runs",
            "kubernetes has no start order between Deployments: the depends_on of web, worker \
             is dropped (a one-shot job such as a migration fits a Job or an init container)",
            "a readiness probe keeps trying: the \"timeout\" of web's readiness check is dropped",
        ]
    );
    // A port variable that holds no port number here cannot be probed.
    plan.processes[0].settings.ready = Some(Ready {
        check: ReadyCheck::Port(ReadyPort::Variable("ADMIN_PORT".to_owned())),
        interval: None,
        timeout: None,
    });
    let dropped = warnings(&plan, Format::Kubernetes);
    assert!(
        dropped.contains(
            &"the port readiness check of web is dropped (its port variable holds no port \
              number here): it counts as ready once it runs"
                .to_owned()
        ),
        "{dropped:?}"
    );
    // One that does is.
    plan.processes[0].env.push(("ADMIN_PORT".to_owned(), "9000".to_owned()));
    assert!(!warnings(&plan, Format::Kubernetes).iter().any(|w| w.contains("port readiness")));
    let text = with_image(&plan, Format::Kubernetes);
    assert!(text.contains("readinessProbe:\n            tcpSocket:\n              port: 9000\n"));
}

#[test]
fn formats_without_order_or_readiness_say_what_they_drop() {
    let plan = with_order(Path::new("/srv/shop"));
    for format in [
        Format::Supervisord,
        Format::Launchd,
        Format::Runit,
        Format::Upstart,
        Format::Daemon,
        Format::Bluepill,
    ] {
        assert_eq!(
            warnings(&plan, format).last().map(String::as_str),
            Some(
                format!(
                    "{format} has no start order or readiness checks: the depends_on of web, \
                     worker and the readiness check of web, worker dropped"
                )
                .as_str()
            ),
            "{format}"
        );
    }
    // Without depends_on and ready, no format says a thing.
    let plain = representative(Path::new("/srv/shop"));
    for format in Format::ALL.into_iter().filter(|f| *f != Format::Inittab) {
        assert_eq!(warnings(&plain, format), Vec::<String>::new(), "{format}");
    }
}
