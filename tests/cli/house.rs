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

/// `unsafe` code lives in `sys` modules only (a `sys/` directory or a `sys.rs`): the library's,
/// and each test harness's; everything else uses safe APIs (std, nix).
#[test]
fn unsafe_code_is_only_in_sys_modules() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(root, &mut files);
    assert!(files.len() > 50, "only {} Rust files under {}", files.len(), root.display());
    let mut outside = Vec::new();
    for file in files {
        let relative = file.strip_prefix(root).unwrap_or(&file);
        if relative.components().any(|part| part.as_os_str() == "sys")
            || relative.file_name().is_some_and(|name| name == "sys.rs")
        {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        for (number, line) in text.lines().enumerate() {
            if holds_unsafe_code(line) {
                outside.push(format!("{}:{}: {}", relative.display(), number + 1, line.trim()));
            }
        }
    }
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
