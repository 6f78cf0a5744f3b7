//! The screen of `procman ps --watch` as a pure function of what is shown and the terminal's
//! size: [`layout`] gives the lines to draw, so every size is tested without a terminal.
//!
//! - **Any size shows something.** A terminal that reports 0x0 (a fresh pty, some serial
//!   consoles) gets the usual 80x24; a short one shows the instances first, dropping the
//!   containment line, the title and the totals before them, and at least one instance row.
//! - **The name is never cut** (unless it alone is wider than the terminal): on a narrow
//!   terminal whole columns go, least useful first ([`DROP_ORDER`]: what the state or a wider
//!   terminal tells, then the identity and history of the process, and the CPU and memory
//!   last but the state), never part of a cell.
//! - **Columns are aligned** on their widest cell over every row, so `web.1` lines up with
//!   `web.10` and `web.100`; numbers are right-aligned.
//! - **Too many instances** for the height show a window around the selected one, with a line
//!   saying how many more there are.

/// What the screen shows.
#[derive(Clone, Debug, Default)]
pub(crate) struct Frame {
    /// Lines above the table (the title, the keys).
    pub(crate) title: Vec<String>,
    /// The header, a row per instance, the totals (`ps_table::table_rows`).
    pub(crate) rows: Vec<Vec<String>>,
    /// Lines below the table (the containment, the last action's answer).
    pub(crate) footer: Vec<String>,
    /// The instance row marked as selected (0 is the first instance), when keys act on one.
    pub(crate) selected: Option<usize>,
}

/// The size assumed when the terminal reports none (0).
const DEFAULT_SIZE: (usize, usize) = (80, 24);

/// Columns dropped on a narrow terminal, first to last. `WAITING FOR` and `READY` say at
/// length what `STATE` says in a word (`WAITING`, `STARTING`); the CPU use and the memory, what
/// the watch is for, outlast all but the state. A column not listed goes before these; NAME
/// always stays.
const DROP_ORDER: [&str; 10] = [
    "WAITING FOR",
    "LAST EXIT",
    "READY",
    "RESTARTS",
    "UPTIME",
    "PID",
    "CPU",
    "%CPU",
    "MEM",
    "STATE",
];

/// The column that always stays.
const NAME: &str = "NAME";

/// Columns of numbers, aligned to the right.
const NUMBERS: [&str; 5] = ["PID", "RESTARTS", "CPU", "%CPU", "MEM"];

/// The lines to draw from the top left, each at most `width` characters, at most `height` of
/// them.
pub(crate) fn layout(frame: &Frame, width: usize, height: usize) -> Vec<String> {
    let width = if width == 0 { DEFAULT_SIZE.0 } else { width };
    let height = if height == 0 { DEFAULT_SIZE.1 } else { height };
    let Some((header, rest)) = frame.rows.split_first() else {
        return frame
            .title
            .iter()
            .chain(&frame.footer)
            .take(height)
            .map(|l| cut(l, width))
            .collect();
    };
    let (instances, total) = match rest.split_last() {
        Some((total, instances)) => (instances, Some(total)),
        None => (rest, None),
    };
    let marker = if frame.selected.is_some() { 2 } else { 0 };
    let shown = columns_that_fit(&frame.rows, width.saturating_sub(marker));
    let widths = column_widths(&frame.rows);
    let line = |row: &Vec<String>, selected: bool| -> String {
        let mut text = String::new();
        if marker > 0 {
            text.push_str(if selected { "> " } else { "  " });
        }
        for (n, &c) in shown.iter().enumerate() {
            let cell = row.get(c).map_or("", String::as_str);
            let pad = " ".repeat(widths[c].saturating_sub(cell.chars().count()));
            if n > 0 {
                text.push_str("  ");
            }
            if NUMBERS.contains(&header[c].as_str()) {
                text.push_str(&pad);
                text.push_str(cell);
            } else {
                text.push_str(cell);
                text.push_str(&pad);
            }
        }
        cut(text.trim_end(), width)
    };

    // Height: at least one instance row; the footer, the title, the totals and the header give
    // way, in that order, until it fits.
    let mut parts = [frame.footer.len(), frame.title.len(), usize::from(total.is_some()), 1];
    for part in 0..parts.len() {
        if parts.iter().sum::<usize>() < height {
            break;
        }
        parts[part] = 0;
    }
    let [footer, title, totals, headers] = parts;
    let room = height.saturating_sub(parts.iter().sum::<usize>()).max(1);

    let mut lines: Vec<String> = frame.title.iter().take(title).map(|l| cut(l, width)).collect();
    if headers > 0 {
        lines.push(line(header, false));
    }
    let selected = frame.selected.unwrap_or(0).min(instances.len().saturating_sub(1));
    let (start, count, more) = window(instances.len(), room, selected);
    for (n, row) in instances.iter().enumerate().skip(start).take(count) {
        lines.push(line(row, frame.selected.is_some() && n == selected));
    }
    if more > 0 {
        lines.push(cut(&format!("{}… {more} more", " ".repeat(marker)), width));
    }
    if let (Some(total), 1) = (total, totals) {
        lines.push(line(total, false));
    }
    lines.extend(frame.footer.iter().take(footer).map(|l| cut(l, width)));
    lines.truncate(height);
    lines
}

