//! Compiler-style rendering of diagnostics: `file:line:col`, a code frame with the offending
//! node underlined, labels, help and notes.

use crate::Style;
use crate::escape::{self, escape_control};
use palisade_diag::{Diagnostic, Severity, SourceMap, Span};
use std::borrow::Cow;
use std::fmt::Write;

/// Renders one diagnostic in the human format.
pub fn human(diag: &Diagnostic, sources: &SourceMap, style: Style) -> String {
    let mut out = String::new();
    let severity = match diag.severity {
        Severity::Error => style.red("error"),
        Severity::Warning => style.yellow("warning"),
        Severity::Info => style.blue("info"),
    };
    let code = diag
        .code
        .map(|c| match diag.severity {
            Severity::Error => style.red(&format!("[{c}]")),
            Severity::Warning => style.yellow(&format!("[{c}]")),
            Severity::Info => style.blue(&format!("[{c}]")),
        })
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "{severity}{code}: {}",
        style.bold(&escape::message(&diag.message))
    );
    let gutter_width = diag
        .span
        .iter()
        .chain(diag.labels.iter().map(|l| &l.span))
        .map(|s| sources.line_col(*s).0.to_string().len())
        .max()
        .unwrap_or(1);
    if let Some(span) = diag.span {
        frame(
            &mut out,
            sources,
            span,
            None,
            gutter_width,
            style,
            diag.severity,
        );
    }
    for label in &diag.labels {
        frame(
            &mut out,
            sources,
            label.span,
            Some(&label.message),
            gutter_width,
            style,
            Severity::Info,
        );
    }
    let pad = " ".repeat(gutter_width);
    for note in &diag.notes {
        let _ = writeln!(
            out,
            "{pad} {} note: {}",
            style.blue("="),
            escape::message(note)
        );
    }
    if let Some(help) = &diag.help {
        let _ = writeln!(
            out,
            "{pad} {} help: {}",
            style.blue("="),
            escape::message(help)
        );
    }
    out
}

/// Diagnostics shown in full (with code frames) per file; the rest are counted.
pub const MAX_FULL_PER_FILE: usize = 50;

/// Renders diagnostics in the human format, each followed by `separator`, at most
/// [`MAX_FULL_PER_FILE`] per file; for a file with more, one line at the end counts the ones
/// not shown. So the output grows with the number of files and findings shown, never with
/// the input's size.
pub fn human_bounded<'a>(
    diags: impl IntoIterator<Item = &'a Diagnostic>,
    sources: &SourceMap,
    style: Style,
    separator: &str,
) -> String {
    let mut out = String::new();
    let mut shown: std::collections::BTreeMap<Option<palisade_diag::SourceId>, usize> =
        std::collections::BTreeMap::new();
    let mut hidden: std::collections::BTreeMap<Option<palisade_diag::SourceId>, usize> =
        std::collections::BTreeMap::new();
    for d in diags {
        let file = d.span.map(|s| s.source);
        let n = shown.entry(file).or_default();
        if *n < MAX_FULL_PER_FILE {
            *n += 1;
            out.push_str(&human(d, sources, style));
            out.push_str(separator);
        } else {
            *hidden.entry(file).or_default() += 1;
        }
    }
    for (file, n) in hidden {
        let place = match file {
            Some(id) => format!(" in {}", escape_control(&sources.get(id).path)),
            None => String::new(),
        };
        let _ = writeln!(
            out,
            "{}: {n} more diagnostic{}{place} not shown (the first {MAX_FULL_PER_FILE} are)",
            style.blue("note"),
            if n == 1 { "" } else { "s" },
        );
        out.push_str(separator);
    }
    out
}

/// Widest source excerpt shown in a code frame, in characters (after escaping).
pub const MAX_FRAME_CHARS: usize = 120;
/// Characters shown before the error column when a long line is cut.
const FRAME_CONTEXT_CHARS: usize = 40;

fn frame(
    out: &mut String,
    sources: &SourceMap,
    span: Span,
    label: Option<&str>,
    width: usize,
    style: Style,
    severity: Severity,
) {
    let file = sources.get(span.source);
    let (line, col) = file.line_col(span.start);
    let (end_line, end_col) = file.line_col(span.end);
    let pad = " ".repeat(width);
    let _ = writeln!(
        out,
        "{pad}{} {}:{line}:{col}",
        style.blue("-->"),
        escape_control(&file.path)
    );
    let _ = writeln!(out, "{pad} {}", style.blue("|"));
    let excerpt = Excerpt::new(file.line_text(line), col, end_line, end_col, line);
    let _ = writeln!(
        out,
        "{} {} {}",
        style.blue(&format!("{line:>width$}")),
        style.blue("|"),
        excerpt.text
    );
    let carets = "^".repeat(excerpt.carets);
    let marks = match severity {
        Severity::Error => style.red(&carets),
        Severity::Warning => style.yellow(&carets),
        Severity::Info => style.blue(&carets),
    };
    let suffix = label
        .map(|l| format!(" {}", escape::message(l)))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "{pad} {} {}{marks}{suffix}",
        style.blue("|"),
        excerpt.indent
    );
}

