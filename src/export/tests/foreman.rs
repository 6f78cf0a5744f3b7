//! Moving from Foreman: an export over Foreman's export of the same app replaces it (Foreman's
//! files for the app are removed or written over, and listed), leaves other apps' files and
//! hand-written ones alone, and writes the same file names as Foreman (compared side by side
//! with `foreman export` when Foreman is installed; CI installs it).

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::test_support::SerialOutput;

use super::{export, ok, options, representative, skip, temp, tree, write};
use crate::export::{ExportOptions, Format};
use crate::plan::Plan;

/// The representative app's Procfile and `.env`, as files Foreman reads.
fn write_app(root: &Path) {
    write(
        &root.join("Procfile"),
        "web: bundle exec puma -p $PORT -C config/puma.rb\n\
         worker: bundle exec sidekiq -q default -c 5\n\
         clock: bin/clock --every 5m\n",
    );
    write(
        &root.join(".env"),
        "RACK_ENV=production\n\
         DATABASE_URL=postgres://shop:s3cret@db.internal:5432/shop\n\
         GREETING=\"hello, world\"\n",
    );
}

/// The file Foreman's inittab export goes into, in the location.
const INITTAB: &str = "inittab";

/// Foreman's export of the representative app (see [`write_app`]), in a directory of its own.
struct ForemanExport {
    /// The app root, with the Procfile, `.env` and the log directory Foreman names.
    root: tempfile::TempDir,
    /// Where Foreman wrote.
    location: tempfile::TempDir,
}