/// The columns to show: all that fit in `width`, dropping the columns [`DROP_ORDER`] does not
/// list (the rightmost first), then in its order; NAME stays.
fn columns_that_fit(rows: &[Vec<String>], width: usize) -> Vec<usize> {
    let Some(header) = rows.first() else { return Vec::new() };
    let widths = column_widths(rows);
    let mut shown: Vec<usize> = (0..header.len()).collect();
    let total = |shown: &[usize]| -> usize {
        shown.iter().map(|c| widths[*c]).sum::<usize>() + 2 * shown.len().saturating_sub(1)
    };
    let unlisted = (0..header.len())
        .rev()
        .filter(|c| header[*c] != NAME && !DROP_ORDER.contains(&header[*c].as_str()));
    let listed = DROP_ORDER.iter().filter_map(|name| header.iter().position(|h| h == name));
    for column in unlisted.chain(listed) {
        if total(&shown) <= width {
            break;
        }
        shown.retain(|c| *c != column);
    }
    shown
}

/// Each column's widest cell, over every row.
fn column_widths(rows: &[Vec<String>]) -> Vec<usize> {
    let columns = rows.first().map_or(0, Vec::len);
    (0..columns)
        .map(|c| rows.iter().filter_map(|r| r.get(c)).map(|s| s.chars().count()).max().unwrap_or(0))
        .collect()
}

/// Which of `len` instance rows fit in `room` lines, around `selected`: the first row shown,
/// how many, and how many are left out (a line then says so, and takes one of the lines).
fn window(len: usize, room: usize, selected: usize) -> (usize, usize, usize) {
    if len <= room {
        return (0, len, 0);
    }
    // One line says how many more there are, when there is room for it and a row.
    let count = if room >= 2 { room - 1 } else { room };
    let start = selected.saturating_sub(count / 2).min(len - count);
    (start, count, len - count)
}

