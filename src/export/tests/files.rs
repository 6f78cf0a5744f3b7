//! Re-export is idempotent, removes the app's stale files (recognised by procman's header),
//! never deletes or overwrites a file without it, and writes nothing but the service manager's
//! files; dry runs touch nothing; template overrides, their errors, and what a template
//! directory holds that is not used.

use std::fs;
use std::path::Path;

use super::validators::verify_units;
use super::{export, ok, options, representative, temp, tree, write};
use crate::export::{ExportError, Format, print_template};

#[test]
fn second_export_changes_nothing() {
    let plan = representative(Path::new("/srv/shop"));
    for format in
        [Format::Systemd, Format::Runit, Format::Supervisord, Format::Daemon, Format::Bluepill]
    {
        let dir = temp();
        let opts = options(format, dir.path());
        let (first, printed) = ok(export(&plan, &opts));
        assert!(!first.written.is_empty());
        assert!(printed.contains("[procman export] writing: "), "{printed}");
        let before = tree(dir.path());
        let mtimes: Vec<_> = before
            .keys()
            .map(|f| fs::metadata(dir.path().join(f)).and_then(|m| m.modified()).ok())
            .collect();

        let (second, printed) = ok(export(&plan, &opts));
        assert_eq!(printed, "", "{format}: the second export printed something");
        assert!(second.written.is_empty() && second.removed.is_empty(), "{format}: {second:?}");
        assert_eq!(second.unchanged.len(), first.written.len());
        assert_eq!(tree(dir.path()), before);
        let after: Vec<_> = before
            .keys()
            .map(|f| fs::metadata(dir.path().join(f)).and_then(|m| m.modified()).ok())
            .collect();
        assert_eq!(mtimes, after, "{format}: files were rewritten");
    }
}

#[test]
fn only_the_service_managers_files_are_written() {
    let plan = representative(Path::new("/srv/shop"));
    let dir = temp();
    ok(export(&plan, &options(Format::Systemd, dir.path())));
    let files: Vec<String> = tree(dir.path()).into_keys().collect();
    assert_eq!(
        files,
        ["shop-web.1.service", "shop-web.2.service", "shop-worker.1.service", "shop.target"]
    );
    // Every file of the directory, not only the units: nothing else may be there.
    if let Some(output) = verify_units(dir.path()) {
        assert_eq!(output, "", "systemd-analyze verify warned");
    }

    for (format, expected) in [
        (Format::Supervisord, &["shop.conf"][..]),
        (Format::Launchd, &["shop-web-1.plist", "shop-web-2.plist", "shop-worker-1.plist"][..]),
        (Format::Bluepill, &["shop.pill"][..]),
        (Format::Kubernetes, &["shop.yaml"][..]),
    ] {
        let dir = temp();
        let mut opts = options(format, dir.path());
        opts.image = Some("registry.example/shop:1".to_owned());
        ok(export(&plan, &opts));
        let files: Vec<String> = tree(dir.path()).into_keys().collect();
        assert_eq!(files, expected, "{format}");
    }
}

#[test]
fn smaller_formation_cleans_up_and_keeps_foreign_files() {
    let dir = temp();
    write(&dir.path().join("other-app.service"), "[Unit]\n");
    // Named like procman's, but without the header: someone else's.
    write(&dir.path().join("shop-web.9.service"), "[Service]\nExecStart=/bin/true\n");
    // Another app whose name starts with this one's.
    let admin = options(Format::Systemd, dir.path());
    let mut admin = admin;
    admin.app = Some("shop-admin".to_owned());
    let mut plan = representative(Path::new("/srv/shop"));
    ok(export(&plan, &admin));
    plan.processes[0].count = 3;
    let opts = options(Format::Systemd, dir.path());
    ok(export(&plan, &opts));
    assert!(dir.path().join("shop-web.3.service").exists());

    plan.processes[0].count = 1;
    let (report, printed) = ok(export(&plan, &opts));
    let location = dir.path().display();
    assert_eq!(
        printed,
        format!(
            "[procman export] writing: {location}/shop.target\n\
             [procman export] cleaning up: {location}/shop-web.2.service\n\
             [procman export] cleaning up: {location}/shop-web.3.service\n"
        )
    );
    assert_eq!(report.removed.len(), 2);
    let files: Vec<String> = tree(dir.path()).into_keys().collect();
    assert_eq!(
        files,
        [
            "other-app.service",
            "shop-admin-web.1.service",
            "shop-admin-web.2.service",
            "shop-admin-worker.1.service",
            "shop-admin.target",
            "shop-web.1.service",
            "shop-web.9.service",
            "shop-worker.1.service",
            "shop.target"
        ]
    );
    let target = fs::read_to_string(dir.path().join("shop.target")).unwrap_or_default();
    assert!(target.contains("Wants=shop-web.1.service shop-worker.1.service\n"), "{target}");
}

