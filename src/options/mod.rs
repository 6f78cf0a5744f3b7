//! From what the user typed to what procman will do: the command line and `.foreman`, then the
//! plan each command works on.

pub(crate) mod plan;
pub(crate) mod supervision;
