//! Foreman's export of the same app, recognised by Foreman's file names and the shape of its
//! templates (Foreman 0.63 to 0.87), so that an export over it replaces it instead of leaving
//! Foreman's units running the old app beside procman's.
//!
//! A file is Foreman's for the app only when its contents say so: they name the app (systemd's
//! `PartOf=`/`Wants=` chain up to `<app>.target`, supervisord's `[group:<app>]`, upstart's
//! `start on starting <app>`, bluepill's `Bluepill.application("<app>"`), or, for the formats
//! whose files do not (launchd, runit), the name is `<app>-<type>-<n>` for a process type of
//! the Procfile. A file without that shape is never Foreman's, whatever its name.

use std::collections::BTreeSet;

use super::Format;
use super::owners::{Candidates, Layout};

/// What Foreman's export of the app holds among the candidates.
#[derive(Debug, Default)]
pub(super) struct Claimed {
    /// File names of the location that Foreman wrote for the app.
    pub(super) files: BTreeSet<String>,
    /// systemd: the unit names that belong to the app (whether or not a file has that name),
    /// to recognise Foreman's `<unit>.wants/` directories.
    pub(super) units: BTreeSet<String>,
}

/// The non-empty lines of `text`, trimmed.
fn lines(text: &str) -> Vec<&str> {
    text.lines().map(str::trim).filter(|l| !l.is_empty()).collect()
}

/// `<app>-<type>-<n><ext>` split into the type and the number.
pub(super) fn instance_name<'a>(name: &'a str, app: &str, ext: &str) -> Option<(&'a str, &'a str)> {
    let rest = name.strip_prefix(app)?.strip_prefix('-')?.strip_suffix(ext)?;
    let (kind, number) = rest.rsplit_once('-')?;
    let numeric = !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit());
    (numeric && !kind.is_empty()).then_some((kind, number))
}

/// The files among `candidates` (top-level files without procman's header) that Foreman's
/// export of the app wrote.
pub(super) fn claim(layout: &Layout<'_>, candidates: &Candidates) -> Claimed {
    let app = layout.app;
    let mut claimed = Claimed::default();
    match layout.format {
        Format::Systemd => return systemd(app, candidates),
        Format::Supervisord => {
            let name = format!("{app}.conf");
            if candidates.get(&name).is_some_and(|text| supervisord_conf(app, text)) {
                claimed.files.insert(name);
            }
        }
        Format::Launchd => {
            for (name, text) in candidates {
                let Some((kind, _)) = instance_name(name, app, ".plist") else { continue };
                let stem = name.trim_end_matches(".plist");
                if layout.types.contains(&kind) && launchd_plist(stem, text) {
                    claimed.files.insert(name.clone());
                }
            }
        }
        Format::Upstart | Format::Daemon => claimed.files = upstart(layout, candidates),
        Format::Bluepill => {
            let name = format!("{app}.pill");
            let opening = format!("Bluepill.application(\"{app}\"");
            if candidates
                .get(&name)
                .is_some_and(|text| lines(text).iter().any(|l| l.starts_with(&opening)))
            {
                claimed.files.insert(name);
            }
        }
        Format::Runit | Format::Inittab | Format::Compose | Format::Kubernetes => {}
    }
    claimed
}

/// A systemd unit as Foreman wrote it: what it points to.
struct Unit {
    /// `PartOf=` and `WantedBy=`: the units it belongs to.
    belongs_to: Vec<String>,
    /// `Wants=`: the units it pulls in (a target's).
    wants: Vec<String>,
}