#[test]
fn a_stale_file_is_removed_only_with_the_header() {
    let dir = temp();
    let mut plan = representative(Path::new("/srv/shop"));
    let opts = options(Format::Systemd, dir.path());
    ok(export(&plan, &opts));
    // Edited, header kept: the header says edits are lost, and the file goes.
    let edited = dir.path().join("shop-web.2.service");
    let text = fs::read_to_string(&edited).unwrap_or_default();
    write(&edited, &format!("{text}Nice=5\n"));
    plan.processes[0].count = 1;
    ok(export(&plan, &opts));
    assert!(!edited.exists());

    // With the header line removed, it is the user's: kept, and nothing is said about it
    // (procman's unit is not Foreman's either: `StandardOutput=journal`).
    plan.processes[0].count = 2;
    ok(export(&plan, &opts));
    let text = fs::read_to_string(&edited).unwrap_or_default();
    let without: String = text.lines().skip(1).map(|l| format!("{l}\n")).collect();
    write(&edited, &without);
    plan.processes[0].count = 1;
    let (report, printed) = ok(export(&plan, &opts));
    assert!(edited.exists());
    assert!(report.removed.is_empty(), "{report:?}");
    assert!(!printed.contains("shop-web.2"), "{printed}");
}

#[test]
fn runit_services_holding_foreign_files_are_kept_whole() {
    let dir = temp();
    let mut plan = representative(Path::new("/srv/shop"));
    let opts = options(Format::Runit, dir.path());
    ok(export(&plan, &opts));
    // runsv creates supervise/ in a service it runs: not ours, so web-2's service stays whole.
    write(&dir.path().join("shop-web-2/supervise/pid"), "123\n");
    plan.processes[0].count = 1;
    plan.processes[1].count = 0;
    let (report, printed) = ok(export(&plan, &opts));
    assert!(!dir.path().join("shop-worker-1").exists(), "{printed}");
    assert!(dir.path().join("shop-web-2/run").exists(), "half a service was removed");
    assert!(dir.path().join("shop-web-2/env/PORT").exists(), "half a service was removed");
    let location = dir.path().display();
    assert!(printed.contains(&format!(
        "[procman export] cleaning up directory: {location}/shop-worker-1/env\n"
    )));
    assert!(printed.contains(&format!(
        "[procman export] keeping: {location}/shop-web-2 (it holds shop-web-2/supervise that \
         procman did not write: stop the service and remove the directory by hand)\n"
    )));
    assert!(report.kept.contains(&dir.path().join("shop-web-2")));

    // Once runsv's directory is gone, the next export removes the service.
    fs::remove_dir_all(dir.path().join("shop-web-2/supervise")).unwrap_or_else(|e| panic!("{e}"));
    let (_, printed) = ok(export(&plan, &opts));
    assert!(!dir.path().join("shop-web-2").exists(), "{printed}");
}

#[test]
fn runit_drops_variables_no_longer_set() {
    let dir = temp();
    let mut plan = representative(Path::new("/srv/shop"));
    let opts = options(Format::Runit, dir.path());
    ok(export(&plan, &opts));
    // A link in env/ is the user's (a secret kept elsewhere): never removed.
    std::os::unix::fs::symlink("/etc/hostname", dir.path().join("shop-web-1/env/SECRET"))
        .unwrap_or_else(|e| panic!("{e}"));
    plan.env.retain(|(name, _)| name != "GREETING");
    let (_, printed) = ok(export(&plan, &opts));
    assert!(!dir.path().join("shop-web-1/env/GREETING").exists(), "{printed}");
    assert!(dir.path().join("shop-web-1/env/RACK_ENV").exists());
    assert!(dir.path().join("shop-web-1/env/SECRET").is_symlink());
}

