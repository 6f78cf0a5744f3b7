//! `reload` through the server: the answer lists what the driver did, a refused configuration
//! changes nothing and answers with the diagnostics as `check` prints them, and a run without
//! a reloader refuses.

use serde_json::{Value, json};
use supervise::{Driver, ReloadPlan, State};

use super::{Rig, shell, sleeper};
use crate::control::RunCommand;
use crate::control::client::{Client, CtlError, TIMEOUT};
use crate::control::reload::Reload;
use procman::control::proto::Request;
use procman::diagnostic::{Diagnostic, Diagnostics};

/// Hands the driver the specs it was given, or refuses with a diagnostic.
struct Fake(Result<Vec<supervise::ProgramSpec>, Diagnostic>);

impl Reload for Fake {
    fn reload(&mut self, driver: &mut Driver) -> Result<ReloadPlan, Diagnostics> {
        match &self.0 {
            Ok(specs) => driver
                .reload(specs.clone())
                .map_err(|e| Diagnostics::from(Diagnostic::new(e.to_string()))),
            Err(diagnostic) => Err(diagnostic.clone().into()),
        }
    }
}

fn ask_reload(rig: &mut Rig) -> Result<serde_json::Map<String, Value>, CtlError> {
    rig.with_client(|path| Client::connect(&path, TIMEOUT)?.request(&Request::Reload))
}

#[test]
fn control_reload_answers_with_what_the_driver_did() {
    let mut rig = Rig::new(vec![sleeper("web", 1), sleeper("worker", 1), sleeper("db", 1)]);
    rig.wait_running(&["web.1", "worker.1", "db.1"]);
    let (web, db) = (rig.pid("web.1"), rig.pid("db.1"));
    rig.reload = Some(Box::new(Fake(Ok(vec![
        shell("web", 1, "exec sleep 31"),
        sleeper("db", 1),
        sleeper("clock", 1),
    ]))));
    let reply = ask_reload(&mut rig).expect("reloaded");
    assert_eq!(
        reply["message"], "restarted web (command); started clock; stopped worker; kept db",
        "{reply:?}"
    );
    assert_eq!(
        reply["restarted"],
        json!([{"type": "web", "changes": ["command"], "rolling": false, "from": 1, "to": 1}])
    );
    assert_eq!((&reply["started"], &reply["stopped"]), (&json!(["clock"]), &json!(["worker"])));
    assert_eq!(reply["kept"], json!(["db"]));
    let summary = "restarted web (command); started clock; stopped worker; kept db".to_owned();
    assert!(rig.commands.contains(&RunCommand::Reloaded(Ok(summary))), "{:?}", rig.commands);
    rig.wait_running(&["web.1", "clock.1"]);
    assert_ne!(rig.pid("web.1"), web, "web runs the new command");
    assert_eq!(rig.pid("db.1"), db, "db kept its process");
    rig.wait_until("worker to go", |rig| rig.state("worker.1").is_none());
    rig.finish();
}

#[test]
fn control_reload_refused_changes_nothing_and_says_why_as_check_does() {
    let mut rig = Rig::new(vec![sleeper("web", 1)]);
    rig.wait_running(&["web.1"]);
    let web = rig.pid("web.1");
    let diagnostic = Diagnostic::new("procman.json: processes.web.ready: it needs one check")
        .with_help("use {\"port\": 5432}");
    rig.reload = Some(Box::new(Fake(Err(diagnostic.clone()))));
    let message = match ask_reload(&mut rig) {
        Err(CtlError::Refused(message)) => message,
        other => panic!("expected a refusal, got {other:?}"),
    };
    // What the client prints, `error: ` and this, is what `check` prints.
    let rendered = Diagnostics::from(diagnostic).render(false);
    assert_eq!(format!("error: {message}\n"), rendered);
    let first = "procman.json: processes.web.ready: it needs one check".to_owned();
    assert!(rig.commands.contains(&RunCommand::Reloaded(Err(first))), "{:?}", rig.commands);
    assert_eq!(rig.pid("web.1"), web);
    assert_eq!(rig.state("web.1"), Some(State::Running));

    rig.reload = None;
    match ask_reload(&mut rig) {
        Err(CtlError::Refused(message)) => assert_eq!(message, "this run cannot reload"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    rig.finish();
}
