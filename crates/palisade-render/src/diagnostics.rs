//! Compiler-style rendering of diagnostics: `file:line:col`, a code frame with the offending
//! node underlined, labels, help and notes.

use crate::Style;
use palisade_diag::{Diagnostic, Severity, SourceMap, Span};
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
    let _ = writeln!(out, "{severity}{code}: {}", style.bold(&diag.message));
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
        let _ = writeln!(out, "{pad} {} note: {note}", style.blue("="));
    }
    if let Some(help) = &diag.help {
        let _ = writeln!(out, "{pad} {} help: {help}", style.blue("="));
    }
    out
}

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
    let _ = writeln!(out, "{pad}{} {}:{line}:{col}", style.blue("-->"), file.path);
    let _ = writeln!(out, "{pad} {}", style.blue("|"));
    let text = file.line_text(line);
    let _ = writeln!(
        out,
        "{} {} {text}",
        style.blue(&format!("{line:>width$}")),
        style.blue("|")
    );
    let line_chars = text.chars().count() as u32;
    let last = if end_line == line {
        end_col.max(col + 1)
    } else {
        line_chars + 1
    };
    let carets = "^".repeat((last - col).max(1) as usize);
    let marks = match severity {
        Severity::Error => style.red(&carets),
        Severity::Warning => style.yellow(&carets),
        Severity::Info => style.blue(&carets),
    };
    let indent: String = text
        .chars()
        .take(col as usize - 1)
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    let suffix = label.map(|l| format!(" {l}")).unwrap_or_default();
    let _ = writeln!(out, "{pad} {} {indent}{marks}{suffix}", style.blue("|"));
}

/// One line per diagnostic: `file:line:col: severity[code]: message`.
pub fn concise(diag: &Diagnostic, sources: &SourceMap) -> String {
    let location = diag
        .span
        .map(|s| format!("{}: ", sources.location(s)))
        .unwrap_or_default();
    let code = diag.code.map(|c| format!("[{c}]")).unwrap_or_default();
    format!("{location}{}{code}: {}", diag.severity, diag.message)
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