#[test]
fn foreign_file_in_the_way_is_not_overwritten() {
    let dir = temp();
    let foreign = dir.path().join("shop-web.1.service");
    write(&foreign, "[Service]\nExecStart=/usr/bin/hand-written\n");
    let plan = representative(Path::new("/srv/shop"));
    let mut opts = options(Format::Systemd, dir.path());
    let error = export(&plan, &opts).err();
    assert!(
        matches!(&error, Some(ExportError::ForeignFile { path }) if *path == foreign),
        "{error:?}"
    );
    assert_eq!(tree(dir.path()).len(), 1, "something was written");

    opts.force = true;
    let (_, printed) = ok(export(&plan, &opts));
    assert!(printed.contains("(overwrites what procman did not write: --force)"), "{printed}");
    let text = fs::read_to_string(&foreign).unwrap_or_default();
    assert!(text.contains("ExecStart=/bin/bash -lc"), "{text}");
}

#[test]
fn dry_run_touches_nothing() {
    let dir = temp();
    let location = dir.path().join("units");
    let plan = representative(Path::new("/srv/shop"));
    let mut opts = options(Format::Systemd, &location);
    opts.dry_run = true;
    let (report, printed) = ok(export(&plan, &opts));
    assert!(!location.exists());
    assert_eq!(report.written.len(), 4);
    assert!(printed.contains(&format!(
        "[procman export] would write: {}/shop-web.1.service (mode 644)\n# Generated by procman",
        location.display()
    )));

    // Over an earlier export: what would go, and nothing goes.
    opts.dry_run = false;
    ok(export(&plan, &opts));
    let before = tree(&location);
    let mut smaller = plan.clone();
    smaller.processes[0].count = 1;
    opts.dry_run = true;
    let (report, printed) = ok(export(&smaller, &opts));
    assert!(printed.contains(&format!(
        "[procman export] would clean up: {}/shop-web.2.service\n",
        location.display()
    )));
    assert_eq!(report.removed, [location.join("shop-web.2.service")]);
    assert_eq!(tree(&location), before);
}

#[test]
fn inittab_into_a_file_keeps_other_lines() {
    let dir = temp();
    let inittab = dir.path().join("inittab");
    write(&inittab, "id:2:initdefault:\nsi::sysinit:/etc/init.d/rcS\n");
    let plan = representative(Path::new("/srv/shop"));
    let opts = options(Format::Inittab, &inittab);
    ok(export(&plan, &opts));
    let first = fs::read_to_string(&inittab).unwrap_or_default();
    assert!(
        first.starts_with(
            "id:2:initdefault:\nsi::sysinit:/etc/init.d/rcS\n# ----- foreman shop processes -----\n"
        ),
        "{first}"
    );
    assert_eq!(first.matches(":4:respawn:").count(), 3);
    let (report, printed) = ok(export(&plan, &opts));
    assert_eq!(printed, "");
    assert_eq!(report.unchanged, std::slice::from_ref(&inittab));
    let mut smaller = plan.clone();
    smaller.processes[0].count = 1;
    ok(export(&smaller, &opts));
    let second = fs::read_to_string(&inittab).unwrap_or_default();
    assert_eq!(second.matches(":4:respawn:").count(), 2, "{second}");
    assert!(second.starts_with("id:2:initdefault:\nsi::sysinit:/etc/init.d/rcS\n"));
    let files: Vec<String> = tree(dir.path()).into_keys().collect();
    assert_eq!(files, ["inittab"], "a temporary file was left behind");
}

#[test]
fn stdout_is_only_for_inittab() {
    let plan = representative(Path::new("/srv/shop"));
    let error = export(&plan, &options(Format::Systemd, "-")).err().map(|e| e.to_string());
    assert_eq!(
        error.unwrap_or_default(),
        "systemd export writes several files and cannot write to standard output (`-`); give a \
         directory, or use --dry-run to see what would be written"
    );
}

