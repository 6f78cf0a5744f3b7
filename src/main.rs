//! procman: a Procfile runner on a real supervision core. (Under construction.)

#![allow(dead_code)]

mod export;
mod plan;

fn main() {}
