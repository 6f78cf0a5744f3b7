//! Real-process tests of the `Driver`: one integration test binary, whose tests run one at a
//! time (see `harness` for why: the driver reaps every child of the process).
#![allow(unreachable_pub)]

mod cgroup;
mod harness;
mod jobs;
mod lifecycle;
mod output;
mod readiness;
mod reload;
mod spawning;
mod stdin;
mod sys;
mod terminal;
mod tree;