/// `text`, at most `width` characters.
fn cut(text: &str, width: usize) -> String {
    text.chars().take(width).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(instances: usize) -> Frame {
        let header =
            ["NAME", "PID", "STATE", "UPTIME", "RESTARTS", "LAST EXIT", "CPU", "%CPU", "MEM"];
        let mut rows: Vec<Vec<String>> = vec![header.iter().map(|h| (*h).to_owned()).collect()];
        for n in 1..=instances {
            rows.push(
                [
                    format!("web.{n}"),
                    format!("{}", 20000 + n),
                    "RUNNING".to_owned(),
                    "3m07s".to_owned(),
                    "0".to_owned(),
                    "-".to_owned(),
                    "0.42s".to_owned(),
                    "1.5".to_owned(),
                    "12.3M".to_owned(),
                ]
                .to_vec(),
            );
        }
        rows.push(
            ["TOTAL", "", "3/3 up", "", "", "3 processes", "1.26s", "4.5", "36.9M"]
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
        );
        Frame {
            title: vec![
                "procman 0.1.0 (pid 1), up 3m07s: r restart, s stop, a attach, q quit".into(),
            ],
            rows,
            footer: vec!["containment: cgroup (/sys/fs/cgroup/unified/procman-1)".into()],
            selected: Some(0),
        }
    }

    #[test]
    fn watch_layout_on_a_0x0_terminal_is_the_usual_80x24() {
        let lines = layout(&frame(3), 0, 0);
        assert!(!lines.is_empty());
        assert_eq!(lines, layout(&frame(3), 80, 24));
        assert!(lines.iter().all(|l| l.chars().count() <= 80), "{lines:#?}");
        assert!(lines[1].starts_with("  NAME"), "{lines:#?}");
        assert!(lines[2].starts_with("> web.1"), "{lines:#?}");
        assert!(lines.iter().any(|l| l.contains("TOTAL")));
        assert!(lines.last().is_some_and(|l| l.starts_with("containment: cgroup")));
    }

    #[test]
    fn watch_layout_at_40_columns_keeps_every_name_and_the_memory() {
        let lines = layout(&frame(12), 40, 24);
        assert!(lines.iter().all(|l| l.chars().count() <= 40), "{lines:#?}");
        for n in 1..=12 {
            let name = format!("web.{n}");
            assert!(
                lines.iter().any(|l| l[2..].starts_with(&format!("{name} "))),
                "{name}: {lines:#?}"
            );
        }
        let header = &lines[1];
        for kept in ["NAME", "STATE", "MEM", "%CPU", "CPU"] {
            assert!(header.contains(kept), "{kept} in {header:?}");
        }
        for dropped in ["LAST EXIT", "RESTARTS", "UPTIME"] {
            assert!(!header.contains(dropped), "{dropped} in {header:?}");
        }
        // Aligned: web.1 and web.10 have their state in the same column.
        let at = |name: &str| {
            let line = lines.iter().find(|l| l[2..].starts_with(&format!("{name} "))).cloned();
            line.and_then(|l| l.find("RUNNING"))
        };
        assert_eq!(at("web.1"), at("web.10"));
        assert_eq!(at("web.1"), header.find("STATE"));
    }

    /// A table with readiness checks and dependencies (`READY`, `WAITING FOR`), names up to
    /// `worker.10`, and a column this layout does not know.
    fn frame_with_everything() -> Frame {
        let header = [
            "NAME",
            "PID",
            "STATE",
            "READY",
            "UPTIME",
            "RESTARTS",
            "LAST EXIT",
            "CPU",
            "%CPU",
            "MEM",
            "WAITING FOR",
            "NEW",
        ];
        let row = |name: &str, state: &str, waiting: &str| -> Vec<String> {
            let cells = [name, "20461", state, "no", "3m07s", "0", "-", "0.42s", "1.5", "12.3M"];
            cells.into_iter().chain([waiting, "new"]).map(str::to_owned).collect()
        };
        let mut rows = vec![header.map(str::to_owned).to_vec()];
        rows.push(row("db.1", "STARTING", "ready check (1m00s left)"));
        rows.push(row("web.1", "WAITING", "db (ready), migrate (exited)"));
        rows.extend((1..=10).map(|n| row(&format!("worker.{n}"), "RUNNING", "")));
        rows.push(row("TOTAL", "11/12 up", ""));
        Frame { title: vec![], rows, footer: vec![], selected: Some(0) }
    }

    #[test]
    fn watch_layout_at_40_columns_keeps_the_state_cpu_and_memory_over_every_other_column() {
        let lines = layout(&frame_with_everything(), 40, 24);
        assert!(lines.iter().all(|l| l.chars().count() <= 40), "{lines:#?}");
        let header = &lines[0];
        assert_eq!(header.split_whitespace().collect::<Vec<_>>(), ["NAME", "STATE", "%CPU", "MEM"]);
        for name in ["db.1", "web.1", "worker.1", "worker.10", "TOTAL"] {
            assert!(lines.iter().any(|l| l[2..].starts_with(&format!("{name} "))), "{name}");
        }
        let row = lines.iter().find(|l| l.contains("worker.10")).cloned().unwrap_or_default();
        assert_eq!(
            row.split_whitespace().collect::<Vec<_>>(),
            ["worker.10", "RUNNING", "1.5", "12.3M"]
        );
        // A little wider: the CPU time comes back before the process id.
        let header = &layout(&frame_with_everything(), 47, 24)[0];
        assert_eq!(
            header.split_whitespace().collect::<Vec<_>>(),
            ["NAME", "STATE", "CPU", "%CPU", "MEM"]
        );
        // Narrower: the state stays longest, then the memory.
        let header = &layout(&frame_with_everything(), 30, 24)[0];
        assert_eq!(header.split_whitespace().collect::<Vec<_>>(), ["NAME", "STATE", "MEM"]);
        let header = &layout(&frame_with_everything(), 22, 24)[0];
        assert_eq!(header.split_whitespace().collect::<Vec<_>>(), ["NAME", "STATE"]);
    }

    #[test]
    fn watch_layout_drops_a_column_it_does_not_know_first() {
        let all = layout(&frame_with_everything(), 200, 24);
        assert!(all[0].ends_with("NEW"), "{all:#?}");
        // Just too narrow for every column: only the unknown one goes.
        let width = all.iter().map(|l| l.chars().count()).max().unwrap_or(0) - 1;
        let header = &layout(&frame_with_everything(), width, 24)[0];
        assert!(header.ends_with("WAITING FOR"), "{header:?}");
    }

    #[test]
    fn watch_layout_wide_shows_every_column_aligned_past_ten_and_a_hundred() {
        let lines = layout(&frame(120), 200, 200);
        let header = &lines[1];
        for column in
            ["NAME", "PID", "STATE", "UPTIME", "RESTARTS", "LAST EXIT", "CPU", "%CPU", "MEM"]
        {
            assert!(header.contains(column), "{column} in {header:?}");
        }
        // Numbers right-aligned, names left-aligned, on every row.
        let mem_end = header.find("MEM").map(|at| at + 3);
        for line in lines.iter().filter(|l| l.contains("web.")) {
            assert_eq!(line.find("12.3M").map(|at| at + 5), mem_end, "{line:?}");
            assert_eq!(line.find("RUNNING"), header.find("STATE"), "{line:?}");
        }
        assert_eq!(lines.iter().filter(|l| l.contains("web.")).count(), 120);
    }

    #[test]
    fn watch_layout_when_short_shows_the_selected_instance_and_how_many_more() {
        let mut long = frame(50);
        long.selected = Some(30);
        let lines = layout(&long, 80, 10);
        assert_eq!(lines.len(), 10, "{lines:#?}");
        assert!(lines.iter().any(|l| l.starts_with("> web.31 ")), "{lines:#?}");
        assert!(
            lines.iter().any(|l| l.trim_start().starts_with("… ") && l.ends_with(" more")),
            "{lines:#?}"
        );
        // Three lines: the instances go first, the title and the rest give way.
        let lines = layout(&long, 80, 3);
        assert_eq!(lines.len(), 3, "{lines:#?}");
        assert!(lines.iter().any(|l| l.starts_with("> web.31 ")), "{lines:#?}");
        // One line: the selected instance alone.
        assert_eq!(layout(&long, 80, 1).len(), 1);
        assert!(layout(&long, 80, 1)[0].starts_with("> web.31 "));
    }

    #[test]
    fn watch_layout_never_cuts_a_name_that_fits() {
        let mut narrow = frame(2);
        narrow.rows[1][0] = "a-rather-long-process-name.1".to_owned();
        let lines = layout(&narrow, 32, 24);
        assert!(lines.iter().any(|l| l.contains("a-rather-long-process-name.1")), "{lines:#?}");
        // Without keys there is no marker column.
        narrow.selected = None;
        let lines = layout(&narrow, 32, 24);
        assert!(lines[1].starts_with("NAME"), "{lines:#?}");
    }
}
