//! Source files, byte spans, line index and the [`Diagnostic`] value.
//!
//! Every Palisade crate reports problems in the user's files as [`Diagnostic`]s that point
//! into a [`SourceMap`] through a [`Span`] (a [`SourceId`] plus a byte range). Turning a span
//! into `file:line:col` happens only when a diagnostic is rendered, through the line index of
//! its [`SourceFile`]. This crate formats nothing; `palisade-render` does.
//!
//! ```
//! use palisade_diag::{Diagnostic, Severity, SourceMap};
//!
//! let mut sources = SourceMap::default();
//! let id = sources.add("policy.yaml", "kind: NetworkPolicy\nspec: {}\n");
//! let span = sources.span(id, 20, 24);
//! let diag = Diagnostic::error("missing podSelector").with_span(span);
//! let (line, col) = sources.line_col(span);
//! assert_eq!((line, col), (2, 1));
//! assert_eq!(diag.severity, Severity::Error);
//! ```

use std::fmt;
use std::sync::Arc;

/// Identifies one file in a [`SourceMap`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourceId(pub u32);

/// A byte range inside one source file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    /// The file the range belongs to.
    pub source: SourceId,
    /// Byte offset of the first byte.
    pub start: u32,
    /// Byte offset one past the last byte.
    pub end: u32,
}

/// One input file: the path as the user gave it, its text and a line index.
#[derive(Debug)]
pub struct SourceFile {
    /// The path as given on the command line (or `<stdin>`, or `git:REV:path`).
    pub path: String,
    /// The full text.
    pub text: Arc<str>,
    line_starts: Vec<u32>,
}

impl SourceFile {
    /// Creates a source file and indexes its line starts.
    pub fn new(path: impl Into<String>, text: impl Into<Arc<str>>) -> Self {
        let text: Arc<str> = text.into();
        let mut line_starts = vec![0u32];
        line_starts.extend(
            text.bytes()
                .enumerate()
                .filter(|&(_, b)| b == b'\n')
                .map(|(i, _)| i as u32 + 1),
        );
        SourceFile {
            path: path.into(),
            text,
            line_starts,
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: u32) -> (u32, u32) {
        let offset = offset.min(self.text.len() as u32);
        let line = self.line_starts.partition_point(|&s| s <= offset) - 1;
        let start = self.line_starts[line] as usize;
        let end = (offset as usize).max(start);
        let col = self
            .text
            .get(start..end)
            .map_or(end - start, |s| s.chars().count());
        (line as u32 + 1, col as u32 + 1)
    }

    /// Byte offset of the start of a 1-based line (clamped to the end of the text).
    pub fn line_start(&self, line: u32) -> u32 {
        let idx = (line.max(1) - 1) as usize;
        self.line_starts
            .get(idx)
            .copied()
            .unwrap_or(self.text.len() as u32)
    }

    /// Byte offset of a 1-based line and 1-based character column.
    pub fn offset_of(&self, line: u32, col: u32) -> u32 {
        let start = self.line_start(line) as usize;
        let rest = &self.text[start..];
        let skip: usize = rest
            .chars()
            .take_while(|&c| c != '\n')
            .take(col.max(1) as usize - 1)
            .map(char::len_utf8)
            .sum();
        (start + skip) as u32
    }

    /// The text of a 1-based line, without its line break.
    pub fn line_text(&self, line: u32) -> &str {
        let start = self.line_start(line) as usize;
        let end = self.line_start(line + 1) as usize;
        self.text[start..end].trim_end_matches(['\n', '\r'])
    }

    /// Number of lines.
    pub fn line_count(&self) -> u32 {
        self.line_starts.len() as u32
    }
}

/// All files read in one run, addressed by [`SourceId`].
#[derive(Debug, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    /// Adds a file and returns its id.
    pub fn add(&mut self, path: impl Into<String>, text: impl Into<Arc<str>>) -> SourceId {
        self.files.push(SourceFile::new(path, text));
        SourceId(self.files.len() as u32 - 1)
    }

