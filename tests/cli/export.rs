//! `procman export` through the binary: the options reach the exporter and the files land.

use crate::util::Dir;

fn app(dir: &Dir) {
    dir.write("Procfile", "web: bundle exec puma -p $PORT\nworker: bundle exec sidekiq\n");
    dir.write(".env", "GREETING=\"hello world\"\n");
}

#[test]
fn systemd_export_writes_foremans_files_and_lists_them() {
    let dir = Dir::new();
    app(&dir);
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
    let dir = Dir::new();
    app(&dir);
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
    let dir = Dir::new();
    app(&dir);
    let out = dir.run(&["export", "inittab", "-", "-a", "shop"]);
    assert_eq!(out.code(), Some(0), "{}", out.stderr());
    assert!(out.stdout().contains("# ----- foreman shop processes -----"), "{}", out.stdout());
    assert!(out.stdout().contains("PORT=5100"), "{}", out.stdout());
}

#[test]
fn dry_run_writes_nothing() {
    let dir = Dir::new();
    app(&dir);
    let out = dir.run(&["export", "supervisord", "conf", "-a", "shop", "--dry-run"]);
    assert_eq!(out.code(), Some(0), "{}", out.stderr());
    assert!(out.stdout().contains("[program:shop-web-1]"), "{}", out.stdout());
    assert!(!dir.path().join("conf").exists());
}

#[test]
fn an_unknown_format_lists_the_known_ones() {
    let dir = Dir::new();
    app(&dir);
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
    let dir = Dir::new();
    app(&dir);
    let out = dir.run(&["export", "kubernetes", "k8s", "-a", "shop"]);
    assert_eq!(out.code(), Some(1));
    assert!(out.stderr().contains("--image"), "{}", out.stderr());
}