#[test]
fn user_templates_override_file_by_file() {
    let dir = temp();
    let templates = temp();
    write(
        &templates.path().join("master.target"),
        "# {{ header }}\n[Unit]\nDescription=The {{ app }} app\nWants={{ services | join(\" \") }}\n",
    );
    let plan = representative(Path::new("/srv/shop"));
    let mut opts = options(Format::Systemd, dir.path());
    opts.template_dir = Some(templates.path().to_owned());
    let (report, _) = ok(export(&plan, &opts));
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    let target = fs::read_to_string(dir.path().join("shop.target")).unwrap_or_default();
    assert!(target.contains("Description=The shop app\n"), "{target}");
    // The other template is still the built-in one.
    let service = fs::read_to_string(dir.path().join("shop-web.1.service")).unwrap_or_default();
    assert!(service.contains("KillMode=mixed\n"), "{service}");

    // The per-user root is looked up as <root>/<format>/<file>, after --template.
    let home = temp();
    write(
        &home.path().join("systemd/process.service"),
        "# {{ header }}\n[Service]\nExecStart=/bin/true {{ ps }}\n",
    );
    opts.user_template_root = Some(home.path().to_owned());
    ok(export(&plan, &opts));
    let service = fs::read_to_string(dir.path().join("shop-web.2.service")).unwrap_or_default();
    assert!(service.ends_with("[Service]\nExecStart=/bin/true web.2\n"), "{service}");
}

#[test]
fn foremans_erb_templates_are_named_as_unused() {
    let dir = temp();
    let templates = temp();
    write(&templates.path().join("process.service.erb"), "[Unit]\nPartOf=<%= app %>.target\n");
    write(&templates.path().join("master.target.erb"), "[Unit]\nWants=<%= service_names %>\n");
    let plan = representative(Path::new("/srv/shop"));
    let mut opts = options(Format::Systemd, dir.path());
    opts.template_dir = Some(templates.path().to_owned());
    let (report, _) = ok(export(&plan, &opts));
    assert_eq!(
        report.warnings,
        [format!(
            "--template {}: procman's templates are minijinja (Jinja2 syntax), not Foreman's \
             ERB, and systemd uses only process.service, master.target; not using: \
             master.target.erb, process.service.erb. The built-in template is used for each \
             missing one: see it with `procman export --print-template systemd \
             process.service` (templates in docs/export.md)",
            templates.path().display()
        )]
    );
    let service = fs::read_to_string(dir.path().join("shop-web.1.service")).unwrap_or_default();
    assert!(service.starts_with("# Generated by procman export"), "{service}");
}

#[test]
fn a_missing_template_directory_is_an_error() {
    let plan = representative(Path::new("/srv/shop"));
    let mut opts = options(Format::Systemd, "/nonexistent/x");
    opts.dry_run = true;
    opts.template_dir = Some("/nonexistent/templates".into());
    let error = export(&plan, &opts).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        error.starts_with("could not read the template directory /nonexistent/templates: "),
        "{error}"
    );
}

#[test]
fn built_in_templates_can_be_printed() {
    let source = print_template(Format::Systemd, Some("process.service")).unwrap_or_default();
    assert!(source.contains("ExecStart=/bin/bash -lc {{"), "{source}");
    assert_eq!(print_template(Format::Systemd, Some("service")).ok(), Some(source));
    assert_eq!(
        print_template(Format::Systemd, None).ok().as_deref(),
        Some("process.service\nmaster.target\n")
    );
    assert_eq!(print_template(Format::Runit, None).ok().as_deref(), Some("run\nlog/run\n"));
    let error = print_template(Format::Systemd, Some("socket")).err().map(|e| e.to_string());
    assert_eq!(
        error.as_deref(),
        Some("systemd has no template `socket`; its templates are: process.service, master.target")
    );
}

#[test]
fn undefined_template_variables_are_errors() {
    let templates = temp();
    write(&templates.path().join("master.target"), "Wants={{ servces }}\n");
    let plan = representative(Path::new("/srv/shop"));
    let mut opts = options(Format::Systemd, "/nonexistent/x");
    opts.dry_run = true;
    opts.template_dir = Some(templates.path().to_owned());
    let error = export(&plan, &opts).err();
    let Some(ExportError::Template { template, message }) = error else {
        panic!("expected a template error, got {error:?}");
    };
    assert_eq!(template, templates.path().join("master.target").display().to_string());
    assert!(message.contains("undefined value"), "{message}");
}
