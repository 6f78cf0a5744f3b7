//! One module per subcommand.

pub(crate) mod attach;
pub(crate) mod check;
mod containment;
pub(crate) mod ctl;
pub(crate) mod export;
pub(crate) mod manpage;
pub(crate) mod ps_table;
pub(crate) mod run;
pub(crate) mod start;
mod watch;
