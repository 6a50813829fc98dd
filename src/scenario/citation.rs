//! Machine-checked citations: what a scenario, a step or an expected-failure reason says it
//! proves, as line numbers of `docs/webim-message-guide.md` or a section of the wire notes
//! (`docs/wire-3.6.3.md`, `docs/wire-4.x.md`), each with a short quote that must be there.
//!
//! A quote is compared with runs of whitespace collapsed to one space (so a quote may span a
//! line break), case-sensitively. This module owns the citation forms, the documents they point
//! into ([`Docs`]) and the check; it does not know scenarios' steps or expected-failure files
//! (`load` and `runner::expected` call it with what they read).

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::OnceLock;

/// The message guide, as bundled.
const GUIDE: &str = include_str!("../../docs/webim-message-guide.md");
/// The wire notes of 3.6.3, as bundled.
const WIRE: &str = include_str!("../../docs/wire-3.6.3.md");

/// The level of an expectation: `guide` when the guide states it (the step or scenario cites the
/// guide's lines), `wire` when only the reference SDK's observed wire does (it cites the wire
/// notes). The snapshot comparison is a wire-level check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Stated by the message guide.
    Guide,
    /// Observed on the reference SDK's wire.
    Wire,
}

impl Level {
    /// `guide` or `wire`.
    pub fn name(self) -> &'static str {
        match self {
            Level::Guide => "guide",
            Level::Wire => "wire",
        }
    }
}

/// Lines of the guide: `"62"` or `"62-75"` (1-based, inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LineRange {
    /// The first line.
    pub first: usize,
    /// The last line.
    pub last: usize,
}

impl LineRange {
    /// Parses `"N"` or `"N-M"` with 1 <= N <= M.
    pub fn parse(text: &str) -> Option<LineRange> {
        let (a, b) = match text.split_once('-') {
            Some((a, b)) => (a, b),
            None => (text, text),
        };
        let first: usize = a.trim().parse().ok()?;
        let last: usize = b.trim().parse().ok()?;
        (first >= 1 && first <= last).then_some(LineRange { first, last })
    }

    /// Whether the two ranges share a line.
    pub fn overlaps(self, other: LineRange) -> bool {
        self.first <= other.last && other.first <= self.last
    }
}

impl fmt::Display for LineRange {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        if self.first == self.last {
            write!(f, "{}", self.first)
        } else {
            write!(f, "{}-{}", self.first, self.last)
        }
    }
}

impl<'de> Deserialize<'de> for LineRange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = LineRange;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("guide lines as \"N\" or \"N-M\" (1 <= N <= M)")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<LineRange, E> {
                LineRange::parse(text)
                    .ok_or_else(|| E::invalid_value(de::Unexpected::Str(text), &self))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<LineRange, E> {
                self.visit_str(&n.to_string())
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<LineRange, E> {
                self.visit_str(&n.to_string())
            }
        }
        d.deserialize_any(V)
    }
}

/// `{ lines = "62-75", quote = "onTextMessage" }`: lines of the message guide.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GuideCitation {
    /// The lines.
    pub lines: LineRange,
    /// Words that are on those lines.
    pub quote: String,
}

/// Which wire notes a citation points into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
pub enum WireNotes {
    /// `docs/wire-3.6.3.md` (the default).
    #[default]
    #[serde(rename = "3.6.3")]
    V3,
    /// `docs/wire-4.x.md`.
    #[serde(rename = "4.x")]
    V4,
}

/// `{ section = "4", quote = "routetype" }`, or with `notes = "4.x"`: a section of the wire notes.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WireCitation {
    /// Which notes (default 3.6.3).
    #[serde(default)]
    pub notes: WireNotes,
    /// The `## N.` section.
    #[serde(deserialize_with = "section")]
    pub section: String,
    /// Words that are in that section.
    pub quote: String,
}

