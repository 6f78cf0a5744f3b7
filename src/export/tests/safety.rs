//! Exports never write outside their location: a link planted below it (a runit service's
//! `env/` pointing at `/etc/cron.d`) is refused with an error naming it, and nothing appears
//! at its target; a link where a file goes is replaced only with `--force`, never written
//! through; cleanup never follows one; files are replaced by a rename, never rewritten in place.

use std::fs;
use std::os::unix::fs::{MetadataExt, symlink};
use std::path::Path;

use super::{export, ok, options, representative, temp, tree, write};
use crate::export::{ExportError, Format};

fn link(target: &Path, at: &Path) {
    if let Some(parent) = at.parent() {
        fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
    }
    symlink(target, at).unwrap_or_else(|e| panic!("symlink {}: {e}", at.display()));
}

/// Exports into `location`, expecting a refusal naming the link `at` (to `target`), with
/// nothing written anywhere.
fn assert_refused(format: Format, location: &Path, at: &Path, target: &Path) {
    let before = tree(location);
    let plan = representative(Path::new("/srv/shop"));
    let mut opts = options(format, location);
    for force in [false, true] {
        opts.force = force;
        let error = export(&plan, &opts).err();
        match &error {
            Some(ExportError::SymlinkInLocation { link, target: to }) => {
                assert_eq!((link.as_path(), to.as_path()), (at, target), "{format}");
            }
            other => panic!("{format} (force {force}): expected a refusal, got {other:?}"),
        }
        let message = error.map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains(&at.display().to_string()), "{message}");
        assert_eq!(tree(location), before, "{format}: something was written");
        assert!(tree(target).is_empty(), "{format}: something was written through the link");
    }
}

#[test]
fn a_linked_runit_env_directory_is_not_written_through() {
    let location = temp();
    let cron = temp();
    let env = location.path().join("shop-web-1/env");
    link(cron.path(), &env);
    assert_refused(Format::Runit, location.path(), &env, cron.path());
}

#[test]
fn a_linked_runit_log_or_service_directory_is_not_written_through() {
    let elsewhere = temp();
    let location = temp();
    let log = location.path().join("shop-worker-1/log");
    link(elsewhere.path(), &log);
    assert_refused(Format::Runit, location.path(), &log, elsewhere.path());

    let location = temp();
    let service = location.path().join("shop-web-2");
    link(elsewhere.path(), &service);
    assert_refused(Format::Runit, location.path(), &service, elsewhere.path());
}

#[test]
fn a_link_planted_after_an_export_is_refused_on_the_next() {
    // The attack on a re-export: the service exists, its env/ is swapped for a link.
    let location = temp();
    let cron = temp();
    let plan = representative(Path::new("/srv/shop"));
    ok(export(&plan, &options(Format::Runit, location.path())));
    let env = location.path().join("shop-web-1/env");
    fs::remove_dir_all(&env).unwrap_or_else(|e| panic!("{e}"));
    link(cron.path(), &env);
    assert_refused(Format::Runit, location.path(), &env, cron.path());
}

#[test]
fn a_linked_file_is_replaced_only_with_force_and_never_written_through() {
    for (format, name) in [
        (Format::Systemd, "shop.target"),
        (Format::Supervisord, "shop.conf"),
        (Format::Launchd, "shop-web-1.plist"),
        (Format::Upstart, "shop-web-1.conf"),
        (Format::Bluepill, "shop.pill"),
        (Format::Runit, "shop-web-1/env/PORT"),
    ] {
        let location = temp();
        let elsewhere = temp();
        let victim = elsewhere.path().join("victim");
        write(&victim, "untouched\n");
        let at = location.path().join(name);
        link(&victim, &at);
        let plan = representative(Path::new("/srv/shop"));
        let mut opts = options(format, location.path());
        let error = export(&plan, &opts).err();
        assert!(
            matches!(&error, Some(ExportError::ForeignLink { path, target }) if *path == at && *target == victim),
            "{format}: {error:?}"
        );
        opts.force = true;
        ok(export(&plan, &opts));
        assert_eq!(fs::read_to_string(&victim).unwrap_or_default(), "untouched\n", "{format}");
        assert!(!at.is_symlink(), "{format}: the link is still there");
        let text = fs::read_to_string(&at).unwrap_or_default();
        assert!(!text.is_empty(), "{format}");
    }
}

#[test]
fn inittab_does_not_write_through_a_linked_file() {
    let dir = temp();
    let elsewhere = temp();
    let victim = elsewhere.path().join("inittab");
    write(&victim, "id:2:initdefault:\n");
    let at = dir.path().join("inittab");
    link(&victim, &at);
    let plan = representative(Path::new("/srv/shop"));
    let error = export(&plan, &options(Format::Inittab, &at)).err();
    assert!(matches!(error, Some(ExportError::ForeignLink { .. })), "{error:?}");
    assert_eq!(fs::read_to_string(&victim).unwrap_or_default(), "id:2:initdefault:\n");
}

#[test]
fn cleanup_does_not_follow_links() {
    let location = temp();
    let elsewhere = temp();
    write(&elsewhere.path().join("keep"), "precious\n");
    let mut plan = representative(Path::new("/srv/shop"));
    let opts = options(Format::Runit, location.path());
    ok(export(&plan, &opts));
    // A stale service whose env/ became a link: the service is kept whole, the target intact.
    let env = location.path().join("shop-web-2/env");
    fs::remove_dir_all(&env).unwrap_or_else(|e| panic!("{e}"));
    link(elsewhere.path(), &env);
    plan.processes[0].count = 1;
    let (report, _) = ok(export(&plan, &opts));
    assert!(report.kept.contains(&location.path().join("shop-web-2")), "{report:?}");
    assert!(env.is_symlink());
    assert_eq!(tree(elsewhere.path()).len(), 1);
}

#[test]
fn files_are_replaced_by_a_rename() {
    // A hard link to the old file keeps the old contents: the new file is a new inode,
    // renamed over the old one, so a reader never sees half of it.
    let location = temp();
    let mut plan = representative(Path::new("/srv/shop"));
    let opts = options(Format::Systemd, location.path());
    ok(export(&plan, &opts));
    let target = location.path().join("shop.target");
    let old = location.path().join("old.target");
    fs::hard_link(&target, &old).unwrap_or_else(|e| panic!("{e}"));
    let before = fs::read_to_string(&old).unwrap_or_default();
    let inode = fs::metadata(&target).map(|m| m.ino()).ok();
    plan.processes[0].count = 1;
    ok(export(&plan, &opts));
    assert_eq!(fs::read_to_string(&old).unwrap_or_default(), before);
    assert_ne!(fs::metadata(&target).map(|m| m.ino()).ok(), inode);
    assert_ne!(fs::read_to_string(&target).unwrap_or_default(), before);
    let leftovers: Vec<String> =
        tree(location.path()).into_keys().filter(|f| f.contains("procman-")).collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn modes_are_exact_whatever_the_umask() {
    let location = temp();
    let plan = representative(Path::new("/srv/shop"));
    ok(export(&plan, &options(Format::Runit, location.path())));
    let mode = |rel: &str| {
        fs::metadata(location.path().join(rel)).map(|m| m.mode() & 0o7777).unwrap_or_default()
    };
    assert_eq!(mode("shop-web-1/run"), 0o755);
    assert_eq!(mode("shop-web-1/log/run"), 0o755);
    assert_eq!(mode("shop-web-1/env/PORT"), 0o644);
}
