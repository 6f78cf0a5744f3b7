//! Replays the seeds through every check, and tests the checks' own helpers. Runs on any
//! toolchain without libFuzzer: `cargo test --no-default-features` in `fuzz/`.

use std::fs;
use std::path::Path;

use super::*;

type Check = fn(&[u8]);

const TARGETS: [(&str, Check); 6] = [
    ("procfile", procfile),
    ("envfile", envfile),
    ("formation", formation),
    ("dotforeman", dotforeman),
    ("shell", shell),
    ("control", control),
];

#[test]
fn every_seed_passes_its_check() {
    let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    for (target, check) in TARGETS {
        let dir = seeds.join(target);
        let mut count = 0;
        for entry in fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("entry").path();
            let data = fs::read(&path).expect("seed");
            let result = std::panic::catch_unwind(|| check(&data));
            assert!(result.is_ok(), "{target}: seed {} fails", path.display());
            count += 1;
        }
        assert!(count > 0, "no seeds for {target}");
    }
}

#[test]
fn exec_insertion_is_recognized() {
    assert!(is_text_with_exec("a b", "a b"));
    assert!(is_text_with_exec("exec a b", "a b"));
    assert!(is_text_with_exec("A=1 exec a", "A=1 a"));
    assert!(is_text_with_exec("A=1 exec execa", "A=1 execa"));
    assert!(!is_text_with_exec("A=1exec  a", "A=1 a"));
    assert!(!is_text_with_exec("a b exec", "a b"));
    assert!(!is_text_with_exec("exec ab", "a b"));
}

#[test]
fn ansi_colors_are_stripped_and_other_escapes_kept() {
    assert_eq!(strip_ansi("\x1b[1;31merror\x1b[0m: x"), "error: x");
    assert_eq!(strip_ansi("\x1b[2Jx"), "\x1b[2Jx");
    assert_eq!(strip_ansi("\x1b]0;title"), "\x1b]0;title");
}

#[test]
fn repeated_keys_are_found_at_any_depth() {
    assert_eq!(has_repeated_key(r#"{"a":1,"b":{"c":[{"d":1,"d":2}]}}"#), Some(true));
    assert_eq!(has_repeated_key(r#"{"a":1,"a":1}"#), Some(true));
    assert_eq!(has_repeated_key(r#"{"a":{"a":1},"b":[{"a":1},{"a":2}]}"#), Some(false));
    assert_eq!(has_repeated_key(r#"{"a":1"#), None);
}