fn section<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    struct V;
    impl Visitor<'_> for V {
        type Value = String;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a section number like \"4\"")
        }
        fn visit_str<E: de::Error>(self, text: &str) -> Result<String, E> {
            Ok(text.trim().trim_start_matches('§').to_string())
        }
        fn visit_i64<E: de::Error>(self, n: i64) -> Result<String, E> {
            Ok(n.to_string())
        }
        fn visit_u64<E: de::Error>(self, n: u64) -> Result<String, E> {
            Ok(n.to_string())
        }
    }
    d.deserialize_any(V)
}

/// One text the citations point into, split in lines.
#[derive(Debug, Clone)]
pub struct Doc {
    /// How errors name it (`docs/webim-message-guide.md`).
    pub name: String,
    lines: Vec<String>,
}

impl Doc {
    /// A document from its text.
    pub fn new(name: impl Into<String>, text: &str) -> Doc {
        Doc {
            name: name.into(),
            lines: text.lines().map(String::from).collect(),
        }
    }

    /// Its number of lines.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// Whether it has no lines.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Lines `first..=last` (1-based), whitespace collapsed.
    fn span(&self, first: usize, last: usize) -> String {
        collapse(&self.lines[first - 1..last].join("\n"))
    }

    /// The lines (1-based) where a collapsed `quote` starts, to hint at a better citation.
    fn find(&self, quote: &str) -> Vec<usize> {
        let len = self.lines.len();
        (1..=len)
            .filter(|&n| {
                let end = (n + 3).min(len);
                self.span(n, end).contains(quote)
                    && (n == len || !self.span(n + 1, end).contains(quote))
            })
            .collect()
    }

    /// The line range of the section headed `## <section>.` (up to the next `## `).
    fn section(&self, section: &str) -> Option<(usize, usize)> {
        let heading = |l: &str| {
            l.strip_prefix("## ").is_some_and(|rest| {
                rest.strip_prefix(section)
                    .is_some_and(|after| after.starts_with('.') || after.starts_with(' '))
            })
        };
        let start = self.lines.iter().position(|l| heading(l))?;
        let end = self.lines[start + 1..]
            .iter()
            .position(|l| l.starts_with("## "))
            .map_or(self.lines.len(), |i| start + 1 + i);
        Some((start + 1, end))
    }
}

/// The documents citations point into.
#[derive(Debug, Clone)]
pub struct Docs {
    /// `docs/webim-message-guide.md`.
    pub guide: Doc,
    /// `docs/wire-3.6.3.md`.
    pub wire: Doc,
    /// `docs/wire-4.x.md`, when there is one.
    pub wire4: Option<Doc>,
}

