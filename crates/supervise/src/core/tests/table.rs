//! The transition tables of the crate documentation and of `docs/supervision.md` are the one
//! in the code (`core/transitions.rs`), rendered.

use std::path::Path;

use super::super::transitions::markdown;

const HEADER: &str = "| From | Input | To | Effects and notes |";

/// The Markdown table that starts at [`HEADER`] in `text`, if there is one.
fn table_in(text: &str) -> Option<String> {
    let table: Vec<&str> = text
        .lines()
        .skip_while(|line| *line != HEADER)
        .take_while(|line| line.starts_with('|'))
        .collect();
    (!table.is_empty()).then(|| table.join("\n") + "\n")
}

/// A file of the repository, by its path from this crate's directory.
fn read(path: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

fn assert_shows_the_table(found: Option<String>, expected: &str, place: &str) {
    assert!(
        found.as_deref() == Some(expected),
        "the transition table in {place} is not the one of crates/supervise/src/core/\
         transitions.rs; it should read:\n\n{expected}\nIt reads:\n\n{}",
        found.as_deref().unwrap_or("(no table)")
    );
}

#[test]
fn the_crate_documentation_shows_the_transition_table_of_the_code() {
    let lib = read("src/lib.rs");
    let docs: Vec<&str> = lib
        .lines()
        .filter_map(|line| line.strip_prefix("//!"))
        .map(|line| line.strip_prefix(' ').unwrap_or(line))
        .collect();
    assert_shows_the_table(table_in(&docs.join("\n")), &markdown(true), "src/lib.rs");
}

#[test]
fn docs_supervision_md_shows_the_transition_table_of_the_code() {
    let docs = read("../../docs/supervision.md");
    assert_shows_the_table(table_in(&docs), &markdown(false), "docs/supervision.md");
}
