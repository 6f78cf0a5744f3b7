//! The driver's signal pipe: the signals received, as a set the driver reads at each turn.

use std::io;
use std::os::fd::{AsFd, OwnedFd};

use mio::event::Source;
use mio::net::UnixStream;
use mio::{Interest, Registry, Token};
use signal_hook::iterator::backend::{Pending, SignalDelivery};
use signal_hook::iterator::exfiltrator::SignalOnly;

/// signal-hook's delivery over a socket pair (what `signal_hook_mio`'s `Signals` is), safe to
/// drop while signals arrive.
///
/// The delivery, dropped, closes the read end *before* it unregisters its handlers. A signal
/// in between has its handler write to a socket nobody can read any more: EPIPE, and a
/// SIGPIPE, whose handler (the driver catches SIGPIPE) writes again, for ever. The process
/// spun in its handlers with every signal they had interrupted blocked: a supervisor ending
/// amid a storm of Ctrl-Z and `fg` never took the guard's last SIGTSTP, nor ended, and the
/// job hung. A second descriptor of the read end, closed once the handlers are gone, keeps the
/// socket open for them.
pub(super) struct SignalPipe {
    delivery: SignalDelivery<UnixStream, SignalOnly>,
    /// Dropped after `delivery`: fields drop in the order they are declared.
    _read_end: OwnedFd,
}

impl SignalPipe {
    /// Catches `signals`, from now on.
    pub(super) fn new(signals: &[i32]) -> io::Result<SignalPipe> {
        let (read, write) = UnixStream::pair()?;
        let read_end = read.as_fd().try_clone_to_owned()?;
        let delivery = SignalDelivery::with_pipe(read, OwnedFd::from(write), SignalOnly, signals)?;
        Ok(SignalPipe { delivery, _read_end: read_end })
    }

    /// The signals received since the last call, each once.
    pub(super) fn pending(&mut self) -> Pending<SignalOnly> {
        self.delivery.pending()
    }
}

impl Source for SignalPipe {
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interest: Interest,
    ) -> io::Result<()> {
        self.delivery.get_read_mut().register(registry, token, interest)
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interest: Interest,
    ) -> io::Result<()> {
        self.delivery.get_read_mut().reregister(registry, token, interest)
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        self.delivery.get_read_mut().deregister(registry)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    use super::*;

    /// Dropped again and again while one of its signals keeps interrupting the thread that
    /// drops it, the pipe still drops: before, a signal between the read end's close and the
    /// handlers' removal set off SIGPIPEs that never ended, the thread spinning in its handlers.
    #[test]
    fn drops_while_its_signals_keep_coming() {
        let (sender, receiver) = mpsc::channel();
        let done = Arc::new(AtomicBool::new(false));
        let dropper = {
            let done = Arc::clone(&done);
            std::thread::spawn(move || {
                let _ = sender.send(nix::sys::pthread::pthread_self());
                for _ in 0..2000 {
                    // SIGWINCH: ignored by default, so none that comes after the last drop
                    // harms the test process; SIGPIPE: the driver catches it too.
                    let pipe = SignalPipe::new(&[libc::SIGWINCH, libc::SIGPIPE]);
                    drop(pipe.expect("a signal pipe"));
                }
                done.store(true, Ordering::SeqCst);
            })
        };
        let target = receiver.recv().expect("the dropping thread");
        let deadline = Instant::now() + Duration::from_secs(60);
        while !done.load(Ordering::SeqCst) {
            assert!(Instant::now() < deadline, "the pipes never finished dropping");
            // The thread is not joined yet, so its handle stays valid even once it ends.
            let _ = nix::sys::pthread::pthread_kill(target, nix::sys::signal::Signal::SIGWINCH);
        }
        dropper.join().expect("the dropping thread ends");
    }
}