impl Docs {
    /// The documents bundled with imspec (the 4.x notes when the source tree has them).
    pub fn bundled() -> &'static Docs {
        static DOCS: OnceLock<Docs> = OnceLock::new();
        DOCS.get_or_init(|| {
            let wire4 =
                std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/wire-4.x.md"))
                    .ok();
            Docs {
                guide: Doc::new("docs/webim-message-guide.md", GUIDE),
                wire: Doc::new("docs/wire-3.6.3.md", WIRE),
                wire4: wire4.map(|text| Doc::new("docs/wire-4.x.md", &text)),
            }
        })
    }

    /// Checks a guide citation: the lines exist and hold the quote.
    pub fn check_guide(&self, lines: LineRange, quote: &str) -> Result<(), String> {
        let doc = &self.guide;
        let quote = collapse(quote);
        if quote.is_empty() {
            return Err("the quote is empty: quote a few words of the cited lines".into());
        }
        if lines.last > doc.len() {
            return Err(format!(
                "guide lines {lines}: {} has {} lines",
                doc.name,
                doc.len()
            ));
        }
        if doc.span(lines.first, lines.last).contains(&quote) {
            return Ok(());
        }
        let found = doc.find(&quote);
        Err(format!(
            "guide lines {lines} do not contain {quote:?} ({}){}",
            doc.name,
            hint(&found)
        ))
    }

    /// Checks a wire citation: the section exists and holds the quote. A 4.x citation is
    /// checked when `docs/wire-4.x.md` is there.
    pub fn check_wire(&self, notes: WireNotes, section: &str, quote: &str) -> Result<(), String> {
        let doc = match notes {
            WireNotes::V3 => &self.wire,
            WireNotes::V4 => match &self.wire4 {
                Some(doc) => doc,
                None => return Ok(()),
            },
        };
        let quote = collapse(quote);
        if quote.is_empty() {
            return Err("the quote is empty: quote a few words of the cited section".into());
        }
        let Some((first, last)) = doc.section(section) else {
            return Err(format!("{} has no section \"## {section}.\"", doc.name));
        };
        if doc.span(first, last).contains(&quote) {
            return Ok(());
        }
        Err(format!(
            "section {section} of {} (lines {first}-{last}) does not contain {quote:?}",
            doc.name
        ))
    }

    /// Checks one citation of any form.
    pub fn check(&self, citation: &Citation) -> Result<(), String> {
        match citation {
            Citation::Guide(c) => self.check_guide(c.lines, &c.quote),
            Citation::Wire(c) => self.check_wire(c.notes, &c.section, &c.quote),
        }
    }
}