/// Parses `text` as one of Foreman's units: a service from `process.service.erb` (every
/// version runs `/bin/bash -lc '...'` with `SyslogIdentifier=%n` and `StandardOutput=syslog`,
/// where procman writes `journal`), or a target with nothing but `Wants=`, `PartOf=`,
/// `StopWhenUnneeded=` and `WantedBy=`.
fn foreman_unit(name: &str, text: &str) -> Option<Unit> {
    let mut unit = Unit { belongs_to: Vec::new(), wants: Vec::new() };
    let lines = lines(text);
    let words = |value: &str| value.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
    for line in &lines {
        if let Some(value) = line.strip_prefix("PartOf=").or_else(|| line.strip_prefix("WantedBy="))
        {
            unit.belongs_to.extend(words(value));
        } else if let Some(value) = line.strip_prefix("Wants=") {
            unit.wants.extend(words(value));
        }
    }
    let shaped = if name.ends_with(".service") {
        lines.iter().any(|l| l.starts_with("ExecStart=/bin/bash -lc '"))
            && lines.contains(&"SyslogIdentifier=%n")
            && lines.contains(&"StandardOutput=syslog")
    } else {
        !lines.is_empty()
            && lines.iter().all(|l| {
                ["[Unit]", "[Install]"].contains(l)
                    || ["Wants=", "PartOf=", "StopWhenUnneeded=", "WantedBy="]
                        .iter()
                        .any(|key| l.starts_with(key))
            })
    };
    shaped.then_some(unit)
}

/// The template unit of an instance (`shop-web@5000.service` → `shop-web@.service`).
fn template_of(unit: &str) -> String {
    match (unit.split_once('@'), unit.rsplit_once('.')) {
        (Some((prefix, _)), Some((_, suffix))) => format!("{prefix}@.{suffix}"),
        _ => unit.to_owned(),
    }
}

/// Foreman's units of the app: `<app>.target` and, repeatedly, every unit that is `PartOf=`
/// (or `WantedBy=`) one of the app's, or that one of the app's targets `Wants=`. That covers
/// every layout Foreman had: `<app>-<type>-<n>.service` with `<app>-<type>.target` (0.63 to
/// 0.81), `<app>-<type>@.service` with `<app>-<type>.target` and its `.target.wants/` links
/// (0.82 to 0.86), `<app>-<type>.<n>.service` (0.87). Another app whose name starts with this
/// one's (`shop-admin`) is not reached: its units point to `shop-admin.target`.
fn systemd(app: &str, candidates: &Candidates) -> Claimed {
    let units: Vec<(&String, Unit)> = candidates
        .iter()
        .filter_map(|(name, text)| foreman_unit(name, text).map(|unit| (name, unit)))
        .collect();
    let mut owned = BTreeSet::from([format!("{app}.target")]);
    loop {
        let before = owned.len();
        for (name, unit) in &units {
            if owned.contains(*name) {
                owned.extend(unit.wants.iter().map(|w| template_of(w)));
                owned.extend(unit.wants.iter().cloned());
            } else if unit.belongs_to.iter().any(|b| owned.contains(b)) {
                owned.insert((*name).clone());
            }
        }
        if owned.len() == before {
            break;
        }
    }
    let files =
        units.iter().map(|(name, _)| (*name).clone()).filter(|n| owned.contains(n)).collect();
    Claimed { files, units: owned }
}

/// Foreman's `app.conf.erb`: `[program:<app>-...]` sections with Foreman's keys, and
/// `[group:<app>]`.
fn supervisord_conf(app: &str, text: &str) -> bool {
    const KEYS: [&str; 9] = [
        "command",
        "autostart",
        "autorestart",
        "stdout_logfile",
        "stderr_logfile",
        "user",
        "directory",
        "environment",
        "programs",
    ];
    let group = format!("[group:{app}]");
    let program = format!("[program:{app}-");
    let lines = lines(text);
    let sections_ok = lines
        .iter()
        .filter(|l| l.starts_with('['))
        .all(|l| *l == group || (l.starts_with(&program) && l.ends_with(']')));
    let keys_ok = lines
        .iter()
        .filter(|l| !l.starts_with('['))
        .all(|l| l.split_once('=').is_some_and(|(key, _)| KEYS.contains(&key.trim())));
    sections_ok && keys_ok && lines.iter().filter(|l| **l == group).count() == 1
}

/// Foreman's `launchd.plist.erb` for the job `label`: a plist whose `Label` is `label`, with
/// `ProgramArguments`.
fn launchd_plist(label: &str, text: &str) -> bool {
    let labelled = text.split_once("<key>Label</key>").is_some_and(|(_, rest)| {
        rest.trim_start().starts_with(&format!("<string>{label}</string>"))
    });
    // Foreman never wrote `ExitTimeOut`; procman always does.
    text.trim_start().starts_with("<?xml")
        && labelled
        && text.contains("<key>ProgramArguments</key>")
        && !text.contains("<key>ExitTimeOut</key>")
}

