//! What one process type's `"watch"` means for the file system: which directories must be
//! watched, and which changed paths count. Pure: paths in, answers out.
//!
//! Only directories that can hold a match are watched, found from each glob's literal prefix:
//! `config/*.yml` needs `config/` alone, `src/**/*.rb` needs `src/` and everything below it
//! but `.git/`, the log directory and what `"watch_ignore"` covers; a literal path
//! (`Gemfile.lock`) needs its directory. The directories from the type's cwd down to each of
//! those are watched too (without what is beside them), so a root that appears later (after a
//! `git checkout`, say) is seen.

use std::path::{Path, PathBuf};
use std::time::Duration;

use globset::GlobSet;

use crate::plan::devloop::{WatchSettings, glob_set, prune_patterns};
use procman::diagnostic::sanitize;

/// A directory name that is never watched, wherever it is.
const ALWAYS_IGNORED: &str = ".git";

/// Names of the files editors write beside the one being edited, never a change of the app's
/// whatever the globs say: Vim's swap files (rewritten while the user types, long before a
/// save) and its `4913` probe, backups (`app.rb~`), Emacs's locks and auto-saves, Kate's swap
/// files, JetBrains' safe-write copies; and the temporary files of `procman export`.
const EDITOR_FILES: &[&str] = &[
    ".*.sw?",
    "*~",
    ".#*",
    "#*#",
    "4913",
    "*.kate-swp",
    "*___jb_tmp___",
    "*___jb_old___",
    ".*.procman-*.tmp",
];

/// One process type's watch.
#[derive(Debug)]
pub(super) struct Rules {
    /// The process type.
    pub(super) group: String,
    /// Its working directory, absolute and without links: the globs are relative to it.
    base: PathBuf,
    /// The globs as written, for messages.
    patterns: Vec<String>,
    watch: GlobSet,
    ignore: GlobSet,
    /// [`EDITOR_FILES`], matched against a file's name.
    editor: GlobSet,
    /// `ignore`, and each `X/**` of it as `X` too: a directory these match is not descended
    /// into, and nothing below it counts.
    prune: GlobSet,
    roots: Vec<Root>,
    /// Directories never watched (the log directory), absolute.
    excluded: Vec<PathBuf>,
    pub(super) debounce: Duration,
}

/// Where the matches of a glob can be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Root {
    pub(super) dir: PathBuf,
    /// Below `dir` too, not only in it.
    pub(super) recursive: bool,
}

/// What a directory is to a type's watch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Want {
    /// Not watched.
    No,
    /// Watched: matches can be in it, or it leads to where they can be.
    Yes,
}

impl Rules {
    /// The rules of `group`, whose cwd is `base` (absolute, canonical). The patterns were
    /// compiled the same way ([`glob_set`]) when the config was read, so an error here is one
    /// that check missed; the caller says it.
    pub(super) fn new(
        group: &str,
        base: &Path,
        settings: &WatchSettings,
        excluded: &[PathBuf],
    ) -> Result<Rules, String> {
        let watch = glob_set(&settings.patterns)?;
        let ignore = glob_set(&settings.ignore)?;
        let prune = glob_set(&prune_patterns(&settings.ignore))?;
        let editor = glob_set(EDITOR_FILES)?;
        let mut roots: Vec<Root> = Vec::new();
        for pattern in &settings.patterns {
            let root = root_of(base, pattern);
            match roots.iter_mut().find(|r| r.dir == root.dir) {
                Some(known) => known.recursive |= root.recursive,
                None => roots.push(root),
            }
        }
        Ok(Rules {
            group: group.to_owned(),
            base: base.to_owned(),
            patterns: settings.patterns.iter().map(|p| sanitize(p, 200)).collect(),
            watch,
            ignore,
            editor,
            prune,
            roots,
            excluded: excluded.to_vec(),
            debounce: settings.debounce(),
        })
    }

    pub(super) fn base(&self) -> &Path {
        &self.base
    }

    pub(super) fn patterns(&self) -> &[String] {
        &self.patterns
    }

    pub(super) fn roots(&self) -> &[Root] {
        &self.roots
    }

    /// Whether `dir` (absolute) is watched for this type.
    pub(super) fn wants(&self, dir: &Path) -> Want {
        if self.is_excluded(dir) {
            return Want::No;
        }
        for root in &self.roots {
            if dir == root.dir {
                return Want::Yes;
            }
            // On the way from the cwd to the root.
            if root.dir.starts_with(dir) && dir.starts_with(&self.base) {
                return Want::Yes;
            }
            if root.recursive
                && let Ok(below) = dir.strip_prefix(&root.dir)
                && !self.pruned_below(&root.dir, below)
            {
                return Want::Yes;
            }
        }
        Want::No
    }

    /// The path relative to the cwd when a change to `path` (absolute) counts for this type.
    pub(super) fn counts<'a>(&self, path: &'a Path) -> Option<&'a Path> {
        let relative = path.strip_prefix(&self.base).ok()?;
        if self.is_excluded(path)
            || has_ignored_component(relative)
            || relative.file_name().is_some_and(|name| self.editor.is_match(name))
            || self.ignore.is_match(relative)
            || relative
                .ancestors()
                .skip(1)
                .any(|dir| !dir.as_os_str().is_empty() && self.prune.is_match(dir))
        {
            return None;
        }
        self.watch.is_match(relative).then_some(relative)
    }

    /// Whether the directory `below` under `root` is pruned: `.git`, or ignored with all it
    /// holds, itself or one of its parents up to the root.
    fn pruned_below(&self, root: &Path, below: &Path) -> bool {
        if has_ignored_component(below) {
            return true;
        }
        let mut dir = root.to_path_buf();
        for component in below.components() {
            dir.push(component);
            if let Ok(relative) = dir.strip_prefix(&self.base)
                && self.prune.is_match(relative)
            {
                return true;
            }
        }
        false
    }

    fn is_excluded(&self, path: &Path) -> bool {
        self.excluded.iter().any(|dir| path.starts_with(dir))
    }
}

