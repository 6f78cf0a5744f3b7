//! How a Procfile command becomes an argv, as Foreman does it, with two repairs.
//!
//! 1. `$KEY` is replaced textually by the value of every key of the env files, the process's own
//!    env, `PORT` and `PS` (Foreman: `command.gsub("$#{key}", value)` key by key). procman
//!    replaces the **longest** key that ends at a name boundary, in one pass: `$PORTAL` is never
//!    turned into `5000AL`, and a replaced value is not itself searched for `$KEY`.
//! 2. Ruby's `Process.spawn(string)` rule decides how to run the text: directly, split on blanks,
//!    when it holds no shell metacharacter; otherwise `/bin/sh -c TEXT`. In the shell case procman
//!    prefixes a single simple command with `exec` (after any leading `VAR=value` words), so that
//!    the pid procman reports and signals is the program's own and not a waiting `sh` (dash, the
//!    usual `/bin/sh` on Debian, does not exec the last command by itself).

use std::collections::HashMap;

/// The shell every command with shell syntax runs under, as in Ruby.
pub const SHELL: &str = "/bin/sh";

/// Characters that make Ruby run a command string through the shell (`rb_exec_fillarg`).
const METACHARACTERS: &[char] = &[
    '*', '?', '{', '}', '[', ']', '<', '>', '(', ')', '~', '&', '|', '\\', '$', ';', '\'', '`',
    '"', '\n', '#',
];

/// First words that make Ruby use the shell: POSIX reserved words and special built-ins.
const RUBY_SHELL_WORDS: &[&str] = &[
    "!", ".", ":", "break", "case", "continue", "do", "done", "elif", "else", "esac", "eval",
    "exec", "exit", "export", "fi", "for", "if", "in", "readonly", "return", "set", "shift",
    "then", "times", "trap", "unset", "until", "while",
];

/// First words that `exec` must not be put in front of: reserved words (bash's too), and built-ins
/// that change the shell itself or have no program of their own.
const NO_EXEC_WORDS: &[&str] = &[
    "!",
    "{",
    "}",
    "[[",
    "]]",
    "case",
    "coproc",
    "do",
    "done",
    "elif",
    "else",
    "esac",
    "fi",
    "for",
    "function",
    "if",
    "in",
    "select",
    "then",
    "time",
    "until",
    "while",
    ".",
    ":",
    "alias",
    "bg",
    "bind",
    "break",
    "builtin",
    "cd",
    "command",
    "continue",
    "declare",
    "dirs",
    "disown",
    "enable",
    "eval",
    "exec",
    "exit",
    "export",
    "fc",
    "fg",
    "getopts",
    "hash",
    "help",
    "history",
    "jobs",
    "let",
    "local",
    "logout",
    "mapfile",
    "popd",
    "pushd",
    "read",
    "readarray",
    "readonly",
    "return",
    "set",
    "shift",
    "shopt",
    "source",
    "suspend",
    "times",
    "trap",
    "type",
    "typeset",
    "ulimit",
    "umask",
    "unalias",
    "unset",
    "wait",
];

/// The argv that runs `command`: `$KEY` substituted from `vars` (later pairs win), then either
/// the words of the text or `/bin/sh -c TEXT`.
pub fn argv(command: &str, vars: &[(String, String)]) -> Vec<String> {
    let text = substitute(command, vars);
    if !needs_shell(&text) {
        let words: Vec<String> =
            text.split([' ', '\t']).filter(|word| !word.is_empty()).map(str::to_owned).collect();
        if !words.is_empty() {
            return words;
        }
    }
    let script = with_exec(&text).unwrap_or(text);
    vec![SHELL.to_owned(), "-c".to_owned(), script]
}

