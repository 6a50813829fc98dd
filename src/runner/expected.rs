//! The expected-failures file of a driver: one entry per line, a scenario id or glob, then its
//! reason after `#`. A listed scenario that fails is XFAIL; one that passes is XPASS, which
//! fails the run so that lists do not rot. Lines that are only a comment or blank are skipped.
//!
//! `--update-expected-failures` rewrites the file from a run ([`ExpectedFailures::rewrite`]):
//! comments and entries of scenarios that did not run stay as they are, entries whose scenarios
//! now all pass go, new failures come in with a placeholder reason. This module only parses and
//! rewrites text; applying the list to verdicts is `runner`'s.

use globset::{Glob, GlobMatcher};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The reason given to a new entry by `--update-expected-failures`, for a person to replace.
pub const PLACEHOLDER_REASON: &str = "TODO: reason (cite the guide)";

/// The first lines of a file that `--update-expected-failures` creates.
pub const NEW_FILE_HEADER: &str = "# Scenarios this driver is expected to fail, with the reason.\n\
# Format: one entry per line, a scenario id or glob, then `# reason` citing the guide.\n";

/// How a scenario came out in a run, as far as the list is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observed {
    /// It failed (FAIL or XFAIL): it belongs on the list.
    Failed,
    /// It passed (PASS or XPASS): it does not.
    Passed,
    /// Neither (UNSUPPORTED, ERROR): the list is left as it is for it.
    Other,
}

/// The file rewritten from a run, and what changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rewrite {
    /// The new text of the file.
    pub text: String,
    /// Entries taken out because every scenario they list now passes (`pattern`).
    pub removed: Vec<String>,
    /// Globs replaced by the ids they list that still fail (`pattern`).
    pub narrowed: Vec<String>,
    /// Scenarios added with [`PLACEHOLDER_REASON`].
    pub added: Vec<String>,
}

/// An expected-failures file read for a run: the list, and its text for a rewrite.
#[derive(Debug, Clone, Default)]
pub struct ListFile {
    /// The parsed list.
    pub list: ExpectedFailures,
    /// The file's text as read ([`NEW_FILE_HEADER`] for a file that does not exist yet).
    pub text: String,
}

impl ListFile {
    /// Reads the list at `path`. With `create`, a file that does not exist yet is an empty list
    /// (a rewrite then creates it).
    pub fn open(path: &Path, create: bool) -> Result<Self, ExpectedError> {
        if create && !path.exists() {
            return Ok(ListFile {
                list: ExpectedFailures {
                    path: Some(path.to_path_buf()),
                    entries: Vec::new(),
                },
                text: NEW_FILE_HEADER.to_string(),
            });
        }
        let text = std::fs::read_to_string(path).map_err(|source| ExpectedError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(ListFile {
            list: ExpectedFailures::parse(path, &text)?,
            text,
        })
    }

    /// Rewrites the file (see [`ExpectedFailures::rewrite`]) from how each scenario came out,
    /// and returns what changed.
    pub fn rewrite(&self, observed: &BTreeMap<String, Observed>) -> Result<Rewrite, ExpectedError> {
        let rewrite = self.list.rewrite(&self.text, observed);
        if let Some(path) = &self.list.path {
            std::fs::write(path, &rewrite.text).map_err(|source| ExpectedError::Write {
                path: path.clone(),
                source,
            })?;
        }
        Ok(rewrite)
    }
}

/// One entry.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The pattern as written.
    pub pattern: String,
    /// Why the scenario is expected to fail.
    pub reason: String,
    /// The line it is on.
    pub line: usize,
    matcher: GlobMatcher,
}

/// A parsed expected-failures file.
#[derive(Debug, Clone, Default)]
pub struct ExpectedFailures {
    /// Where it came from.
    pub path: Option<PathBuf>,
    /// The entries in file order.
    pub entries: Vec<Entry>,
}

