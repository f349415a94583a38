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
pub mod yaml;

pub use style::Style;

use std::str::FromStr;

/// An output format a command may support: one vocabulary across commands (`-o`).
///
/// `text` is the default everywhere; `wide` is text with more columns where a command has
/// them; `yaml` is the JSON document as YAML ([`yaml::from_json`]); the others are each
/// command's own. The old per-command names are accepted as aliases: `txt`, `table`, `human`,
/// `plain` (text), `markdown` (md), `mmd` (mermaid), `yml` (yaml), `ndjson` (jsonl).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OutputFormat {
    /// Human-readable text (the default).
    Text,
    /// Text with more columns (deciding policy, ports) where the command has them.
    Wide,
    /// JSON, one document.
    Json,
    /// The JSON document as YAML.
    Yaml,
    /// JSON Lines: one JSON object per line, written as produced where the command streams.
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
}

impl OutputFormat {
    /// The name used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            OutputFormat::Text => "text",
            OutputFormat::Wide => "wide",
            OutputFormat::Json => "json",
            OutputFormat::Yaml => "yaml",
            OutputFormat::Jsonl => "jsonl",
            OutputFormat::Csv => "csv",
            OutputFormat::Md => "md",
            OutputFormat::Dot => "dot",
            OutputFormat::Svg => "svg",
            OutputFormat::Mermaid => "mermaid",
        }
    }

    /// The canonical name of a format name or alias (`txt` → `text`), also for the formats
    /// this enum does not hold (`sarif`, `junit`, ...): those are returned as given.
    pub fn canonical_name(s: &str) -> &str {
        match s {
            "txt" | "table" | "human" | "plain" => "text",
            "markdown" => "md",
            "mmd" => "mermaid",
            "yml" => "yaml",
            "ndjson" => "jsonl",
            other => other,
        }
    }
}

impl FromStr for OutputFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match OutputFormat::canonical_name(s) {
            "text" => OutputFormat::Text,
            "wide" => OutputFormat::Wide,
            "json" => OutputFormat::Json,
            "yaml" => OutputFormat::Yaml,
            "jsonl" => OutputFormat::Jsonl,
            "csv" => OutputFormat::Csv,
            "md" => OutputFormat::Md,
            "dot" => OutputFormat::Dot,
            "svg" => OutputFormat::Svg,
            "mermaid" => OutputFormat::Mermaid,
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
