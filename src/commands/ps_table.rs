//! The `ps` table: the columns of `procman ps` and `procman ps --watch`, with the app's totals
//! and human units (`3m07s`, `0.42s`, `12.3M`).

use std::path::PathBuf;

use serde_json::{Map, Value};

use crate::control::client::CtlError;
use procman::control::proto::{ProcessInfo, PsReply, WaitingFor};

/// A `ps` answer, typed.
pub(crate) fn parse_ps(reply: Map<String, Value>) -> Result<PsReply, CtlError> {
    serde_json::from_value(Value::Object(reply)).map_err(|err| CtlError::Protocol {
        path: PathBuf::from("the control socket"),
        detail: format!("a `ps` answer that does not parse: {err}"),
    })
}

/// The `ps` table, with the app's totals last. With `cpu_percent` (from `--watch`, which has
/// two samples to compare), a `%CPU` column too. A `READY` column when some type has a
/// readiness check, and a `WAITING FOR` column when some instance waits: without
/// `"ready"` and `"depends_on"`, the table is what it always was.
pub(crate) fn table(
    reply: &PsReply,
    cpu_percent: Option<&dyn Fn(&ProcessInfo) -> String>,
) -> String {
    let mut text = render(&table_rows(reply, cpu_percent));
    if let Some(line) = containment_line(reply) {
        text.push_str(&line);
        text.push('\n');
    }
    text
}

/// `containment: cgroup (/sys/fs/cgroup/...)`, when the answer names one.
pub(crate) fn containment_line(reply: &PsReply) -> Option<String> {
    let mechanism = reply.procman.containment.as_ref()?;
    Some(match &reply.procman.cgroup {
        Some(path) => format!("containment: {mechanism} ({path})"),
        None => format!("containment: {mechanism}"),
    })
}

/// The table's cells: the header, a row per instance, the totals.
pub(crate) fn table_rows(
    reply: &PsReply,
    cpu_percent: Option<&dyn Fn(&ProcessInfo) -> String>,
) -> Vec<Vec<String>> {
    let checked = reply.processes.iter().any(|p| p.ready.is_some());
    let waiting = reply.processes.iter().any(|p| p.waiting_for.is_some());
    let mut header = vec!["NAME", "PID", "STATE"];
    if checked {
        header.push("READY");
    }
    header.extend(["UPTIME", "RESTARTS", "LAST EXIT", "CPU"]);
    if cpu_percent.is_some() {
        header.push("%CPU");
    }
    header.push("MEM");
    if waiting {
        header.push("WAITING FOR");
    }
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|h| (*h).to_owned()).collect()];
    for p in &reply.processes {
        let mut row = vec![
            p.process.clone(),
            p.pid.map_or_else(|| "-".to_owned(), |pid| pid.to_string()),
            p.state.to_ascii_uppercase(),
        ];
        if checked {
            row.push(ready(p.ready).to_owned());
        }
        row.extend([
            if p.pid.is_some() { duration(p.uptime_seconds) } else { "-".to_owned() },
            p.restarts.to_string(),
            last_exit(p),
            p.cpu_seconds.map_or_else(|| "-".to_owned(), cpu),
        ]);
        if let Some(percent) = cpu_percent {
            row.push(percent(p));
        }
        row.push(p.rss_bytes.map_or_else(|| "-".to_owned(), bytes));
        if waiting {
            row.push(p.waiting_for.as_ref().map_or_else(String::new, waiting_words));
        }
        rows.push(row);
    }
    let t = &reply.total;
    let mut total =
        vec!["TOTAL".to_owned(), String::new(), format!("{}/{} up", t.running, t.instances)];
    if checked {
        total.push(String::new());
    }
    total.extend([
        String::new(),
        String::new(),
        format!("{} processes", t.processes),
        cpu(t.cpu_seconds),
    ]);
    if let Some(percent) = cpu_percent {
        total.push(percent(&total_info(reply)));
    }
    total.push(bytes(t.rss_bytes));
    rows.push(total);
    rows
}