impl ForemanExport {
    /// Runs `foreman export FORMAT` for app `app` with `formation`; `None` (after reporting
    /// the skip) when Foreman is not installed.
    fn new(format: Format, app: &str, formation: &str) -> Option<ForemanExport> {
        let export = ForemanExport { root: temp(), location: temp() };
        let root = export.root.path();
        write_app(root);
        // inittab's LOCATION is the file itself.
        let target = match format {
            Format::Inittab => export.location.path().join(INITTAB),
            _ => export.location.path().to_owned(),
        };
        let output = Command::new("foreman")
            .arg("export")
            .arg(format.name())
            .arg(target)
            .args(["-a", app, "-u", "deploy", "-m", formation])
            .arg("-f")
            .arg(root.join("Procfile"))
            .arg("-d")
            .arg(root)
            .arg("-l")
            .arg(export.log())
            .current_dir(root)
            .serial_output();
        let output = match output {
            Ok(output) => output,
            Err(error) => {
                skip(&format!("foreman not installed (Debian `ruby-foreman`): {error}"));
                return None;
            }
        };
        assert!(
            output.status.success(),
            "foreman export {format}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        Some(export)
    }

    fn log(&self) -> PathBuf {
        self.root.path().join("log")
    }

    /// The files in the location, relative.
    fn files(&self) -> BTreeSet<String> {
        tree(self.location.path()).into_keys().collect()
    }

    /// The app as Foreman read it: the representative app without the variable procman's
    /// config file gives `worker`.
    fn plan(&self) -> Plan {
        let mut plan = representative(self.root.path());
        plan.processes[1].env.clear();
        plan
    }

    /// procman's options for `format` into `location` (Foreman's, by default), with
    /// Foreman's log directory.
    fn options(&self, format: Format, location: Option<&Path>) -> ExportOptions {
        let mut opts = options(format, location.unwrap_or(self.location.path()));
        opts.log_dir = Some(self.log());
        opts
    }

    /// What procman writes for `format` into a fresh directory, relative.
    fn procman_files(&self, format: Format) -> BTreeSet<String> {
        let dir = temp();
        ok(export(&self.plan(), &self.options(format, Some(dir.path()))));
        tree(dir.path()).into_keys().collect()
    }
}

/// The formats Foreman writes into a directory.
fn foreman_formats() -> impl Iterator<Item = Format> {
    Format::ALL
        .into_iter()
        .filter(|f| !matches!(f, Format::Inittab | Format::Compose | Format::Kubernetes))
}

#[test]
fn an_export_over_foremans_replaces_it_in_every_format() {
    for format in foreman_formats() {
        // Foreman's formation is larger, so some of its files are stale for procman.
        let Some(foreman) = ForemanExport::new(format, "shop", "web=3,worker=1,clock=1") else {
            return;
        };
        let location = foreman.location.path();
        let foremans = foreman.files();
        let opts = foreman.options(format, None);
        let (report, printed) = ok(export(&foreman.plan(), &opts));

        // Exactly procman's files are left: nothing of Foreman's runs the old app.
        assert_eq!(foreman.files(), foreman.procman_files(format), "{format}");
        // Everything Foreman wrote was removed or written over, and said so, but for the
        // files that already held what procman writes (runit's env/ files).
        let relative = |paths: &[PathBuf]| -> BTreeSet<String> {
            paths
                .iter()
                .filter_map(|p| p.strip_prefix(location).ok())
                .map(|p| p.to_string_lossy().into_owned())
                .collect()
        };
        let listed = relative(&report.foreman);
        let unchanged = relative(&report.unchanged);
        let replaced: BTreeSet<String> = foremans.difference(&unchanged).cloned().collect();
        assert!(
            listed.is_superset(&replaced),
            "{format}: not listed: {:?}",
            replaced.difference(&listed)
        );
        for file in &replaced {
            let shown = location.join(file).display().to_string();
            let said = printed.lines().any(|l| {
                l.contains(&shown)
                    && (l.ends_with("(Foreman's)") || l.ends_with("(replaces Foreman's)"))
            });
            assert!(said, "{format}: {file} not listed in\n{printed}");
        }
        // And the next export finds only its own files.
        let (again, printed) = ok(export(&foreman.plan(), &opts));
        assert!(again.foreman.is_empty() && printed.is_empty(), "{format}: {printed}");
    }
}

#[test]
fn foremans_files_of_another_app_are_left_alone() {
    for format in foreman_formats() {
        // `shop-admin` with a process type `web` names its files like `shop` with a type
        // `admin-web` would; only the contents tell them apart.
        let Some(foreman) = ForemanExport::new(format, "shop-admin", "web=1,worker=1,clock=1")
        else {
            return;
        };
        let admins = tree(foreman.location.path());
        let (report, _) = ok(export(&foreman.plan(), &foreman.options(format, None)));
        assert!(report.foreman.is_empty(), "{format}: {:?}", report.foreman);
        let after = tree(foreman.location.path());
        for (file, text) in &admins {
            assert_eq!(after.get(file), Some(text), "{format}: {file} changed");
        }
    }
}

#[test]
fn file_names_match_foremans_side_by_side() {
    for format in foreman_formats() {
        let Some(foreman) = ForemanExport::new(format, "shop", "web=2,worker=1,clock=0") else {
            return;
        };
        let foremans = foreman.files();
        let ours = foreman.procman_files(format);
        // procman sets PS in every format (Foreman only in systemd): runit gets env/PS.
        let extra: BTreeSet<String> =
            ours.difference(&foremans).filter(|f| !f.ends_with("/env/PS")).cloned().collect();
        let missing: BTreeSet<&String> = foremans.difference(&ours).collect();
        assert!(
            extra.is_empty() && missing.is_empty(),
            "{format}: extra {extra:?}, missing {missing:?}"
        );
    }
}

#[test]
fn foremans_daemon_lines_are_kept() {
    let Some(foreman) = ForemanExport::new(Format::Daemon, "shop", "web=1,worker=0,clock=0") else {
        return;
    };
    let ours = temp();
    ok(export(&foreman.plan(), &foreman.options(Format::Daemon, Some(ours.path()))));
    // Every line Foreman writes is there, in the same order, but for the values procman
    // quotes (`env K='v'`); procman adds its header, PS and the stop settings.
    for file in ["shop.conf", "shop-web.conf", "shop-web-1.conf"] {
        let theirs = fs::read_to_string(foreman.location.path().join(file)).unwrap_or_default();
        let mine = fs::read_to_string(ours.path().join(file)).unwrap_or_default();
        let mut lines = mine.lines();
        for line in theirs.lines().filter(|l| !l.starts_with("env ")) {
            assert!(
                lines.any(|l| l == line),
                "{file}: `{line}` missing or out of order in\n{mine}"
            );
        }
    }
}

/// Foreman 0.82 to 0.86's systemd layout for `shop` (web=2): a template unit per type, a
/// target per type with its `.target.wants/` links, and the app's target; from the templates
/// of those versions.
fn foreman_086_systemd(location: &Path) -> Vec<PathBuf> {
    let files = [
        (
            "shop.target",
            "[Unit]\nWants=shop-web.target shop-worker.target\n\n[Install]\nWantedBy=multi-user.target\n",
        ),
        ("shop-web.target", "[Unit]\nPartOf=shop.target\n"),
        ("shop-worker.target", "[Unit]\nPartOf=shop.target\n"),
        (
            "shop-web@.service",
            "[Unit]\nPartOf=shop-web.target\n\n[Service]\nUser=deploy\nWorkingDirectory=/srv/shop\n\
             Environment=PORT=%i\nExecStart=/bin/bash -lc 'exec bundle exec puma -p $PORT'\n\
             Restart=always\nStandardInput=null\nStandardOutput=syslog\nStandardError=syslog\n\
             SyslogIdentifier=%n\nKillMode=mixed\nTimeoutStopSec=5\n",
        ),
        (
            "shop-worker@.service",
            "[Unit]\nPartOf=shop-worker.target\n\n[Service]\nUser=deploy\n\
             ExecStart=/bin/bash -lc 'exec bundle exec sidekiq'\nRestart=always\n\
             StandardOutput=syslog\nSyslogIdentifier=%n\nKillMode=mixed\n",
        ),
    ];
    let mut paths = Vec::new();
    for (name, text) in files {
        write(&location.join(name), text);
        paths.push(location.join(name));
    }
    for (dir, unit, template) in [
        ("shop-web.target.wants", "shop-web@5000.service", "../shop-web@.service"),
        ("shop-web.target.wants", "shop-web@5001.service", "../shop-web@.service"),
        ("shop-worker.target.wants", "shop-worker@5100.service", "../shop-worker@.service"),
        // `systemctl enable` of a type's target, in 0.63's layout.
        ("shop.target.wants", "shop-web.target", "/etc/systemd/system/shop-web.target"),
    ] {
        fs::create_dir_all(location.join(dir)).unwrap_or_else(|e| panic!("{e}"));
        std::os::unix::fs::symlink(template, location.join(dir).join(unit))
            .unwrap_or_else(|e| panic!("{e}"));
        paths.push(location.join(dir).join(unit));
    }
    paths
}

#[test]
fn foremans_older_systemd_layouts_are_replaced() {
    let location = temp();
    let foremans = foreman_086_systemd(location.path());
    // Not Foreman's: hand-written, or another app's, or a link nobody made for this app.
    write(&location.path().join("shop-web.9.service"), "[Service]\nExecStart=/bin/true\n");
    write(
        &location.path().join("shop-admin-web@.service"),
        "[Unit]\nPartOf=shop-admin-web.target\n\n[Service]\nExecStart=/bin/bash -lc 'x'\n\
         StandardOutput=syslog\nSyslogIdentifier=%n\n",
    );
    std::os::unix::fs::symlink(
        "/dev/null",
        location.path().join("shop-web.target.wants/keep.service"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let plan = representative(Path::new("/srv/shop"));
    let (report, printed) = ok(export(&plan, &options(Format::Systemd, location.path())));
    for path in &foremans {
        assert!(report.foreman.contains(path), "{} not replaced:\n{printed}", path.display());
    }
    let left: Vec<String> = tree(location.path()).into_keys().collect();
    assert_eq!(
        left,
        [
            "shop-admin-web@.service",
            "shop-web.1.service",
            "shop-web.2.service",
            "shop-web.9.service",
            "shop-web.target.wants/keep.service",
            "shop-worker.1.service",
            "shop.target"
        ],
        "{printed}"
    );
    let location = location.path().display();
    for line in [
        format!("[procman export] writing: {location}/shop.target (replaces Foreman's)"),
        format!("[procman export] cleaning up: {location}/shop-web@.service (Foreman's)"),
        format!("[procman export] cleaning up: {location}/shop-web.target (Foreman's)"),
        format!(
            "[procman export] cleaning up: {location}/shop-web.target.wants/shop-web@5000.service (Foreman's)"
        ),
        format!("[procman export] cleaning up directory: {location}/shop.target.wants (Foreman's)"),
        format!("[procman export] keeping directory: {location}/shop-web.target.wants (not empty)"),
    ] {
        assert!(printed.lines().any(|l| l == line), "missing `{line}` in\n{printed}");
    }
}

#[test]
fn foremans_inittab_block_is_replaced() {
    let Some(foreman) = ForemanExport::new(Format::Inittab, "shop", "web=3,worker=1,clock=1")
    else {
        return;
    };
    let inittab = foreman.location.path().join(INITTAB);
    let before = fs::read_to_string(&inittab).unwrap_or_default();
    assert_eq!(before.matches(":4:respawn:").count(), 5, "{before}");
    ok(export(&foreman.plan(), &foreman.options(Format::Inittab, Some(&inittab))));
    let after = fs::read_to_string(&inittab).unwrap_or_default();
    assert_eq!(after.matches("# ----- foreman shop processes -----").count(), 1, "{after}");
    assert_eq!(after.matches(":4:respawn:").count(), 3, "{after}");
    assert_eq!(after.matches("export PS=").count(), 3, "{after}");
}
