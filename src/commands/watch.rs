//! `procman ps --watch`: the `ps` table redrawn in place every second, like `top`, on the
//! terminal's alternate screen, with a `%CPU` column computed between two samples.
//!
//! The terminal stays in its normal (cooked) mode, so Ctrl-C is a plain SIGINT: a handler
//! (signal-hook's, which only sets a flag: no `unsafe` here) cuts the one-second wait short,
//! and the screen guard's `Drop` restores the terminal on every way out (Ctrl-C, an error,
//! procman going away, a panic).

use std::collections::HashMap;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use crossterm::cursor::{Hide, MoveTo, Show};
use crossterm::style::Print;
use crossterm::terminal::{Clear, ClearType, EnterAlternateScreen, LeaveAlternateScreen};

use super::ps_table::{duration, parse_ps, table};
use crate::control::client::{Client, CtlError};
use crate::error::CliError;
use procman::control::proto::{ProcessInfo, Request};

/// CPU seconds of each instance (by name, with its pid, so a restart does not count as
/// negative time) at one instant; the totals under the empty name.
type Sample = (Instant, HashMap<String, (Option<u32>, f64)>);

/// Set by SIGINT, SIGTERM or SIGHUP: leave the loop.
static STOP: AtomicBool = AtomicBool::new(false);
/// Set by SIGWINCH, which only interrupts the wait, so the table is redrawn at the new size at
/// once.
static RESIZED: AtomicBool = AtomicBool::new(false);

/// Runs the watch until Ctrl-C (exit 0) or until procman goes away (exit 0, with a line
/// saying so).
pub(crate) fn run(client: &mut Client) -> Result<i32, CliError> {
    install_handlers()?;
    let mut screen = Screen::enter()?;
    let mut previous: Option<Sample> = None;
    while !STOP.load(Ordering::SeqCst) {
        let reply = match client.request(&Request::Ps) {
            Ok(reply) => reply,
            Err(CtlError::Closed { path } | CtlError::Io { path, .. }) => {
                drop(screen);
                println!("procman at {} has ended", path.display());
                return Ok(0);
            }
            Err(err) => return Err(err.into()),
        };
        let reply = parse_ps(reply)?;
        let now = Instant::now();
        let percent = |p: &ProcessInfo| -> String {
            let Some((at, samples)) = &previous else { return "-".to_owned() };
            let Some(cpu) = p.cpu_seconds else { return "-".to_owned() };
            let elapsed = now.duration_since(*at).as_secs_f64();
            match samples.get(&p.process) {
                Some((pid, before)) if *pid == p.pid && elapsed > 0.0 && cpu >= *before => {
                    format!("{:.1}", (cpu - before) / elapsed * 100.0)
                }
                _ => "-".to_owned(),
            }
        };
        let mut text = format!(
            "procman {} (pid {}), up {}: every second, Ctrl-C to quit\n\n",
            reply.procman.version,
            reply.procman.pid,
            duration(reply.procman.uptime_seconds)
        );
        text.push_str(&table(&reply, Some(&percent)));
        screen.draw(&text).map_err(|e| CliError::io("cannot draw the table", e))?;
        let mut samples: HashMap<String, (Option<u32>, f64)> = reply
            .processes
            .iter()
            .filter_map(|p| Some((p.process.clone(), (p.pid, p.cpu_seconds?))))
            .collect();
        samples.insert(String::new(), (None, reply.total.cpu_seconds));
        previous = Some((now, samples));
        if !STOP.load(Ordering::SeqCst) {
            // Returns early when a signal arrives: sleep is never restarted after a handler.
            nix::unistd::sleep(1);
        }
    }
    Ok(0)
}

fn install_handlers() -> Result<(), CliError> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGWINCH};
    for (signal, flag) in [(SIGINT, &STOP), (SIGTERM, &STOP), (SIGHUP, &STOP), (SIGWINCH, &RESIZED)]
    {
        signal_hook::flag::register(signal, flag)
            .map_err(|e| CliError::io(format!("cannot handle signal {signal}"), e))?;
    }
    Ok(())
}

/// The alternate screen, left (and the cursor shown again) on drop.
struct Screen {
    out: io::Stdout,
}

impl Screen {
    fn enter() -> Result<Screen, CliError> {
        let mut out = io::stdout();
        crossterm::execute!(out, EnterAlternateScreen, Hide)
            .map_err(|e| CliError::io("cannot set up the terminal", e))?;
        Ok(Screen { out })
    }

    /// Draws `text` from the top left, each line cut to the terminal's width, and clears
    /// what the previous frame left below. No line ends in a newline, so nothing scrolls.
    fn draw(&mut self, text: &str) -> io::Result<()> {
        let (columns, rows) = crossterm::terminal::size().unwrap_or((80, 24));
        let mut out = self.out.lock();
        let mut row: u16 = 0;
        for line in text.lines().take(usize::from(rows.saturating_sub(1))) {
            let cut: String = line.chars().take(usize::from(columns)).collect();
            crossterm::queue!(out, MoveTo(0, row), Print(cut), Clear(ClearType::UntilNewLine))?;
            row += 1;
        }
        crossterm::queue!(out, MoveTo(0, row), Clear(ClearType::FromCursorDown))?;
        out.flush()
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        let _ = crossterm::execute!(self.out, Show, LeaveAlternateScreen);
    }
}