/// A pseudo-instance holding the totals, for the `%CPU` callback: its name is empty.
fn total_info(reply: &PsReply) -> ProcessInfo {
    ProcessInfo {
        process: String::new(),
        cpu_seconds: Some(reply.total.cpu_seconds),
        ..empty_info()
    }
}

fn empty_info() -> ProcessInfo {
    ProcessInfo {
        process: String::new(),
        kind: String::new(),
        index: 0,
        pid: None,
        state: String::new(),
        uptime_seconds: 0.0,
        restarts: 0,
        retries: 0,
        last_exit_code: None,
        last_exit_signal: None,
        spawn_error: None,
        cpu_seconds: None,
        rss_bytes: None,
        tree_processes: None,
        ready: None,
        waiting_for: None,
    }
}

/// Left-aligned columns two spaces apart, numbers right-aligned.
fn render(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| rows.iter().filter_map(|r| r.get(c)).map(|s| s.chars().count()).max().unwrap_or(0))
        .collect();
    let right = |c: usize| matches!(rows[0].get(c).map(String::as_str), Some("PID" | "RESTARTS"));
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c > 0 {
                line.push_str("  ");
            }
            let pad = widths[c].saturating_sub(cell.chars().count());
            if right(c) {
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&" ".repeat(pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `yes`, `no`, or `-` without a check.
fn ready(ready: Option<bool>) -> &'static str {
    match ready {
        Some(true) => "yes",
        Some(false) => "no",
        None => "-",
    }
}

/// `db (ready), migrate (exited)`, or `ready check (55s left)`.
fn waiting_words(waiting: &WaitingFor) -> String {
    match waiting {
        WaitingFor::Dependencies(dependencies) => dependencies
            .iter()
            .map(|d| format!("{} ({})", d.kind, d.condition))
            .collect::<Vec<_>>()
            .join(", "),
        WaitingFor::ReadyCheck { seconds_left: Some(left) } => {
            format!("ready check ({} left)", duration(left.ceil()))
        }
        WaitingFor::ReadyCheck { seconds_left: None } => "ready check".to_owned(),
    }
}

fn last_exit(p: &ProcessInfo) -> String {
    match (&p.last_exit_code, &p.last_exit_signal, &p.spawn_error) {
        (_, _, Some(_)) if p.pid.is_none() => "spawn failed".to_owned(),
        (Some(code), _, _) => format!("code {code}"),
        (None, Some(signal), _) => signal.clone(),
        _ => "-".to_owned(),
    }
}

/// `42s`, `3m07s`, `2h05m`, `3d04h`.
pub(crate) fn duration(seconds: f64) -> String {
    let s = seconds.max(0.0) as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        3600..86400 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d{:02}h", s / 86400, s % 86400 / 3600),
    }
}

/// CPU time: `0.42s`, `12.3s`, then as a duration.
pub(crate) fn cpu(seconds: f64) -> String {
    if seconds < 10.0 {
        format!("{seconds:.2}s")
    } else if seconds < 60.0 {
        format!("{seconds:.1}s")
    } else {
        duration(seconds)
    }
}