/// Foreman's upstart and daemon jobs of the app: `<app>.conf` (the runlevel lines, and for
/// daemon the `pre-start` script making the log and run directories), `<app>-<type>.conf`
/// (`start on starting <app>`) and `<app>-<type>-<n>.conf` (`start on starting
/// <app>-<type>`, where daemon wrote `_` as `-`), for a type that has its job or is in the
/// Procfile.
fn upstart(layout: &Layout<'_>, candidates: &Candidates) -> BTreeSet<String> {
    let app = layout.app;
    let mut claimed = BTreeSet::new();
    let master = format!("{app}.conf");
    if candidates.get(&master).is_some_and(|text| upstart_master(text)) {
        claimed.insert(master);
    }
    let type_job = [format!("start on starting {app}"), format!("stop on stopping {app}")];
    let mut types_with_job = BTreeSet::new();
    for (name, text) in candidates {
        let kind = name.strip_prefix(app).and_then(|r| r.strip_prefix('-'));
        let Some(kind) = kind.and_then(|r| r.strip_suffix(".conf")) else { continue };
        if lines(text) == type_job {
            claimed.insert(name.clone());
            types_with_job.insert(kind.to_owned());
        }
    }
    for (name, text) in candidates {
        let Some((kind, _)) = instance_name(name, app, ".conf") else { continue };
        if !types_with_job.contains(kind) && !layout.types.contains(&kind) {
            continue;
        }
        let lines = lines(text);
        let starts =
            |job: &str| lines.first() == Some(&format!("start on starting {app}-{job}").as_str());
        let job_ok = starts(kind) || starts(&kind.replace('_', "-"));
        // Foreman never wrote `kill signal` or `kill timeout`; procman always does.
        let runs = lines.contains(&"respawn")
            && lines.last().is_some_and(|l| l.starts_with("exec "))
            && !lines.iter().any(|l| l.starts_with("kill "));
        if job_ok && runs {
            claimed.insert(name.clone());
        }
    }
    claimed
}

/// Foreman's `master.conf.erb` of upstart or daemon.
fn upstart_master(text: &str) -> bool {
    const FIXED: [&str; 8] = [
        "start on runlevel [2345]",
        "stop on runlevel [!2345]",
        "stop on runlevel [016]",
        "pre-start script",
        "bash << \"EOF\"",
        "EOF",
        "end script",
        "",
    ];
    let lines = lines(text);
    lines.contains(&"start on runlevel [2345]")
        && lines
            .iter()
            .all(|l| FIXED.contains(l) || l.starts_with("mkdir -p ") || l.starts_with("chown -R "))
}

/// Whether the runit service directory `dir` (`<app>-<type>-<n>`, a Procfile type) is
/// Foreman's: its `run` is `run.erb`'s (`cd`, `exec 2>&1`, `exec chpst -u USER -e
/// <location>/<dir>/env ...`).
pub(super) fn runit_service(layout: &Layout<'_>, dir: &str, run: &str) -> bool {
    let Some((kind, _)) = instance_name(dir, layout.app, "") else { return false };
    let lines: Vec<&str> = run.lines().collect();
    layout.types.contains(&kind)
        && lines.len() == 4
        && lines[0] == "#!/bin/sh"
        && lines[1].starts_with("cd ")
        && lines[2] == "exec 2>&1"
        && lines[3].starts_with("exec chpst -u ")
        && lines[3].contains(&format!("/{dir}/env "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_names() {
        assert_eq!(instance_name("shop-web-2.conf", "shop", ".conf"), Some(("web", "2")));
        assert_eq!(
            instance_name("shop-my-worker-10.plist", "shop", ".plist"),
            Some(("my-worker", "10"))
        );
        assert_eq!(instance_name("shop-web.conf", "shop", ".conf"), None);
        assert_eq!(instance_name("shopper-web-1.conf", "shop", ".conf"), None);
        assert_eq!(instance_name("shop-web-1", "shop", ""), Some(("web", "1")));
    }

    #[test]
    fn templates_of_instances() {
        assert_eq!(template_of("shop-web@5000.service"), "shop-web@.service");
        assert_eq!(template_of("shop-web.1.service"), "shop-web.1.service");
    }
}
