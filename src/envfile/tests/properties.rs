//! Properties: procman reads every line Foreman reads as Foreman does, or warns; the portable
//! lines mean one thing to both; the table rows read the same in any file; nothing panics.

use super::*;
use proptest::prelude::*;

/// Characters that exercise every rule: quotes, backslashes, `$`, `{}`, `#`, blanks, `n`, and
/// names (`A` and `HOME` are defined, `HOME` by the environment).
const VALUE: &str = "[a-cnAHOME_ $#'\"\\\\{}\t=]{0,16}";

proptest! {
    #[test]
    fn a_line_foreman_reads_is_read_the_same_or_warned_about(
        key in "[A-Za-z0-9_]{1,4}",
        value in VALUE,
    ) {
        let line = format!("{key}={value}");
        let text = format!("A=defined\n{line}\n");
        let (vars, warnings) = parse_text(&text)
            .map_err(|error| TestCaseError::fail(format!("{line:?}: {}", error.render(false))))?;
        let ours = &vars[1];
        let foreman = foreman_reading(&line);
        let warned = warnings.list.iter().any(|warning| warning.line == Some(2));
        if !warned {
            prop_assert_eq!(foreman, Some((ours.key.clone(), ours.value.clone())), "{:?}", line);
        }
    }

    #[test]
    fn an_exported_line_is_read_as_without_export(
        key in "[A-Za-z_][A-Za-z0-9_]{0,3}",
        value in VALUE,
    ) {
        let plain = parse_text(&format!("{key}={value}\n")).map(|(vars, _)| vars[0].value.clone());
        let exported =
            parse_text(&format!("export {key}={value}\n")).map(|(vars, _)| vars[0].value.clone());
        prop_assert_eq!(plain.ok(), exported.ok());
    }

    #[test]
    fn a_portable_line_means_its_value_to_both(
        value in prop_oneof!["[a-cnA_ $#'\"\\\\{}\t\n\r]{0,16}", any::<String>()],
    ) {
        prop_assume!(!value.contains('\0'));
        match portable_line("KEY", &value) {
            Some(line) => {
                prop_assert_eq!(foreman_reading(&line), Some(("KEY".to_owned(), value.clone())));
                let (vars, warnings) = parse_text(&format!("{line}\n"))
                    .map_err(|error| TestCaseError::fail(error.render(false)))?;
                prop_assert_eq!(&vars[0].value, &value, "{:?}", line);
                prop_assert!(warnings.is_empty(), "{}", warnings.render_warnings(false));
            }
            None => prop_assert!(value.contains("\\n") && value.contains(['\'', '\n'])),
        }
    }

    #[test]
    fn the_table_rows_read_the_same_in_any_file(
        order in Just((0..ISSUE_TABLE.len() + FOREMAN_QUIRKS.len()).collect::<Vec<_>>()).prop_shuffle(),
        fillers in proptest::collection::vec(prop_oneof![Just(""), Just("# note"), Just("  ")], 0..40),
        crlf in any::<bool>(),
    ) {
        let rows: Vec<&(&str, &str)> = ISSUE_TABLE.iter().chain(FOREMAN_QUIRKS).collect();
        let ending = if crlf { "\r\n" } else { "\n" };
        let mut text = String::new();
        for (at, &index) in order.iter().enumerate() {
            if let Some(filler) = fillers.get(at) {
                text.push_str(filler);
                text.push_str(ending);
            }
            text.push_str(rows[index].0);
            text.push_str(ending);
        }
        let read = vars(&text);
        prop_assert_eq!(read.len(), rows.len());
        for (key, value, _) in read {
            let row = rows.iter().find(|(line, _)| line.split_once('=').map(|(k, _)| k) == Some(key.as_str()));
            let expected = row.map(|(_, value)| *value);
            // A row that ends with blanks loses none; one that ends with `\r` keeps it unless
            // the file uses CRLF (Foreman turns `\r\n` into `\n` first, too).
            prop_assert_eq!(Some(value.as_str()), expected, "{}", key);
        }
    }

    #[test]
    fn never_panics_and_lines_are_in_range(text in "([A-Z_]{1,3}( ?= ?)[a-z \"'\\\\$#{}]{0,8}\n?){0,8}") {
        let lines = text.split('\n').count();
        match parse_text(&text) {
            Ok((vars, _)) => for var in vars { prop_assert!(var.line >= 1 && var.line <= lines) },
            Err(errors) => for error in errors.list {
                prop_assert!(error.line.is_some_and(|line| line >= 1 && line <= lines));
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = parse(Path::new(".env"), &bytes);
    }
}
