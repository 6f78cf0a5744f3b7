//! Unit tests of `diagnostic.rs`, including the exact messages users see.

use super::*;

#[test]
fn renders_like_just() {
    let diagnostic = Diagnostic::new("Procfile line 3 has no `:` separating a name from a command")
        .at_line(Path::new("Procfile"), 3, "web bundle exec puma")
        .with_help("write it as `name: command`, e.g. `web: bundle exec puma`");
    assert_eq!(
        diagnostic.render(false),
        "error: Procfile line 3 has no `:` separating a name from a command\n  --> Procfile:3\n   \
         |\n 3 | web bundle exec puma\n   |\n   = help: write it as `name: command`, e.g. `web: \
         bundle exec puma`\n"
    );
}

#[test]
fn caret_under_the_column_and_wide_gutter() {
    let diagnostic = Diagnostic::new("bad")
        .at_line(Path::new(".env"), 120, "KEY=a b")
        .with_column(7, 1)
        .with_note("n")
        .with_help("h");
    assert_eq!(
        diagnostic.render(false),
        "error: bad\n    --> .env:120:7\n     |\n 120 | KEY=a b\n     |       ^\n     = note: n\n     \
         = help: h\n"
    );
}

#[test]
fn origin_without_a_file() {
    let diagnostic = Diagnostic::new("unknown process `wbe`")
        .with_origin("-m/--formation", Some("web=1,wbe=2"))
        .with_column(7, 3);
    assert_eq!(
        diagnostic.render(false),
        "error: unknown process `wbe`\n  --> -m/--formation\n   |\n   | web=1,wbe=2\n   |       \
         ^^^\n"
    );
}

#[test]
fn message_only() {
    assert_eq!(Diagnostic::new("boom").render(false), "error: boom\n");
    assert_eq!(Diagnostic::new("boom").to_string(), "error: boom");
}

#[test]
fn color_only_when_asked() {
    let diagnostic = Diagnostic::new("m").at_line(Path::new("P"), 1, "x").with_help("h");
    assert!(!diagnostic.render(false).contains('\x1b'));
    let colored = diagnostic.render(true);
    assert!(colored.starts_with("\x1b[1;31merror\x1b[0m\x1b[1m: m\x1b[0m\n"), "{colored:?}");
}

#[test]
fn control_characters_and_bidi_overrides_are_escaped() {
    assert_eq!(
        sanitize("a\tb\x1b[2Jc\u{202e}d\u{85}\r", 100),
        "a\\tb\\x1b[2Jc\\u{202e}d\\u{85}\\r"
    );
    let diagnostic = Diagnostic::new("m").at_line(Path::new("P"), 1, "\x1b]0;pwned\x07");
    assert!(!diagnostic.render(false).contains('\x1b'));
}

#[test]
fn sanitize_cuts_with_an_ellipsis() {
    assert_eq!(sanitize("abcdef", 6), "abcdef");
    assert_eq!(sanitize("abcdefg", 6), "abcde…");
    assert_eq!(sanitize("ab\x01cdefg", 6), "ab…");
    assert_eq!(fragment(&"y".repeat(1000)).chars().count(), MAX_FRAGMENT_CHARS);
}

#[test]
fn long_lines_are_windowed_around_the_column() {
    let line = format!("{}KEY=a b{}", "x".repeat(500), "z".repeat(500));
    let diagnostic = Diagnostic::new("m").at_line(Path::new("P"), 1, &line).with_column(500 + 6, 1);
    let rendered = diagnostic.render(false);
    let lines: Vec<&str> = rendered.lines().collect();
    let shown = lines[3].trim_start_matches(" 1 | ");
    assert!(shown.starts_with('…') && shown.ends_with('…'), "{shown}");
    assert!(shown.chars().count() <= MAX_SOURCE_CHARS + 1, "{}", shown.chars().count());
    // The caret sits under the space after `a`.
    let caret = lines[4].trim_start_matches("   | ");
    let offset = caret.find('^').unwrap_or(usize::MAX);
    assert_eq!(shown.chars().nth(offset), Some(' '));
    assert_eq!(shown.chars().nth(offset - 1), Some('a'));
}

#[test]
fn caret_past_the_end_of_the_line() {
    let diagnostic = Diagnostic::new("m").at_line(Path::new("P"), 1, "ab").with_column(3, 1);
    assert!(diagnostic.render(false).contains(" 1 | ab\n   |   ^\n"));
}

#[test]
fn many_diagnostics_are_capped() {
    let all: Diagnostics = (0..25).map(|n| Diagnostic::new(format!("e{n}"))).collect();
    let rendered = all.render(false);
    assert!(rendered.contains("error: e19\n"));
    assert!(!rendered.contains("error: e20\n"));
    assert!(rendered.ends_with("error: 5 more errors not shown\n"), "{rendered}");
    let two: Diagnostics = [Diagnostic::new("a"), Diagnostic::new("b")].into_iter().collect();
    assert_eq!(two.render(false), "error: a\n\nerror: b\n");
}

