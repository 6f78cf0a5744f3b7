//! Spawns whose `exec` has not been confirmed yet.
//!
//! A spawn returns right after the fork (see `sys::spawn`); each child holds the write end of a
//! close-on-exec status pipe, whose end of file says the program is running and whose content
//! says why it could not. The instance stays "spawn pending" in the core until then, so its
//! `Starting` transition carries a process that really runs the program, and an exec failure
//! is reported as a typed spawn error rather than as an exit.
//!
//! Outcomes are reported in spawn order, so instances still start (and say so) in the order
//! they were asked for, as Foreman's do: an outcome read early waits for the earlier ones.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{self, Read};
use std::os::fd::{AsRawFd, OwnedFd};

use mio::unix::pipe::Receiver;
use mio::{Interest, Poll, Token};

use crate::core::{InstanceId, SpawnError};
use crate::sys::spawn::{FAILURE_RECORD, FailureContext};

/// Tokens of status pipes: this base plus the child's pid (pids stay below 2^22).
pub(super) const STATUS_BASE: usize = 1 << 32;

struct Pending {
    seq: u64,
    id: InstanceId,
    receiver: Receiver,
    context: FailureContext,
    /// Read from the status pipe, not yet reported.
    outcome: Option<Result<(), SpawnError>>,
}

/// The spawns waiting for their exec status, by pid.
#[derive(Default)]
pub(super) struct PendingExecs {
    by_pid: HashMap<u32, Pending>,
    /// Spawn order: sequence number to pid.
    order: BTreeMap<u64, u32>,
    next_seq: u64,
    /// Children whose exec failed: their exit is expected and belongs to no instance.
    failed: HashSet<u32>,
}

impl PendingExecs {
    /// Watches the status pipe of a new child.
    pub(super) fn add(
        &mut self,
        poll: &Poll,
        pid: u32,
        id: InstanceId,
        status: OwnedFd,
        context: FailureContext,
    ) -> io::Result<()> {
        let receiver = Receiver::from(status);
        receiver.set_nonblocking(true)?;
        let raw = receiver.as_raw_fd();
        let token = Token(STATUS_BASE + pid as usize);
        poll.registry().register(&mut mio::unix::SourceFd(&raw), token, Interest::READABLE)?;
        let seq = self.next_seq;
        self.next_seq += 1;
        self.order.insert(seq, pid);
        self.by_pid.insert(pid, Pending { seq, id, receiver, context, outcome: None });
        Ok(())
    }

    /// The pid behind a status token, if `token` is one.
    pub(super) fn pid_of(token: Token) -> Option<u32> {
        token.0.checked_sub(STATUS_BASE).and_then(|pid| u32::try_from(pid).ok())
    }

    pub(super) fn pids(&self) -> impl Iterator<Item = u32> + '_ {
        self.by_pid.keys().copied()
    }

    /// Reads `pid`'s status pipe, if it has said anything yet (the outcome is kept until it is
    /// its turn to be reported).
    pub(super) fn check(&mut self, pid: u32) {
        let Some(pending) = self.by_pid.get_mut(&pid) else { return };
        if pending.outcome.is_some() {
            return;
        }
        let mut record = [0u8; FAILURE_RECORD];
        let mut got = 0;
        pending.outcome = loop {
            match pending.receiver.read(&mut record[got..]) {
                Ok(0) if got == 0 => break Some(Ok(())),
                Ok(0) => break Some(Err(pending.context.error(&record[..got]))),
                Ok(n) => {
                    got += n;
                    if got == FAILURE_RECORD {
                        break Some(Err(pending.context.error(&record)));
                    }
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                // Nothing yet: the child has not reached exec (a spurious wake-up).
                Err(err) if err.kind() == io::ErrorKind::WouldBlock && got == 0 => break None,
                Err(_) => break Some(Err(pending.context.error(&record[..got]))),
            }
        };
    }

    /// Waits (up to `limit` in all) for every pending spawn to reach its exec or fail. A child
    /// is between fork and exec for microseconds, so this is short; it is used when an exit
    /// must be reported, so that every start asked for before it is reported first.
    pub(super) fn wait_all(&mut self, limit: std::time::Duration) {
        let deadline = std::time::Instant::now() + limit;
        let pids: Vec<u32> = self.order.values().copied().collect();
        for pid in pids {
            loop {
                self.check(pid);
                let Some(pending) = self.by_pid.get(&pid) else { break };
                if pending.outcome.is_some() {
                    break;
                }
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                if left.is_zero() {
                    return;
                }
                let timeout =
                    nix::poll::PollTimeout::try_from(left).unwrap_or(nix::poll::PollTimeout::MAX);
                let fd = std::os::fd::AsFd::as_fd(&pending.receiver);
                let mut fds = [nix::poll::PollFd::new(fd, nix::poll::PollFlags::POLLIN)];
                if nix::poll::poll(&mut fds, timeout).is_err() {
                    return;
                }
            }
        }
    }

    /// Whether any spawn waits for its exec status.
    pub(super) fn is_empty(&self) -> bool {
        self.by_pid.is_empty()
    }

    /// The earliest spawn, if its outcome is known: `Ok` when the program runs.
    pub(super) fn pop_ready(&mut self) -> Option<(u32, InstanceId, Result<(), SpawnError>)> {
        let (_, pid) = self.order.first_key_value()?;
        let pid = *pid;
        self.by_pid.get(&pid)?.outcome.as_ref()?;
        self.take(pid)
    }

    /// `pid`'s outcome now, out of order (its process already ended, so its status is known).
    pub(super) fn force(&mut self, pid: u32) -> Option<(u32, InstanceId, Result<(), SpawnError>)> {
        self.check(pid);
        self.by_pid.get(&pid)?.outcome.as_ref()?;
        self.take(pid)
    }

    fn take(&mut self, pid: u32) -> Option<(u32, InstanceId, Result<(), SpawnError>)> {
        let pending = self.by_pid.remove(&pid)?;
        self.order.remove(&pending.seq);
        let outcome = pending.outcome?;
        if outcome.is_err() {
            self.failed.insert(pid);
        }
        // Dropping the receiver closes the pipe, which also leaves the poll set.
        Some((pid, pending.id, outcome))
    }

    /// Whether `pid` was a child whose exec failed (its exit is then no news); forgets it.
    pub(super) fn take_failed(&mut self, pid: u32) -> bool {
        self.failed.remove(&pid)
    }
}