/// The part of a source line a code frame shows: control characters escaped (tabs kept, so
/// the carets line up) and, for a long line, a window around the error column between
/// ellipses, so a frame's size does not depend on the input's line lengths.
struct Excerpt {
    text: String,
    indent: String,
    carets: usize,
}

impl Excerpt {
    fn new(line_text: &str, col: u32, end_line: u32, end_col: u32, line: u32) -> Excerpt {
        let pieces: Vec<Cow<'_, str>> = line_text
            .chars()
            .map(|c| match c {
                '\t' => Cow::Borrowed("\t"),
                c => {
                    let mut buf = [0u8; 4];
                    Cow::Owned(escape_control(c.encode_utf8(&mut buf)).into_owned())
                }
            })
            .collect();
        let widths: Vec<usize> = pieces.iter().map(|p| p.chars().count()).collect();
        let n = pieces.len();
        let first = (col as usize - 1).min(n);
        let last = if end_line == line {
            (end_col.max(col + 1) as usize - 1).max(first + 1)
        } else {
            n.max(first + 1)
        };
        // Window [a, b) of characters, at most MAX_FRAME_CHARS wide.
        let total: usize = widths.iter().sum();
        let (a, b) = if total <= MAX_FRAME_CHARS {
            (0, n)
        } else {
            let mut a = first;
            let mut before = 0;
            while a > 0 && before + widths[a - 1] <= FRAME_CONTEXT_CHARS {
                a -= 1;
                before += widths[a];
            }
            let mut b = a;
            let mut shown = 0;
            while b < n && shown + widths[b] <= MAX_FRAME_CHARS {
                shown += widths[b];
                b += 1;
            }
            (a, b.max(a.min(n)))
        };
        let mut text = String::new();
        let mut indent = String::new();
        if a > 0 {
            text.push('…');
            indent.push(' ');
        }
        for piece in &pieces[a..b] {
            text.push_str(piece);
        }
        if b < n {
            text.push('…');
        }
        for (i, piece) in pieces.iter().enumerate().take(first).skip(a) {
            if piece == "\t" {
                indent.push('\t');
            } else {
                indent.extend(std::iter::repeat_n(' ', widths[i]));
            }
        }
        // Carets under the span's characters inside the window (past the line's end, one
        // per missing character, as before); at least one.
        let inside: usize = widths[first.min(b)..last.min(b)].iter().sum();
        let beyond = if b == n {
            last.saturating_sub(n.max(first))
        } else {
            0
        };
        let carets = (inside + beyond).max(1);
        Excerpt {
            text,
            indent,
            carets,
        }
    }
}

/// One line per diagnostic: `file:line:col: severity[code]: message`.
pub fn concise(diag: &Diagnostic, sources: &SourceMap) -> String {
    let location = diag
        .span
        .map(|s| format!("{}: ", escape_control(&sources.location(s).to_string())))
        .unwrap_or_default();
    let code = diag.code.map(|c| format!("[{c}]")).unwrap_or_default();
    format!(
        "{location}{}{code}: {}",
        diag.severity,
        escape::message(&diag.message)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_underlines_the_span() {
        let mut sources = SourceMap::default();
        let text = "kind: NetworkPolicy\nspec:\n  podSelecter: {}\n";
        let id = sources.add("np.yaml", text);
        let start = text.find("podSelecter").unwrap() as u32;
        let diag = Diagnostic::warning("unknown field `podSelecter`")
            .with_code("NP008")
            .with_span(sources.span(id, start, start + 11))
            .with_help("did you mean `podSelector`?");
        insta::assert_snapshot!(human(&diag, &sources, Style::PLAIN), @r"
        warning[NP008]: unknown field `podSelecter`
         --> np.yaml:3:3
          |
        3 |   podSelecter: {}
          |   ^^^^^^^^^^^
          = help: did you mean `podSelector`?
        ");
        assert_eq!(
            concise(&diag, &sources),
            "np.yaml:3:3: warning[NP008]: unknown field `podSelecter`"
        );
    }
}
