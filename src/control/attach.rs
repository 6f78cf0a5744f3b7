//! `attach`: a control connection that becomes an instance's terminal (`procman attach web.1`).
//!
//! After the `attach` answer the connection carries raw bytes both ways, relayed by the run's
//! own poll loop: what the client sends goes to the instance's standard input
//! ([`Driver::write_stdin`]: its pty, or its stdin pipe), and what the instance writes comes
//! back as it was read ([`Driver::set_raw_tap`], before line assembly), while the run's main
//! view keeps showing it prefixed. Relaying rather than passing the client's terminal
//! descriptor (`SCM_RIGHTS`) keeps procman away from a terminal it does not own: the client
//! owns its terminal's modes and its detach key, and procman only moves bytes, which works the
//! same on every Unix.
//!
//! One client per instance at a time; the instance `procman start --attach` gives procman's
//! own terminal counts as attached. Nothing here blocks: what the instance cannot take yet
//! waits in the connection (and the connection is not read meanwhile, so a fast sender is
//! held back by its socket), until [`supervise::Event::StdinReady`].

use std::time::Instant;

use serde_json::{Map, Value};
use supervise::{Driver, InstanceId, OutputSpec};

use super::dispatch::{Target, resolve};
use procman::control::proto::{ErrorKind, Failure};

/// The instance an `attach` request names: an instance (`web.2`), or a process type's first
/// instance (`web`). An unknown name gets a suggestion when one is close (`resolve`'s).
pub(super) fn target_instance(driver: &Driver, target: &str) -> Result<InstanceId, Failure> {
    match resolve(driver, target)? {
        Target::Instance(id) => Ok(id),
        Target::Group(name) => driver
            .supervisor()
            .snapshot(Instant::now())
            .into_iter()
            .map(|info| info.id)
            .filter(|id| *id.group == *name)
            .min_by_key(|id| id.index)
            .ok_or_else(|| {
                Failure::new(
                    ErrorKind::Refused,
                    format!("cannot attach to `{name}`: it has no instance (scale it up first)"),
                )
            }),
    }
}

/// Why `id` cannot be attached now: another client has it, or procman's own terminal does.
pub(super) fn conflict<'a>(
    id: &InstanceId,
    local: Option<&InstanceId>,
    mut others: impl Iterator<Item = &'a InstanceId>,
) -> Option<Failure> {
    if local == Some(id) {
        return Some(Failure::new(
            ErrorKind::Refused,
            format!(
                "`{id}` takes its input from procman's own terminal (procman start --attach); \
                 type there, or start procman without --attach"
            ),
        ));
    }
    others.any(|other| other == id).then(|| {
        Failure::new(
            ErrorKind::Refused,
            format!(
                "`{id}` is already attached from another terminal; one terminal at a time \
                 (detach the other with Ctrl-])"
            ),
        )
    })
}

/// The answer's fields: the instance, its pid now, and whether it runs on a pty (the client
/// then puts its terminal in raw mode; on pipes it keeps line mode, since nothing echoes).
pub(super) fn answer_fields(driver: &Driver, id: &InstanceId) -> Map<String, Value> {
    let mut fields = Map::new();
    fields.insert("process".into(), id.to_string().into());
    let pid = driver
        .snapshot()
        .into_iter()
        .find(|info| info.id == *id && info.state.has_process())
        .and_then(|info| info.pid);
    fields.insert("pid".into(), pid.map_or(Value::Null, Value::from));
    let tty =
        driver.supervisor().spec(&id.group).is_some_and(|spec| spec.stdout == OutputSpec::Pty);
    fields.insert("tty".into(), tty.into());
    fields
}

/// Writes what the client sent (`input`) to the instance, removing what it took. While no
/// process runs, or once it closed its input, the bytes have no reader and are dropped.
pub(crate) fn relay_input(driver: &mut Driver, id: &InstanceId, input: &mut Vec<u8>) {
    if input.is_empty() {
        return;
    }
    match driver.write_stdin(id, input) {
        Ok(taken) => {
            input.drain(..taken);
        }
        // Not running, closed, or not the host's input: nothing will read these bytes.
        Err(_) => input.clear(),
    }
}
