//! Checks of a set of specs as a whole: names unique, dependencies naming groups of the set,
//! no cycle. Pure functions of the specs; the supervisor runs them before anything starts.

use std::collections::{HashMap, HashSet};

use crate::error::SpecError;
use crate::spec::{ProgramSpec, ReadyCheck};

/// Checks every spec, then the set: unique names, dependencies that name a group of the set,
/// and no cycle among them.
///
/// # Errors
/// The first problem found: an invalid spec, a duplicate name, an unknown dependency, or a
/// cycle (named in order, the first name repeated at the end).
pub fn validate_specs(specs: &[ProgramSpec]) -> Result<(), SpecError> {
    let mut names = HashSet::new();
    for spec in specs {
        spec.validate()?;
        validate_readiness(spec)?;
        if !names.insert(&*spec.name) {
            return Err(SpecError::DuplicateName(spec.name.to_string()));
        }
    }
    for spec in specs {
        for dependency in &spec.depends_on {
            if !names.contains(&*dependency.group) {
                return Err(SpecError::UnknownDependency {
                    program: spec.name.to_string(),
                    dependency: dependency.group.to_string(),
                });
            }
        }
    }
    match find_cycle(specs) {
        Some(cycle) => Err(SpecError::DependencyCycle(cycle)),
        None => Ok(()),
    }
}

/// A port or command check tried with no pause between attempts would spin the CPU.
pub(crate) fn validate_readiness(spec: &ProgramSpec) -> Result<(), SpecError> {
    let Some(readiness) = &spec.readiness else { return Ok(()) };
    let polled = matches!(readiness.check, ReadyCheck::Port(_) | ReadyCheck::Command(_));
    if polled && readiness.interval.is_zero() {
        return Err(SpecError::BadReadinessInterval(spec.name.to_string()));
    }
    Ok(())
}

/// A cycle of dependencies, as the names along it with the first repeated at the end
/// (`a -> b -> a`), if there is one. Depth-first search; names are known to be unique.
fn find_cycle(specs: &[ProgramSpec]) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    let index: HashMap<&str, usize> =
        specs.iter().enumerate().map(|(i, s)| (&*s.name, i)).collect();
    let edges: Vec<Vec<usize>> = specs
        .iter()
        .map(|s| s.depends_on.iter().filter_map(|d| index.get(&*d.group).copied()).collect())
        .collect();
    let mut marks = vec![Mark::New; specs.len()];
    for root in 0..specs.len() {
        if marks[root] != Mark::New {
            continue;
        }
        // The path from the root, each node with the next edge to follow.
        let mut path: Vec<(usize, usize)> = vec![(root, 0)];
        marks[root] = Mark::OnPath;
        while let Some((node, next)) = path.last_mut() {
            let node = *node;
            let Some(&to) = edges[node].get(*next) else {
                marks[node] = Mark::Done;
                path.pop();
                continue;
            };
            *next += 1;
            match marks[to] {
                Mark::Done => {}
                Mark::New => {
                    marks[to] = Mark::OnPath;
                    path.push((to, 0));
                }
                Mark::OnPath => {
                    let start = path.iter().position(|(n, _)| *n == to).unwrap_or(0);
                    let mut cycle: Vec<String> =
                        path[start..].iter().map(|(n, _)| specs[*n].name.to_string()).collect();
                    cycle.push(specs[to].name.to_string());
                    return Some(cycle);
                }
            }
        }
    }
    None
}
