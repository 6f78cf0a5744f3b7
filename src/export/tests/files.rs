//! Re-export is idempotent, removes the app's stale files, and never deletes or overwrites a
//! file procman did not write; dry runs touch nothing; template overrides and their errors.

use std::fs;
use std::path::Path;

use super::{export, ok, options, representative, tree};
use crate::export::{ExportError, Format};

fn temp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"))
}

fn write(path: &Path, text: &str) {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
    }
    fs::write(path, text).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn second_export_changes_nothing() {
    let plan = representative(Path::new("/srv/shop"));
    for format in [Format::Systemd, Format::Runit, Format::Supervisord, Format::Daemon] {
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
fn smaller_formation_cleans_up_and_keeps_foreign_files() {
    let dir = temp();
    write(&dir.path().join("other-app.service"), "[Unit]\n");
    write(&dir.path().join("shop-web.9.service"), "mine, not procman's\n");
    let mut plan = representative(Path::new("/srv/shop"));
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
             [procman export] cleaning up: {location}/shop-web.3.service\n\
             [procman export] writing: {location}/.procman-export-shop.json\n"
        )
    );
    assert_eq!(report.removed.len(), 2);
    let files: Vec<String> = tree(dir.path()).into_keys().collect();
    assert_eq!(
        files,
        [
            ".procman-export-shop.json",
            "other-app.service",
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
fn runit_directories_are_removed_only_when_empty() {
    let dir = temp();
    let mut plan = representative(Path::new("/srv/shop"));
    let opts = options(Format::Runit, dir.path());
    ok(export(&plan, &opts));
    // runsv creates supervise/ in a service it runs: not ours, so web-2's directory stays.
    write(&dir.path().join("shop-web-2/supervise/pid"), "123\n");
    plan.processes[0].count = 1;
    plan.processes[1].count = 0;
    let (report, printed) = ok(export(&plan, &opts));
    assert!(!dir.path().join("shop-worker-1").exists(), "{printed}");
    assert!(dir.path().join("shop-web-2/supervise/pid").exists());
    assert!(!dir.path().join("shop-web-2/run").exists());
    assert!(printed.contains(&format!(
        "[procman export] cleaning up directory: {}/shop-worker-1/env\n",
        dir.path().display()
    )));
    assert!(printed.contains(&format!(
        "[procman export] keeping directory: {}/shop-web-2 (not empty)\n",
        dir.path().display()
    )));
    assert!(report.kept.contains(&dir.path().join("shop-web-2")));

    // Once runsv's directory is gone, the next export removes what is left.
    fs::remove_dir_all(dir.path().join("shop-web-2/supervise")).unwrap_or_else(|e| panic!("{e}"));
    let (_, printed) = ok(export(&plan, &opts));
    assert!(!dir.path().join("shop-web-2").exists(), "{printed}");
}

#[test]
fn edited_stale_files_are_kept() {
    let dir = temp();
    let mut plan = representative(Path::new("/srv/shop"));
    let opts = options(Format::Systemd, dir.path());
    ok(export(&plan, &opts));
    let edited = dir.path().join("shop-web.2.service");
    write(&edited, "[Unit]\nDescription=hand-edited\n");
    plan.processes[0].count = 1;
    let (report, printed) = ok(export(&plan, &opts));
    assert!(edited.exists());
    assert_eq!(report.kept, std::slice::from_ref(&edited));
    assert!(printed.contains("(changed since procman wrote it; remove it by hand)"), "{printed}");
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
    ok(export(&plan, &opts));
    let text = fs::read_to_string(&foreign).unwrap_or_default();
    assert!(text.contains("ExecStart=/bin/bash -lc"), "{text}");
}

#[test]
fn lost_manifest_is_recovered_from_headers() {
    let dir = temp();
    let plan = representative(Path::new("/srv/shop"));
    let opts = options(Format::Systemd, dir.path());
    ok(export(&plan, &opts));
    fs::remove_file(dir.path().join(".procman-export-shop.json")).unwrap_or_else(|e| panic!("{e}"));
    let (report, _) = ok(export(&plan, &opts));
    assert!(report.written.is_empty());
    assert!(dir.path().join(".procman-export-shop.json").exists());
}

#[test]
fn damaged_manifest_is_an_error() {
    let dir = temp();
    let manifest = dir.path().join(".procman-export-shop.json");
    write(
        &manifest,
        r#"{"version":1,"app":"shop","format":"systemd","files":{"../../etc/passwd":"0"},"dirs":[]}"#,
    );
    let plan = representative(Path::new("/srv/shop"));
    let error = export(&plan, &options(Format::Systemd, dir.path())).err().map(|e| e.to_string());
    assert_eq!(
        error.unwrap_or_default(),
        format!(
            "the export manifest {} is damaged (it lists `../../etc/passwd`, which is not a path \
             inside the location); check it, or delete it to start over (stale files of the \
             earlier export are then left in place)",
            manifest.display()
        )
    );
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
    ok(export(&plan, &opts));
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
