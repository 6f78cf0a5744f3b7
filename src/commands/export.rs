//! `procman export FORMAT LOCATION`: the command-line side of `crate::export`.

use std::io::Write;

use crate::error::CliError;
use crate::export::{self, Format};
use crate::options::Export;

pub(crate) fn run(options: Export) -> Result<i32, CliError> {
    let (plan, options) = match options {
        Export::PrintTemplate(words) => return print_template(&words),
        Export::Files { plan, options } => (plan, options),
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let report = export::run(&plan, &options, &mut out)?;
    let _ = out.flush();
    for warning in &report.warnings {
        crate::error::warn(warning);
    }
    Ok(0)
}

/// `--print-template FORMAT [NAME]`: a built-in template, or the format's template names.
fn print_template(words: &[String]) -> Result<i32, CliError> {
    let format: Format = words.first().map_or("", String::as_str).parse()?;
    let text = export::print_template(format, words.get(1).map(String::as_str))?;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| CliError::io("write to standard output", e))?;
    Ok(0)
}
