//! The expected-failures file of a driver: one entry per line, a scenario id or glob, then its
//! reason after `#`. A listed scenario that fails is XFAIL; one that passes is XPASS, which
//! fails the run so that lists do not rot. Lines that are only a comment or blank are skipped.

use globset::{Glob, GlobMatcher};
use std::path::{Path, PathBuf};

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
}
