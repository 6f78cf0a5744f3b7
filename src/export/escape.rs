//! Quoting for each target syntax. Every function here assumes the value has no control
//! character: those are refused before rendering (see `model::check_text`).
//!
//! The functions are also the templates' filters (see `render.rs`), so a user template gets
//! the same escaping by writing `{{ value | systemd_quote }}`.

/// `%` → `%%`: systemd expands `%` specifiers in almost every setting (`User=`,
/// `WorkingDirectory=`, `Environment=`, `ExecStart=`).
pub(super) fn systemd_specifiers(value: &str) -> String {
    value.replace('%', "%%")
}

/// One double-quoted word for `Environment=` (systemd.exec(5), systemd.syntax(7)): inside
/// quotes systemd unescapes C-style, so `\` and `"` are escaped, and `%` is doubled for the
/// specifier expansion that runs first. `$` has no meaning in `Environment=`.
pub(super) fn systemd_quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '%' => out.push_str("%%"),
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

/// One single-quoted argument of `ExecStart=` (systemd.service(5) "Command lines"): systemd
/// unescapes C-style inside single quotes too, so `\` and `'` are escaped; `%` is doubled for
/// specifiers and `$` is doubled so that systemd passes a literal `$` on (the shell behind it
/// then expands `$PORT` from the environment, as it does under `procman start`).
pub(super) fn systemd_exec_arg(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '%' => out.push_str("%%"),
            '$' => out.push_str("$$"),
            _ => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// One POSIX shell word: the value itself when it is made of characters no shell treats
/// specially, else single-quoted with `'` written as `'\''`.
pub(super) fn sh_quote(value: &str) -> String {
    let plain = !value.is_empty()
        && value.chars().all(|c| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c));
    if plain { value.to_owned() } else { sh_quote_always(value) }
}

/// One POSIX shell word, always single-quoted.
pub(super) fn sh_quote_always(value: &str) -> String {
    format!("'{}'", value.replace('\'', "'\\''"))
}

/// The value of an upstart `env` stanza, quoted as Foreman does: single quotes, with `'`
/// written as `'"'"'`.
pub(super) fn upstart_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "'\"'\"'"))
}

/// `%` → `%%`: supervisord expands `%(name)s` in `command`, `directory`, the log paths,
/// `user` and `environment`.
pub(super) fn supervisor_literal(value: &str) -> String {
    value.replace('%', "%%")
}

/// True when a whitespace character is followed by `;` or `#`: supervisord's config parser
/// (Python's configparser with inline comments on) cuts the value there.
pub(super) fn has_inline_comment(value: &str) -> bool {
    let mut previous_space = false;
    for c in value.chars() {
        if previous_space && (c == ';' || c == '#') {
            return true;
        }
        previous_space = c.is_whitespace();
    }
    false
}

/// The argument of `command=/bin/sh -c ARG` for supervisord: a single-quoted shell word
/// (supervisord splits `command` with Python's `shlex` in POSIX mode), where a whitespace
/// followed by `;` or `#` is split by `''` so configparser does not see an inline comment,
/// and `%` is doubled.
pub(super) fn supervisor_sh_command(value: &str) -> String {
    let quoted = sh_quote_always(value);
    let mut out = String::with_capacity(quoted.len() + 8);
    let mut previous_space = false;
    for c in quoted.chars() {
        if previous_space && (c == ';' || c == '#') {
            // Inside the single-quoted word: close it and open it again, which the shell
            // reads as nothing, but which puts a quote between the space and the `;`.
            out.push_str("''");
        }
        previous_space = c.is_whitespace();
        out.push(c);
    }
    supervisor_literal(&out)
}

