//! The code base's own rules, checked over the tree (CONTRIBUTING.md, "The rules the code
//! follows").

use std::path::{Path, PathBuf};

/// Whether `line` holds `unsafe` code (a block, function, impl, trait or extern), not a mention
/// in a comment or a string.
fn holds_unsafe_code(line: &str) -> bool {
    const KEYWORD: &str = "unsafe";
    // The line without what its string literals hold, then without its comment.
    let mut code = String::new();
    let (mut quoted, mut escaped) = (false, false);
    for c in line.chars() {
        match (quoted, escaped, c) {
            (true, false, '\\') => escaped = true,
            (true, true, _) => escaped = false,
            (_, _, '"') => quoted = !quoted,
            (false, _, c) => code.push(c),
            (true, false, _) => {}
        }
    }
    let code = code.split("//").next().unwrap_or_default();
    code.match_indices(KEYWORD).any(|(at, _)| {
        let before = code[..at].chars().next_back();
        let after = code[at + KEYWORD.len()..].trim_start();
        before.is_none_or(|c| !c.is_alphanumeric() && c != '_')
            && ["{", "fn ", "impl", "extern", "trait"].iter().any(|next| after.starts_with(next))
    })
}

/// The Rust files below `dir`, build output and hidden directories left out.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if !name.starts_with('.') && name != "target" {
                rust_files(&path, out);
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

/// Every line of the tree's Rust files for which `wrong(file, line)` holds, as `file:N: line`,
/// `file` relative to the workspace.
fn lines_where(wrong: impl Fn(&Path, &str) -> bool) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(root, &mut files);
    assert!(files.len() > 50, "only {} Rust files under {}", files.len(), root.display());
    let mut found = Vec::new();
    for file in files {
        let relative = file.strip_prefix(root).unwrap_or(&file);
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        for (number, line) in text.lines().enumerate() {
            if wrong(relative, line) {
                found.push(format!("{}:{}: {}", relative.display(), number + 1, line.trim()));
            }
        }
    }
    found
}

/// `unsafe` code lives in `sys` modules only (a `sys/` directory or a `sys.rs`): the library's,
/// and each test harness's; everything else uses safe APIs (std, nix).
#[test]
fn unsafe_code_is_only_in_sys_modules() {
    let outside = lines_where(|file, line| {
        let in_sys = file.components().any(|part| part.as_os_str() == "sys")
            || file.file_name().is_some_and(|name| name == "sys.rs");
        !in_sys && holds_unsafe_code(line)
    });
    assert!(outside.is_empty(), "`unsafe` outside a sys module:\n{}", outside.join("\n"));
}

#[test]
fn a_mention_of_unsafe_is_not_unsafe_code() {
    assert!(holds_unsafe_code("    let raw = unsafe { libc::dup(0) };"));
    assert!(holds_unsafe_code("unsafe fn f() {}"));
    assert!(holds_unsafe_code("unsafe impl Send for X {}"));
    assert!(!holds_unsafe_code("//! no `unsafe` here"));
    assert!(!holds_unsafe_code("let x = 1; // unsafe { is a comment"));
    assert!(!holds_unsafe_code("const KEYWORD: &str = \"unsafe\";"));
    assert!(!holds_unsafe_code("let s = \"a \\\" unsafe { \"; // \"unsafe {\""));
    assert!(!holds_unsafe_code("fn unsafe_code_is_only_in_sys_modules() {"));
}

/// A plural is written with `procman::diagnostic::plural`, the one rule for it, not by hand
/// (a test of a count against 1 choosing between two strings).
#[test]
fn plurals_are_written_with_the_one_helper() {
    // Built here so that this file does not hold them.
    let by_hand: Vec<String> = ["==", "!="].iter().map(|op| format!("{op} 1 {{ \"")).collect();
    let found = lines_where(|file, line| {
        file != Path::new("src/diagnostic.rs")
            && by_hand.iter().any(|pattern| line.contains(pattern.as_str()))
    });
    assert!(found.is_empty(), "use diagnostic::plural:\n{}", found.join("\n"));
}
