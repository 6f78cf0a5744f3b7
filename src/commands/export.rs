//! `procman export FORMAT LOCATION`: the command-line side of `crate::export`.

use std::io::Write;
use std::time::Duration;

use crate::cli::ExportArgs;
use crate::diagnostic::Diagnostic;
use crate::error::CliError;
use crate::export::{self, ExportOptions, Format};
use crate::options::plan::load_export_plan;
use crate::options::supervision::parse_duration;

pub(crate) fn run(args: &ExportArgs) -> Result<i32, CliError> {
    if let Some(words) = &args.print_template {
        return print_template(words);
    }
    let format: Format = args.format.as_deref().unwrap_or_default().parse()?;
    let mut plan = load_export_plan(&args.app_args, &args.plan, &args.supervision)?;
    let location = match (&args.location, format) {
        (Some(location), _) => location.clone(),
        (None, Format::Inittab) => "-".into(),
        (None, _) => {
            return Err(CliError::Input(
                Diagnostic::new("export needs a LOCATION to write to")
                    .with_help(format!("e.g. `procman export {} ./deploy`", format.name()))
                    .into(),
            ));
        }
    };
    let mut options = ExportOptions::new(format, location);
    options.app = args.app.clone();
    options.user = args.user.clone();
    options.log_dir = args.log.clone();
    options.run_dir = args.run_dir.clone();
    options.template_dir = args.template.clone();
    options.dry_run = args.dry_run;
    options.force = args.force;
    options.image = args.image.clone();
    options.systemd_version = args.systemd_version;
    if let Some(timeout) = &args.timeout {
        // The command line wins over the config file's stop_timeout.
        options.timeout = parse_timeout(timeout)?;
        for process in &mut plan.processes {
            process.settings.stop_timeout = Some(options.timeout);
        }
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let report = export::run(&plan, &options, &mut out)?;
    let _ = out.flush();
    for warning in &report.warnings {
        eprintln!("procman: warning: {warning}");
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

/// `-t/--timeout` in seconds (a bare number, as Foreman takes it, or a duration like `10s`).
pub(crate) fn parse_timeout(text: &str) -> Result<Duration, CliError> {
    parse_duration(text).map_err(|message| {
        CliError::Input(
            Diagnostic::new(format!("--timeout: {message}"))
                .with_help("give a number of seconds, e.g. `--timeout 10`")
                .into(),
        )
    })
}