/// A value of supervisord's `environment=K="v",...`, or why it cannot be written.
///
/// supervisord reads that line with Python's `shlex` in non-POSIX mode: a quoted token ends at
/// the next quote of the same kind and has no escapes, and the quotes around the value are
/// then stripped with `strip('\'"')`. So the value is double-quoted, or single-quoted when it
/// holds a `"`; a value with both kinds, or starting or ending with a quote, has no spelling.
pub(super) fn supervisor_env_value(value: &str) -> Result<String, String> {
    if value.starts_with(['\'', '"']) || value.ends_with(['\'', '"']) {
        return Err("supervisord strips quote characters at both ends of a value".to_owned());
    }
    if has_inline_comment(value) {
        return Err("supervisord's config parser reads a whitespace followed by `;` or `#` \
                    as the start of a comment"
            .to_owned());
    }
    let quote = if !value.contains('"') {
        '"'
    } else if !value.contains('\'') {
        '\''
    } else {
        return Err("supervisord cannot quote a value that holds both `'` and `\"`".to_owned());
    };
    Ok(format!("{quote}{}{quote}", supervisor_literal(value)))
}

/// Text content of an XML element or attribute.
pub(super) fn xml(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            _ => out.push(c),
        }
    }
    out
}

/// A YAML double-quoted scalar. Besides `\` and `"`, the characters YAML reads as line
/// breaks (U+2028, U+2029) and the byte-order mark are escaped, so the value survives exactly.
pub(super) fn yaml(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\u{2028}' | '\u{2029}' | '\u{feff}' => {
                out.push_str(&format!("\\u{:04X}", u32::from(c)));
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `$` → `$$`: docker compose interpolates `$VAR` in every value, and Kubernetes expands
/// `$(VAR)` in commands and `env` values; both read `$$` as a literal `$`.
pub(super) fn dollar(value: &str) -> String {
    value.replace('$', "$$")
}

/// A Ruby double-quoted string literal (bluepill's `.pill` files are Ruby): `\` and `"` are
/// escaped, and so is `#`, which would start an interpolation (`#{...}`, `#$var`, `#@var`).
pub(super) fn ruby_str(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if matches!(c, '\\' | '"' | '#') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn systemd_quoting() {
        assert_eq!(systemd_quote(r#"A=a "b" \c 100% $x"#), r#""A=a \"b\" \\c 100%% $x""#);
        assert_eq!(systemd_exec_arg(r"it's $PORT 5% \n"), r"'it\'s $$PORT 5%% \\n'");
        assert_eq!(systemd_specifiers("/srv/100%"), "/srv/100%%");
    }

    #[test]
    fn shell_quoting() {
        assert_eq!(sh_quote("/srv/app"), "/srv/app");
        assert_eq!(sh_quote(""), "''");
        assert_eq!(sh_quote("a b"), "'a b'");
        assert_eq!(sh_quote("it's"), r"'it'\''s'");
        assert_eq!(upstart_quote("it's"), r#"'it'"'"'s'"#);
    }

    #[test]
    fn supervisor_quoting() {
        assert_eq!(supervisor_sh_command("a ; b #c"), "'a ''; b ''#c'");
        assert_eq!(supervisor_sh_command("echo 100%"), "'echo 100%%'");
        assert_eq!(supervisor_env_value("a b, c").as_deref(), Ok("\"a b, c\""));
        assert_eq!(supervisor_env_value(r#"say "hi" now"#).as_deref(), Ok(r#"'say "hi" now'"#));
        assert!(supervisor_env_value(r#"a'b"c"#).is_err());
        assert!(supervisor_env_value("'quoted'").is_err());
        assert!(supervisor_env_value("a ;b").is_err());
        assert_eq!(supervisor_env_value("a;b").as_deref(), Ok("\"a;b\""));
    }

    #[test]
    fn xml_and_yaml() {
        assert_eq!(xml(r#"<a & 'b' "c">"#), "&lt;a &amp; &apos;b&apos; &quot;c&quot;&gt;");
        assert_eq!(yaml("a \"b\" \\ é\u{2028}"), "\"a \\\"b\\\" \\\\ é\\u2028\"");
        assert_eq!(dollar("$PORT $$"), "$$PORT $$$$");
    }

    #[test]
    fn ruby_strings() {
        assert_eq!(ruby_str(r#"a "b" \ #{x} #$y $PORT"#), r#""a \"b\" \\ \#{x} \#$y $PORT""#);
    }
}
