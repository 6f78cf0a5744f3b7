//! One module per subcommand.

pub(crate) mod check;
pub(crate) mod ctl;
pub(crate) mod export;
pub(crate) mod manpage;
pub(crate) mod run;
pub(crate) mod start;
mod watch;
