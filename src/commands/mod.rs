//! One module per subcommand.

pub(crate) mod ctl;
pub(crate) mod start;
mod watch;
