//! Job control: stopping the whole app at once (Ctrl-Z) and resuming it (`fg`). Which signal
//! stops which process is decided in `sys/jobs.rs`.

use std::collections::BTreeSet;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::Driver;
use crate::signal::Signal;
use crate::sys::jobs::{session_of, stop_signal_for};
use crate::sys::reap::{signal_group, signal_process};
use crate::sys::tree::ProcessTable;

impl Driver {
    /// Stops every process of the app: each instance's process group and every descendant
    /// of the supervisor (the instances' children, daemons that left their group, adopted
    /// orphans; with a cgroup tree, every process in it). SIGTSTP where it stops the process
    /// the way Ctrl-Z would (a program that catches it can restore what it changed first),
    /// SIGSTOP where SIGTSTP would not stop it: a process that ignores it, or one in another
    /// session, such as an instance on a pty (the kernel discards a default SIGTSTP in the
    /// orphaned process group of a session leader). Returns how many processes were
    /// signalled.
    ///
    /// A process forked while the signals go out may be missed; a program that catches
    /// SIGTSTP and does not stop keeps running, as it would at a terminal.
    ///
    /// # What the host does
    ///
    /// The driver only stops and resumes the app's processes; the host owns the terminal and
    /// its own process. A host that offers Ctrl-Z:
    ///
    /// 1. asks for SIGTSTP and SIGCONT in [`DriverOptions::signals`](crate::DriverOptions),
    ///    so that Ctrl-Z reaches it as [`Event::SignalReceived`](crate::Event) instead of
    ///    stopping it alone (the instances lead process groups of their own: the terminal's
    ///    SIGTSTP never reaches them);
    /// 2. on SIGTSTP: calls `suspend`, says so, puts its terminal back the way it found it (if
    ///    it changed its modes), then has itself stopped, so that the shell sees the job
    ///    stopped and gets the terminal back: under a guard,
    ///    [`guard::request_stop`](crate::guard::request_stop) (the guard stops the host, then
    ///    itself); without one, SIGSTOP to itself (SIGTSTP is handled now);
    /// 3. on SIGCONT (`fg`, `bg`): sets its terminal modes again and calls
    ///    [`Driver::resume`].
    ///
    /// Time stands still meanwhile only for the stopped processes: the driver's timers (a
    /// stop timeout, a restart delay) keep their deadlines and fire at the first turn after
    /// the resume. A shutdown resumes a suspended app first, so its processes can act on the
    /// stop signal.
    pub fn suspend(&mut self) -> usize {
        self.suspended = true;
        let session = session_of(self.self_pid);
        let pids = self.app_pids();
        for (leader, _) in self.core.live_pids() {
            signal_group(leader, stop_signal_for(leader, session));
        }
        for pid in &pids {
            signal_process(*pid, stop_signal_for(*pid, session));
        }
        pids.len()
    }

    /// Resumes every process of the app (SIGCONT to each instance's process group and to
    /// every process [`Driver::suspend`] reaches). Returns how many processes were signalled.
    pub fn resume(&mut self) -> usize {
        self.suspended = false;
        for (leader, _) in self.core.live_pids() {
            signal_group(leader, Signal::CONT);
        }
        let pids = self.app_pids();
        for pid in &pids {
            signal_process(*pid, Signal::CONT);
        }
        pids.len()
    }

    /// Whether [`Driver::suspend`] was called without a [`Driver::resume`] since.
    pub fn is_suspended(&self) -> bool {
        self.suspended
    }

    /// Every live process of the app: the supervisor's descendants, what is in the cgroup
    /// tree, and the instances' leaders (all that is known where `/proc` is not).
    fn app_pids(&self) -> Vec<u32> {
        let table = ProcessTable::read();
        let mut pids: BTreeSet<u32> =
            table.descendants(self.self_pid).into_iter().filter(|p| table.is_alive(*p)).collect();
        pids.extend(self.cgroups.iter().flat_map(|cgroups| cgroups.pids()));
        pids.extend(self.core.live_pids().map(|(pid, _)| pid));
        pids.into_iter().collect()
    }
}

/// Which of SIGTSTP and SIGCONT came last. The signal pipe reports the signals received since
/// the last turn as a set, read flag by flag while more may arrive; a flag may also be left
/// over from a signal whose turn already acted on a later one. After a burst of Ctrl-Z and
/// `fg` only the last one counts, so a handler of its own records it, registered before the
/// pipe's: a turn that sees either flag acts on the signal that came last.
#[derive(Debug)]
pub(super) struct JobOrder {
    last: Arc<AtomicUsize>,
    handlers: Vec<signal_hook::SigId>,
}

impl JobOrder {
    /// Records the order of SIGTSTP and SIGCONT, if the host asked for both.
    pub(super) fn new(host_signals: &[Signal]) -> io::Result<JobOrder> {
        let last = Arc::new(AtomicUsize::new(0));
        let mut handlers = Vec::new();
        if host_signals.contains(&Signal::TSTP) && host_signals.contains(&Signal::CONT) {
            for signal in [libc::SIGTSTP, libc::SIGCONT] {
                let value = usize::try_from(signal).unwrap_or_default();
                handlers.push(signal_hook::flag::register_usize(signal, Arc::clone(&last), value)?);
            }
            // Under a guard, which SIGTSTP a stop request answers ([`crate::guard::request_stop`]).
            #[cfg(target_os = "linux")]
            handlers.extend(crate::sys::stop_protocol::record_generations()?);
        }
        Ok(JobOrder { last, handlers })
    }

    /// When SIGTSTP or SIGCONT is among `received`, keeps only the one that came last.
    pub(super) fn keep_last(&self, received: &mut Vec<i32>) {
        let is_job = |signal: &i32| *signal == libc::SIGTSTP || *signal == libc::SIGCONT;
        if self.handlers.is_empty() || !received.iter().any(is_job) {
            return;
        }
        let Ok(last) = i32::try_from(self.last.load(Ordering::SeqCst)) else { return };
        received.retain(|signal| !is_job(signal));
        if is_job(&last) {
            received.push(last);
        }
    }
}

impl Drop for JobOrder {
    fn drop(&mut self) {
        for handler in self.handlers.drain(..) {
            signal_hook::low_level::unregister(handler);
        }
    }
}
