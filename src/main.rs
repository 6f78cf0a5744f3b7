//! procman: a Procfile runner on a real supervision core. (Under construction.)

#![allow(dead_code)]

mod cli;
mod commands;
mod control;
mod diagnostic;
mod dotforeman;
mod envfile;
mod export;
mod formation;
mod output;
mod plan;
mod procfile;
mod shell;
mod text;

fn main() {}