    /// The file behind an id.
    pub fn get(&self, id: SourceId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    /// Builds a span, clamping the range to the file.
    pub fn span(&self, id: SourceId, start: u32, end: u32) -> Span {
        let len = self.get(id).text.len() as u32;
        let start = start.min(len);
        Span {
            source: id,
            start,
            end: end.clamp(start, len),
        }
    }

    /// 1-based line and column of the start of a span.
    pub fn line_col(&self, span: Span) -> (u32, u32) {
        self.get(span.source).line_col(span.start)
    }

    /// `path:line:col` of the start of a span.
    pub fn location(&self, span: Span) -> Location {
        let (line, column) = self.line_col(span);
        Location {
            file: self.get(span.source).path.clone(),
            line,
            column,
        }
    }

    /// Iterates over all files with their ids.
    pub fn iter(&self) -> impl Iterator<Item = (SourceId, &SourceFile)> {
        self.files
            .iter()
            .enumerate()
            .map(|(i, f)| (SourceId(i as u32), f))
    }

    /// Number of files.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether no file has been added.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

/// A resolved position: file path as given, 1-based line and column.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    /// The file path as given.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Informational: worth knowing, nothing is wrong.
    Info,
    /// Probably a mistake.
    Warning,
    /// Wrong: the input is rejected or the result is broken.
    Error,
}

impl Severity {
    /// The lowercase name used in every output format.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A secondary span with its own message, e.g. the other definition of a duplicate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    /// Where.
    pub span: Span,
    /// What is there.
    pub message: String,
}

/// One problem found in the user's input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// A stable code (`NP003`, `E0101`), if the problem has one.
    pub code: Option<&'static str>,
    /// How serious it is.
    pub severity: Severity,
    /// One line saying what is wrong (lowercase start, no trailing period).
    pub message: String,
    /// The offending node, if known.
    pub span: Option<Span>,
    /// Other places involved.
    pub labels: Vec<Label>,
    /// How to fix it.
    pub help: Option<String>,
    /// Extra lines of context (e.g. the field path).
    pub notes: Vec<String>,
}

impl Diagnostic {
    /// A diagnostic of the given severity.
    pub fn new(severity: Severity, message: impl Into<String>) -> Self {
        Diagnostic {
            code: None,
            severity,
            message: message.into(),
            span: None,
            labels: Vec::new(),
            help: None,
            notes: Vec::new(),
        }
    }

    /// An error.
    pub fn error(message: impl Into<String>) -> Self {
        Self::new(Severity::Error, message)
    }

    /// A warning.
    pub fn warning(message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, message)
    }

    /// An informational note.
    pub fn info(message: impl Into<String>) -> Self {
        Self::new(Severity::Info, message)
    }

    /// Sets the code.
    pub fn with_code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }

    /// Sets the primary span.
    pub fn with_span(mut self, span: Span) -> Self {
        self.span = Some(span);
        self
    }

    /// Sets the primary span if there is one.
    pub fn with_opt_span(mut self, span: Option<Span>) -> Self {
        self.span = span;
        self
    }

    /// Adds a secondary label.
    pub fn with_label(mut self, span: Span, message: impl Into<String>) -> Self {
        self.labels.push(Label {
            span,
            message: message.into(),
        });
        self
    }

    /// Sets the help line.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds a note line.
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    /// Adds notes, e.g. an optional one (`Option<String>`).
    pub fn with_notes(mut self, notes: impl IntoIterator<Item = String>) -> Self {
        self.notes.extend(notes);
        self
    }

    /// Whether this is an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters_not_bytes() {
        let file = SourceFile::new("a.yaml", "a: 1\nname: \"héllo\" x\n");
        let x = file.text.find(" x").unwrap() as u32 + 1;
        assert_eq!(file.line_col(x), (2, 15));
        assert_eq!(file.offset_of(2, 15), x);
        assert_eq!(file.line_text(2), "name: \"héllo\" x");
    }

    #[test]
    fn offsets_at_line_starts_and_end() {
        let file = SourceFile::new("a.yaml", "ab\ncd");
        assert_eq!(file.line_col(0), (1, 1));
        assert_eq!(file.line_col(3), (2, 1));
        assert_eq!(file.line_col(5), (2, 3));
        assert_eq!(file.line_col(99), (2, 3));
        assert_eq!(file.line_count(), 2);
    }
}
