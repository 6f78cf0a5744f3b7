//! procman: a Procfile runner on a real supervision core. (Under construction.)

#![allow(dead_code)]

mod diagnostic;
mod dotforeman;
mod envfile;
mod formation;
mod plan;
mod procfile;
mod shell;
mod text;

fn main() {}