fn has_ignored_component(path: &Path) -> bool {
    path.components().any(|c| c.as_os_str() == ALWAYS_IGNORED)
}

/// The directory a glob's matches are in (its literal prefix; a literal path's parent), and
/// whether they can be deeper.
pub(super) fn root_of(base: &Path, pattern: &str) -> Root {
    let components: Vec<&str> = pattern.split('/').filter(|c| !c.is_empty() && *c != ".").collect();
    let literal =
        components.iter().take_while(|c| !c.contains(['*', '?', '[', ']', '{', '}', '\\'])).count();
    let mut dir = base.to_path_buf();
    if literal == components.len() {
        // A file named in full: its directory.
        dir.extend(&components[..literal.saturating_sub(1)]);
        return Root { dir, recursive: false };
    }
    dir.extend(&components[..literal]);
    let rest = &components[literal..];
    Root { dir, recursive: rest.len() > 1 || rest.iter().any(|c| c.contains("**")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(patterns: &[&str], ignore: &[&str]) -> Rules {
        let settings = WatchSettings {
            patterns: patterns.iter().map(|p| (*p).to_owned()).collect(),
            ignore: ignore.iter().map(|p| (*p).to_owned()).collect(),
            debounce: None,
        };
        Rules::new("web", Path::new("/app"), &settings, &[PathBuf::from("/app/log")])
            .expect("rules")
    }

    #[test]
    fn the_literal_prefix_is_the_root() {
        let base = Path::new("/app");
        let root = |pattern: &str| root_of(base, pattern);
        assert_eq!(root("src/**/*.rb"), Root { dir: "/app/src".into(), recursive: true });
        assert_eq!(root("config/*.yml"), Root { dir: "/app/config".into(), recursive: false });
        assert_eq!(root("Gemfile.lock"), Root { dir: "/app".into(), recursive: false });
        assert_eq!(
            root("app/models/user.rb"),
            Root { dir: "/app/app/models".into(), recursive: false }
        );
        assert_eq!(root("**/*.rb"), Root { dir: "/app".into(), recursive: true });
        assert_eq!(root("./lib/*/x.rb"), Root { dir: "/app/lib".into(), recursive: true });
    }

    #[test]
    fn only_directories_that_can_hold_a_match_are_wanted() {
        let rules = rules(&["src/**/*.rb", "config/deep/*.yml"], &["src/vendor/**", "**/tmp"]);
        let wants = |dir: &str| rules.wants(Path::new(dir)) == Want::Yes;
        assert!(wants("/app"), "the way to the roots");
        assert!(wants("/app/config"), "the way to config/deep");
        assert!(wants("/app/config/deep"));
        assert!(!wants("/app/config/deep/deeper"), "config/deep/*.yml is one level");
        assert!(!wants("/app/config/other"));
        assert!(wants("/app/src"));
        assert!(wants("/app/src/models/admin"));
        assert!(!wants("/app/src/.git"));
        assert!(!wants("/app/src/vendor"), "ignored with all it holds");
        assert!(!wants("/app/src/vendor/gems"));
        assert!(!wants("/app/src/a/tmp"));
        assert!(!wants("/app/node_modules"));
        assert!(!wants("/elsewhere"));
    }

    #[test]
    fn a_change_counts_when_it_matches_and_nothing_ignores_it() {
        let rules = rules(
            &["src/**/*.rb", "config/*.yml", "**/*.log"],
            &["src/vendor/**", "*.tmp.rb", "src/gen"],
        );
        let counts = |path: &str| rules.counts(Path::new(path)).map(|p| p.display().to_string());
        assert_eq!(counts("/app/src/app.rb").as_deref(), Some("src/app.rb"));
        assert_eq!(counts("/app/src/a/b/app.rb").as_deref(), Some("src/a/b/app.rb"));
        assert_eq!(counts("/app/config/db.yml").as_deref(), Some("config/db.yml"));
        assert_eq!(counts("/app/config/x/db.yml"), None);
        assert_eq!(counts("/app/src/app.py"), None);
        assert_eq!(counts("/app/src/vendor/gem.rb"), None);
        assert_eq!(counts("/app/src/gen/schema.rb"), None, "a directory ignored by name");
        assert_eq!(counts("/app/x.tmp.rb"), None);
        assert_eq!(counts("/app/src/.git/hooks/a.rb"), None);
        assert_eq!(counts("/app/log/web.1.log"), None, "the log directory");
        assert_eq!(counts("/app/other.log").as_deref(), Some("other.log"));
        assert_eq!(counts("/other/src/app.rb"), None);
    }

    #[test]
    fn the_files_editors_write_beside_a_file_never_count() {
        let rules = rules(&["**"], &[]);
        let counts = |path: &str| rules.counts(Path::new(path)).is_some();
        for name in [".app.rb.swp", ".app.rb.swx", "app.rb~", ".#app.rb", "#app.rb#", "4913"] {
            assert!(!counts(&format!("/app/src/{name}")), "{name}");
        }
        for name in ["app.rb.kate-swp", "app.rb___jb_tmp___", ".web.service.procman-12-0.tmp"] {
            assert!(!counts(&format!("/app/src/{name}")), "{name}");
        }
        for name in ["app.rb", ".env", "swap.swp", "49130", "a#b"] {
            assert!(counts(&format!("/app/src/{name}")), "{name}");
        }
    }
}
