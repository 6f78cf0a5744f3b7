// The env-file lines of issue 12 and more of Foreman's quirks, each with the value Foreman 0.87
// gives it. Included by `src/envfile/tests.rs` (procman reads each the same, without a warning)
// and by `tests/cli/parity.rs` (the real Foreman does too, when it is installed).

/// The table of issue 12, section 1: each line and the value Foreman 0.87 gives it (checked
/// against the real Foreman by `tests/cli/parity.rs`). None of these names is defined.
const ISSUE_TABLE: &[(&str, &str)] = &[
    ("PASSWORD=abc$", "abc$"),
    ("PRICE=a$5b", "a$5b"),
    ("JSON={\"a\":1}", "{\"a\":1}"),
    ("QUOTED=abc\"def\"", "abc\"def\""),
    ("GREETING=hello from dotenv", "hello from dotenv"),
    ("KEY=some \"value\"", "some \"value\""),
    ("URL=postgres://$DB_USER@h", "postgres://$DB_USER@h"),
    ("P2=p$$w", "p$$w"),
    ("RAW=a\\nb", "a\\nb"),
    ("DQ=\"costs $UNINTERPOLATED amount\"", "costs $UNINTERPOLATED amount"),
];

/// More of Foreman's readings, its quirks included (also checked against the real Foreman).
const FOREMAN_QUIRKS: &[(&str, &str)] = &[
    ("SINGLE='a $HOME \\n b'", "a $HOME \\n b"),
    ("DOUBLE=\"a\\nb\"", "a\nb"),
    ("TAB=\"a\\tb\"", "atb"),
    ("ESCAPES=\"a\\\"b\\\\c\"", "a\"b\\c"),
    ("BACKSLASH_N=\"a\\\\nb\"", "a\\\nb"),
    ("ENDS_WITH_BACKSLASH=\"x\\\\\"", "x\\"),
    ("DOLLAR=\"\\$HOME\"", "$HOME"),
    ("UNQUOTED_BACKSLASH=C:\\path\\to", "C:\\path\\to"),
    ("UNQUOTED_DOLLAR_ESCAPE=\\$HOME", "\\$HOME"),
    ("LEADING= value", " value"),
    ("TRAILING=value  ", "value  "),
    ("TAB_INSIDE=a\tb", "a\tb"),
    ("HASH=a#b", "a#b"),
    ("HASH_FIRST=#b", "#b"),
    ("EQUALS=a=b", "a=b"),
    ("EMPTY=", ""),
    ("EMPTY_SINGLE=''", ""),
    ("EMPTY_DOUBLE=\"\"", ""),
    ("LONE_QUOTE='", "'"),
    ("UNCLOSED=\"open", "\"open"),
    ("INNER_QUOTES=\"a\"b\"", "a\"b"),
    ("TWO_SINGLES='it''s'", "it''s"),
    ("QUOTE_THEN_SPACE=\"q\"  ", "\"q\"  "),
    ("1DIGIT=first", "first"),
    ("lower_case=ok", "ok"),
    ("BRACE_UNCLOSED=${HOME", "${HOME"),
    ("BRACE_DEFAULT=${UNSET:-x}", "${UNSET:-x}"),
    ("CR=a\rb", "a\rb"),
];