/// Binary units, as `top` shows memory: `512K`, `12.3M`, `1.50G`.
pub(crate) fn bytes(n: u64) -> String {
    const K: f64 = 1024.0;
    let n = n as f64;
    if n < K * K {
        format!("{:.0}K", n / K)
    } else if n < K * K * K {
        format!("{:.1}M", n / (K * K))
    } else {
        format!("{:.2}G", n / (K * K * K))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use procman::control::proto::{ServerInfo, Totals};

    fn server(containment: Option<&str>, cgroup: Option<&str>) -> ServerInfo {
        ServerInfo {
            pid: 1,
            version: "0.1.0".into(),
            uptime_seconds: 1.0,
            containment: containment.map(str::to_owned),
            cgroup: cgroup.map(str::to_owned),
        }
    }

    #[test]
    fn control_cli_units_are_human() {
        assert_eq!(duration(42.9), "42s");
        assert_eq!(duration(187.0), "3m07s");
        assert_eq!(duration(7500.0), "2h05m");
        assert_eq!(duration(3.0 * 86400.0 + 4.0 * 3600.0), "3d04h");
        assert_eq!(cpu(0.421), "0.42s");
        assert_eq!(cpu(12.34), "12.3s");
        assert_eq!(cpu(75.0), "1m15s");
        assert_eq!(bytes(512 * 1024), "512K");
        assert_eq!(bytes(12_900_000), "12.3M");
        assert_eq!(bytes(3 << 29), "1.50G");
    }

    #[test]
    fn control_cli_ps_table_aligns_columns_and_ends_with_the_totals_and_the_containment() {
        let web = ProcessInfo {
            process: "web.1".into(),
            kind: "web".into(),
            index: 1,
            pid: Some(20461),
            state: "running".into(),
            uptime_seconds: 187.0,
            restarts: 2,
            last_exit_signal: Some("SIGTERM".into()),
            cpu_seconds: Some(0.42),
            rss_bytes: Some(12_900_000),
            tree_processes: Some(3),
            ..empty_info()
        };
        let worker = ProcessInfo {
            process: "worker.1".into(),
            kind: "worker".into(),
            index: 1,
            state: "backoff".into(),
            retries: 1,
            last_exit_code: Some(3),
            ..empty_info()
        };
        let reply = PsReply {
            procman: server(Some("cgroup"), Some("/sys/fs/cgroup/procman-1")),
            processes: vec![web, worker],
            total: Totals {
                instances: 2,
                running: 1,
                processes: 3,
                cpu_seconds: 0.42,
                rss_bytes: 12_900_000,
            },
        };
        let expected = "\
NAME        PID  STATE    UPTIME  RESTARTS  LAST EXIT    CPU    MEM
web.1     20461  RUNNING  3m07s          2  SIGTERM      0.42s  12.3M
worker.1      -  BACKOFF  -              0  code 3       -      -
TOTAL            1/2 up                     3 processes  0.42s  12.3M
containment: cgroup (/sys/fs/cgroup/procman-1)
";
        assert_eq!(table(&reply, None), expected);
        let percent = |p: &ProcessInfo| if p.process.is_empty() { "9.0" } else { "4.5" }.to_owned();
        let watched = table(&reply, Some(&percent));
        assert!(watched.starts_with("NAME"), "{watched}");
        assert!(
            watched.lines().next().is_some_and(|l| l.contains("CPU    %CPU  MEM")),
            "{watched}"
        );
        assert!(watched.lines().any(|l| l.starts_with("TOTAL") && l.contains("9.0")), "{watched}");
    }

    #[test]
    fn control_cli_ps_table_shows_ready_and_what_an_instance_waits_for() {
        use procman::control::proto::DependencyInfo;
        let db = ProcessInfo {
            process: "db.1".into(),
            kind: "db".into(),
            index: 1,
            pid: Some(41),
            state: "starting".into(),
            uptime_seconds: 2.0,
            ready: Some(false),
            waiting_for: Some(WaitingFor::ReadyCheck { seconds_left: Some(27.3) }),
            ..empty_info()
        };
        let web = ProcessInfo {
            process: "web.1".into(),
            kind: "web".into(),
            index: 1,
            state: "waiting".into(),
            waiting_for: Some(WaitingFor::Dependencies(vec![
                DependencyInfo { kind: "db".into(), condition: "ready".into() },
                DependencyInfo { kind: "migrate".into(), condition: "exited".into() },
            ])),
            ..empty_info()
        };
        let reply = PsReply {
            procman: server(None, None),
            processes: vec![db, web],
            total: Totals { instances: 2, running: 1, ..Totals::default() },
        };
        let expected = "\
NAME   PID  STATE     READY  UPTIME  RESTARTS  LAST EXIT    CPU    MEM  WAITING FOR
db.1    41  STARTING  no     2s             0  -            -      -    ready check (28s left)
web.1    -  WAITING   -      -              0  -            -      -    db (ready), migrate (exited)
TOTAL       1/2 up                             0 processes  0.00s  0K
";
        assert_eq!(table(&reply, None), expected);
    }
}
