//! procman: a Procfile runner on a real supervision core. (Under construction.)

#![allow(dead_code)]

mod cli;
mod commands;
mod control;
mod output;
mod plan;

fn main() {}