fn hint(found: &[usize]) -> String {
    match found {
        [] => "; it is nowhere in the guide".to_string(),
        [one] => format!("; it is on line {one}"),
        many if many.len() <= 8 => format!(
            "; it is on lines {}",
            many.iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        many => format!("; it is on {} lines, first {}", many.len(), many[0]),
    }
}

/// Whitespace runs as one space, trimmed.
pub fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A citation of either kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Citation {
    /// Lines of the guide.
    Guide(GuideCitation),
    /// A section of the wire notes.
    Wire(WireCitation),
}

/// The citations in an expected-failure reason: `guide L<n>` or `guide L<n>-<m>`, `wire §<n>`,
/// `wire-4.x §<n>`, each followed by a double-quoted quote. At least one is required.
pub fn reason_citations(reason: &str) -> Result<Vec<Citation>, String> {
    const FORM: &str =
        "cite as guide L<n>[-<m>] \"quote\", wire §<n> \"quote\" or wire-4.x §<n> \"quote\"";
    let mut found = Vec::new();
    let mut rest = reason;
    loop {
        let next = ["guide L", "wire-4.x §", "wire §"]
            .iter()
            .filter_map(|m| rest.find(m).map(|at| (at, *m)))
            .min_by_key(|(at, m)| (*at, std::cmp::Reverse(m.len())));
        let Some((at, marker)) = next else { break };
        let after = &rest[at + marker.len()..];
        let number_end = after
            .find(|c: char| !(c.is_ascii_digit() || c == '-'))
            .unwrap_or(after.len());
        let number = &after[..number_end];
        let tail = after[number_end..].trim_start();
        let quote = tail
            .strip_prefix('"')
            .and_then(|t| t.find('"').map(|end| &t[..end]));
        let Some(quote) = quote else {
            return Err(format!(
                "`{}{number}` is not followed by a double-quoted quote; {FORM}",
                marker
            ));
        };
        let consumed = at
            + marker.len()
            + number_end
            + (after[number_end..].len() - tail.len())
            + quote.len()
            + 2;
        found.push(match marker {
            "guide L" => Citation::Guide(GuideCitation {
                lines: LineRange::parse(number)
                    .ok_or_else(|| format!("`guide L{number}` is not a line or range; {FORM}"))?,
                quote: quote.to_string(),
            }),
            _ => {
                if number.is_empty() || number.contains('-') {
                    return Err(format!(
                        "`{marker}{number}` is not a section number; {FORM}"
                    ));
                }
                Citation::Wire(WireCitation {
                    notes: if marker.starts_with("wire-4.x") {
                        WireNotes::V4
                    } else {
                        WireNotes::V3
                    },
                    section: number.to_string(),
                    quote: quote.to_string(),
                })
            }
        });
        rest = &rest[consumed.min(rest.len())..];
    }
    if found.is_empty() {
        return Err(format!("the reason cites nothing; {FORM}"));
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docs() -> Docs {
        Docs {
            guide: Doc::new(
                "guide.md",
                "# Title\nSend a text\nmessage with  onTextMessage\n\nend\n",
            ),
            wire: Doc::new(
                "wire.md",
                "intro\n## 1. Boot\nsockjs info\n## 4. Types\nroutetype here\n",
            ),
            wire4: None,
        }
    }

    #[test]
    fn a_quote_may_span_a_line_break_and_collapses_whitespace() {
        let d = docs();
        assert!(
            d.check_guide(
                LineRange::parse("2-3").unwrap(),
                "a text message with onTextMessage"
            )
            .is_ok()
        );
        assert!(
            d.check_guide(LineRange::parse("3").unwrap(), "with   onTextMessage")
                .is_ok()
        );
        let err = d
            .check_guide(LineRange::parse("1-2").unwrap(), "onTextMessage")
            .unwrap_err();
        assert!(err.contains("it is on line 3"), "{err}");
        let err = d
            .check_guide(LineRange::parse("9").unwrap(), "x")
            .unwrap_err();
        assert!(err.contains("has 5 lines"), "{err}");
        assert!(
            d.check_guide(LineRange::parse("2").unwrap(), "send a text")
                .is_err(),
            "case-sensitive"
        );
    }

    #[test]
    fn wire_sections() {
        let d = docs();
        assert!(d.check_wire(WireNotes::V3, "4", "routetype").is_ok());
        assert!(d.check_wire(WireNotes::V3, "1", "routetype").is_err());
        assert!(
            d.check_wire(WireNotes::V3, "7", "x")
                .unwrap_err()
                .contains("no section")
        );
        assert!(
            d.check_wire(WireNotes::V4, "2", "unchecked without the notes")
                .is_ok()
        );
    }

    #[test]
    fn line_ranges() {
        assert_eq!(
            LineRange::parse("62-75"),
            Some(LineRange {
                first: 62,
                last: 75
            })
        );
        assert_eq!(LineRange::parse("7"), Some(LineRange { first: 7, last: 7 }));
        assert_eq!(LineRange::parse("75-62"), None);
        assert_eq!(LineRange::parse("0"), None);
        assert!(
            LineRange::parse("1-3")
                .unwrap()
                .overlaps(LineRange::parse("3-9").unwrap())
        );
        assert!(
            !LineRange::parse("1-3")
                .unwrap()
                .overlaps(LineRange::parse("4").unwrap())
        );
    }

    #[test]
    fn reasons_cite_guide_lines_and_wire_sections() {
        let c = reason_citations(
            "guide L193-199 \"WebIM.Emoji\": 3.6.3 never fires it; wire §4 \"routetype\", wire-4.x §2 \"x\"",
        )
        .unwrap();
        assert_eq!(c.len(), 3);
        assert!(
            matches!(&c[0], Citation::Guide(g) if g.lines == LineRange { first: 193, last: 199 } && g.quote == "WebIM.Emoji")
        );
        assert!(matches!(&c[1], Citation::Wire(w) if w.notes == WireNotes::V3 && w.section == "4"));
        assert!(matches!(&c[2], Citation::Wire(w) if w.notes == WireNotes::V4 && w.quote == "x"));
        assert!(
            reason_citations("onEmojiMessage never fires")
                .unwrap_err()
                .contains("cites nothing")
        );
        assert!(
            reason_citations("guide L12 emoji")
                .unwrap_err()
                .contains("double-quoted")
        );
        assert!(reason_citations("guide Lx \"a\"").is_err());
    }
}