/// `command` with every `$KEY` replaced by its value: at each `$`, the longest key that follows
/// and ends at a name boundary (the next character is not a letter, digit or `_`). Later pairs
/// of `vars` win. Anything else, `${KEY}` included, is left to the shell, which sees the same
/// values in its environment.
pub fn substitute(command: &str, vars: &[(String, String)]) -> String {
    let values: HashMap<&str, &str> =
        vars.iter().map(|(key, value)| (key.as_str(), value.as_str())).collect();
    let mut out = String::with_capacity(command.len());
    let mut rest = command;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        let after = &rest[dollar + 1..];
        // Keys may hold `.` (the inherited environment can have them); candidates are the prefixes of this run that end
        // at a boundary, longest first.
        let run = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
            .unwrap_or(after.len());
        let found = (1..=run).rev().find_map(|len| {
            let boundary =
                !after[len..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_');
            let key = &after[..len];
            values.get(key).filter(|_| boundary).map(|value| (len, *value))
        });
        match found {
            Some((len, value)) => {
                out.push_str(value);
                rest = &after[len..];
            }
            None => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Ruby's rule for `Process.spawn(string)`: true when the text must go through the shell because
/// it holds a metacharacter, an `=` in its first word (an assignment) before any `/`, or starts
/// with a reserved word or special built-in.
pub fn needs_shell(text: &str) -> bool {
    if text.contains(METACHARACTERS) {
        return true;
    }
    let first = text.split([' ', '\t']).find(|word| !word.is_empty()).unwrap_or_default();
    let before_slash = first.split('/').next().unwrap_or_default();
    before_slash.contains('=') || (!first.contains('/') && RUBY_SHELL_WORDS.contains(&first))
}

/// `text` with `exec ` inserted before its command word, when the text is one simple command:
/// no `;`, `&`, `|`, `&&`, `||` or newline outside quotes (`2>&1` and `>|` are redirections and
/// fine), no `(`, `)` or backquote anywhere outside single quotes, and a first word that is not a
/// reserved word, a shell built-in or `exec` itself. Leading `VAR=value` words stay in front:
/// `A=1 exec cmd` works in POSIX sh, `exec A=1 cmd` does not. `None` when the text is not such a
/// command and must run as written.
pub fn with_exec(text: &str) -> Option<String> {
    let (assignments, command) = exec_split(text)?;
    Some(format!("{assignments}exec {command}"))
}

/// `text` cut in front of its command word when `exec` can be put there (the rule of
/// [`with_exec`]): the leading `VAR=value` words with the blanks around them (often empty), and
/// the command from its program on. The export formats write `exec` (or bash's `exec -a NAME`)
/// in between. `None` when the text must run as written.
pub fn exec_split(text: &str) -> Option<(&str, &str)> {
    let words = simple_command_words(text)?;
    let &(start, end) = words.iter().find(|&&(start, end)| !is_assignment(&text[start..end]))?;
    if NO_EXEC_WORDS.contains(&&text[start..end]) {
        return None;
    }
    Some(text.split_at(start))
}

/// `NAME=…` with a valid shell name.
fn is_assignment(word: &str) -> bool {
    let Some((name, _)) = word.split_once('=') else {
        return false;
    };
    name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The byte ranges of the words of `text` if it is a single simple command (see [`with_exec`]),
/// else `None`. Quotes and backslashes are honoured; an unterminated quote gives `None`.
fn simple_command_words(text: &str) -> Option<Vec<(usize, usize)>> {
    let mut words = Vec::new();
    let mut start: Option<usize> = None;
    // True right after an unquoted `>` or `<`: then `&` and `|` belong to a redirection.
    let mut after_redirect = false;
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        let redirect = matches!(c, '>' | '<');
        match c {
            ' ' | '\t' => {
                if let Some(begin) = start.take() {
                    words.push((begin, at));
                }
            }
            '\n' | ';' | '(' | ')' | '`' => return None,
            '&' | '|' if !after_redirect => return None,
            '#' if start.is_none() => {
                // A comment runs to the end of the line; another line would be another command.
                return if text[at..].contains('\n') { None } else { Some(words) };
            }
            '\\' => {
                start.get_or_insert(at);
                chars.next();
            }
            '\'' => {
                start.get_or_insert(at);
                chars.by_ref().find(|&(_, c)| c == '\'')?;
            }
            '"' => {
                start.get_or_insert(at);
                loop {
                    match chars.next()?.1 {
                        '"' => break,
                        '\\' => {
                            chars.next();
                        }
                        '`' | '(' | ')' => return None,
                        _ => {}
                    }
                }
            }
            _ => {
                start.get_or_insert(at);
            }
        }
        after_redirect = redirect;
    }
    if let Some(begin) = start {
        words.push((begin, text.len()));
    }
    Some(words)
}

#[cfg(test)]
mod tests;