/// A line of the file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ExpectedError {
    /// The file cannot be read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file cannot be written.
    #[error("{path}: cannot write: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A line is malformed.
    #[error("{path}:{line}: {message}")]
    Line {
        /// The file.
        path: PathBuf,
        /// The 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

impl ExpectedFailures {
    /// Reads and parses a file.
    pub fn load(path: &Path) -> Result<Self, ExpectedError> {
        let text = std::fs::read_to_string(path).map_err(|source| ExpectedError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(path, &text)
    }

    /// Parses the text of a file; `path` is used in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Self, ExpectedError> {
        let mut entries = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let error = |message: String| ExpectedError::Line {
                path: path.to_path_buf(),
                line,
                message,
            };
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let (pattern, reason) = match trimmed.split_once('#') {
                Some((p, r)) => (p.trim(), r.trim()),
                None => (trimmed, ""),
            };
            if reason.is_empty() {
                return Err(error(format!(
                    "`{pattern}` has no reason; write `{pattern}  # why it fails (cite the guide)`"
                )));
            }
            if pattern.contains(char::is_whitespace) {
                return Err(error(format!(
                    "`{pattern}`: one scenario id or glob per line"
                )));
            }
            let matcher = Glob::new(pattern)
                .map_err(|e| error(format!("`{pattern}` is not a valid glob: {e}")))?
                .compile_matcher();
            entries.push(Entry {
                pattern: pattern.to_string(),
                reason: reason.to_string(),
                line,
                matcher,
            });
        }
        Ok(ExpectedFailures {
            path: Some(path.to_path_buf()),
            entries,
        })
    }

    /// The entry that lists a scenario, if any.
    pub fn lookup(&self, id: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.matcher.is_match(id))
    }

    /// Rewrites `text` (the file this list was parsed from) to agree with a run in which each
    /// scenario of `observed` came out as given. Lines are kept as written unless their entry
    /// changes; new failures are appended with [`PLACEHOLDER_REASON`].
    pub fn rewrite(&self, text: &str, observed: &BTreeMap<String, Observed>) -> Rewrite {
        let mut owned: BTreeMap<usize, Vec<(&str, Observed)>> = BTreeMap::new();
        let mut rewrite = Rewrite::default();
        for (id, outcome) in observed {
            match self.lookup(id) {
                Some(entry) => owned.entry(entry.line).or_default().push((id, *outcome)),
                None if *outcome == Observed::Failed => rewrite.added.push(id.clone()),
                None => {}
            }
        }
        let by_line: BTreeMap<usize, &Entry> = self.entries.iter().map(|e| (e.line, e)).collect();
        for (index, raw) in text.lines().enumerate() {
            let ids = owned
                .get(&(index + 1))
                .map(Vec::as_slice)
                .unwrap_or_default();
            let (Some(entry), false) = (by_line.get(&(index + 1)), ids.is_empty()) else {
                rewrite.text.push_str(raw);
                rewrite.text.push('\n');
                continue;
            };
            let passed = ids.iter().filter(|(_, o)| *o == Observed::Passed).count();
            if passed == 0 {
                rewrite.text.push_str(raw);
                rewrite.text.push('\n');
            } else if passed == ids.len() {
                rewrite.removed.push(entry.pattern.clone());
            } else {
                rewrite.narrowed.push(entry.pattern.clone());
                for (id, _) in ids.iter().filter(|(_, o)| *o != Observed::Passed) {
                    rewrite
                        .text
                        .push_str(&format!("{id}  # {}\n", entry.reason));
                }
            }
        }
        for id in &rewrite.added {
            rewrite
                .text
                .push_str(&format!("{id}  # {PLACEHOLDER_REASON}\n"));
        }
        rewrite
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_need_reasons_and_globs_match() {
        let path = Path::new("drivers/x/expected-failures.txt");
        let list = ExpectedFailures::parse(
            path,
            "# header\n\nmessages/emoji-*  # guide: onEmojiMessage never fires\n",
        )
        .unwrap();
        assert_eq!(list.lookup("messages/emoji-single").unwrap().line, 3);
        assert!(list.lookup("messages/txt-single").is_none());
        let err = ExpectedFailures::parse(path, "login/ok\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("drivers/x/expected-failures.txt:1: `login/ok` has no reason"),
            "{err}"
        );
    }

    #[test]
    fn rewrite_keeps_comments_and_reasons_drops_passes_and_adds_failures() {
        let path = Path::new("expected-failures.txt");
        let text = "# header\n\nlogin/ok  # passes now\nmessages/*  # why messages fail\n\
                    # a note\nother/not-run  # kept\nconn/still  # still fails\n";
        let list = ExpectedFailures::parse(path, text).unwrap();
        let observed: BTreeMap<String, Observed> = [
            ("login/ok", Observed::Passed),
            ("messages/a", Observed::Failed),
            ("messages/b", Observed::Passed),
            ("conn/still", Observed::Failed),
            ("new/broken", Observed::Failed),
            ("new/fine", Observed::Passed),
            ("new/unsupported", Observed::Other),
        ]
        .into_iter()
        .map(|(id, o)| (id.to_string(), o))
        .collect();
        let rewrite = list.rewrite(text, &observed);
        assert_eq!(
            rewrite.text,
            "# header\n\nmessages/a  # why messages fail\n# a note\nother/not-run  # kept\n\
             conn/still  # still fails\nnew/broken  # TODO: reason (cite the guide)\n"
        );
        assert_eq!(rewrite.removed, ["login/ok"]);
        assert_eq!(rewrite.narrowed, ["messages/*"]);
        assert_eq!(rewrite.added, ["new/broken"]);
        // The result parses: a placeholder is a reason.
        ExpectedFailures::parse(path, &rewrite.text).unwrap();
    }
}