#[test]
fn typo_distance() {
    assert_eq!(distance("web", "wbe"), 1);
    assert_eq!(distance("worker", "wroker"), 1);
    assert_eq!(distance("kitten", "sitting"), 3);
    assert_eq!(distance("", "abc"), 3);
    assert_eq!(closest("wroker", &["web", "worker"]), Some("worker"));
    assert_eq!(closest("zzz", &["web", "worker"]), None);
    assert_eq!(distance("ca", "abc"), 3);
    assert_eq!(distance("abcdef", "badcfe"), 3);
    assert_eq!(distance("héllo", "hlélo"), 1);
    assert_eq!(distance(&"a".repeat(65), "a"), usize::MAX);
}

#[test]
fn typo_suggestions_stay_cheap_among_many_names() {
    // Found by the formation fuzz target running slowly: 100 unknown names against a Procfile of
    // 50,000 took 19 s. The cost of a suggestion is bounded by the count of names compared, not
    // by a clock: at most MAX_CANDIDATES of them, those of a length within reach. Which names
    // can still be suggested shows it, whatever the machine's speed.
    let long: Vec<String> = (0..50_000).map(|n| format!("{n:0>40}")).collect();
    let mut names: Vec<&str> = long.iter().map(String::as_str).collect();
    names.push("worker");
    // 50,000 names out of reach by length are passed over, not compared: `worker` after them
    // is still found, and a long unknown name matches none.
    assert_eq!(closest("wroker", &names), Some("worker"));
    assert_eq!(closest(&"x".repeat(40), &names), None);
    // Among names within reach, only the first MAX_CANDIDATES are compared: one more near miss
    // before `worker` hides it, however many names follow or precede.
    let mut near = vec!["zzzzzz"; 50_000];
    near.push("worker");
    assert_eq!(closest("wroker", &near), None, "past MAX_CANDIDATES");
    let mut far = vec!["zzzzzz"; MAX_CANDIDATES];
    far.push("worker");
    assert_eq!(closest("wroker", &far), None, "past MAX_CANDIDATES");
    assert_eq!(closest("wroker", &far[1..]), Some("worker"));
    // Out-of-reach names do not count against the candidates either.
    let mut mixed: Vec<&str> = long.iter().map(String::as_str).collect();
    mixed.extend(vec!["zzzzzz"; MAX_CANDIDATES - 1]);
    mixed.push("worker");
    assert_eq!(closest("wroker", &mixed), Some("worker"));
}

#[test]
fn only_the_first_hundred_are_kept() {
    let all: Diagnostics = (0..100_000).map(|n| Diagnostic::new(format!("e{n}"))).collect();
    assert_eq!((all.len(), all.list.len(), all.omitted), (100_000, MAX_KEPT, 100_000 - MAX_KEPT));
    assert!(all.render(false).ends_with("error: 99980 more errors not shown\n"));
    let mut merged = Diagnostics::from(Diagnostic::new("x"));
    merged.extend(all);
    assert_eq!((merged.len(), merged.list.len()), (100_001, MAX_KEPT));
}

#[test]
fn messages_notes_and_help_are_sanitized_too() {
    let diagnostic = Diagnostic::new("bad \x1b[2J")
        .with_note("n\x07")
        .with_help("h\u{202e}")
        .with_origin("o\x1b", None);
    let rendered = diagnostic.render(false);
    assert_eq!(
        rendered,
        "error: bad \\x1b[2J\n  --> o\\x1b\n   = note: n\\x07\n   = help: h\\u{202e}\n"
    );
    // A column of 0 set by hand does not underflow.
    let mut odd = Diagnostic::new("m").at_line(Path::new("P"), 1, "abc");
    odd.column = Some(0);
    assert!(odd.render(false).contains(" 1 | abc\n   | ^\n"));
}

#[test]
fn sizes_are_readable() {
    assert_eq!(size(64 * 1024), "64 KiB");
    assert_eq!(size(4 << 20), "4 MiB");
    assert_eq!(size(1000), "1000 bytes");
}

proptest::proptest! {
    /// The cut-off comparison gives the full distance whenever that is within the limit, and
    /// says "beyond" exactly when it is not.
    #[test]
    fn the_cut_off_distance_agrees_with_the_full_one(
        a in "[a-dé]{0,12}",
        b in "[a-dé]{0,12}",
        limit in 0usize..6,
    ) {
        let full = distance(&a, &b);
        let within = distance_within(&a, &b, limit);
        proptest::prop_assert_eq!(within, (full <= limit).then_some(full));
    }
}
