//! Every output format, behind plain functions that write into a `String`.
//!
//! The JSON shapes here are public contracts that scripts depend on: fields may be added,
//! never renamed or dropped. They are explicit structs in this crate (`#[derive(Serialize)]`
//! on mirrors), so the engine's types stay free to change.
//!
//! ```
//! use palisade_render::OutputFormat;
//! assert_eq!("json".parse::<OutputFormat>().unwrap(), OutputFormat::Json);
//! ```

pub mod check;
pub mod connectivity;
pub mod conntest;
pub mod diagnostics;
pub mod diff;
pub mod escape;
pub mod generate;
mod graph;
pub mod lint;
pub mod map;
pub mod matrix;
pub mod replay;
pub mod sandbox;
mod style;

pub use style::Style;

use std::str::FromStr;

/// An output format a command may support.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OutputFormat {
    /// Human-readable text (the default).
    Text,
    /// JSON, one document.
    Json,
    /// JSON Lines: one object per line, written as produced.
    Jsonl,
    /// CSV with a header line.
    Csv,
    /// A Markdown table.
    Md,
    /// Graphviz DOT.
    Dot,
    /// A standalone SVG drawing (no Graphviz needed).
    Svg,
    /// A Mermaid flowchart.
    Mermaid,
    /// A tab-separated truth table, as the upstream e2e suite prints it.
    Table,
}

impl OutputFormat {
    /// The name used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            OutputFormat::Text => "txt",
            OutputFormat::Json => "json",
            OutputFormat::Jsonl => "jsonl",
            OutputFormat::Csv => "csv",
            OutputFormat::Md => "md",
            OutputFormat::Dot => "dot",
            OutputFormat::Svg => "svg",
            OutputFormat::Mermaid => "mermaid",
            OutputFormat::Table => "table",
        }
    }
}

impl FromStr for OutputFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "txt" | "text" => OutputFormat::Text,
            "json" => OutputFormat::Json,
            "jsonl" | "ndjson" => OutputFormat::Jsonl,
            "csv" => OutputFormat::Csv,
            "md" | "markdown" => OutputFormat::Md,
            "dot" => OutputFormat::Dot,
            "svg" => OutputFormat::Svg,
            "mermaid" | "mmd" => OutputFormat::Mermaid,
            "table" => OutputFormat::Table,
            other => return Err(format!("unknown output format `{other}`")),
        })
    }
}

/// A JSON value pretty-printed with a trailing newline.
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> String {
    let mut out = serde_json::to_string_pretty(value).expect("output structs serialize");
    out.push('\n');
    out
}

/// Quotes a CSV field when it needs it.
pub(crate) fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
