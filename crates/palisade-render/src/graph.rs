//! The one SVG drawer: columns of boxes and curved arrows, shared by `connectivity -o svg`
//! and `map -o svg`.

use std::fmt::Write;

pub(crate) fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A node of a drawing.
pub(crate) struct GraphNode<'a> {
    /// Full name (tooltip).
    pub name: &'a str,
    /// Text in the box.
    pub short: &'a str,
    /// The column (namespace) it is drawn in; `None` for the last, `external` column.
    pub column: Option<&'a str>,
    /// Drawn dashed and grey.
    pub external: bool,
}

/// An arrow of a drawing.
pub(crate) struct GraphEdge {
    /// Source node index.
    pub src: usize,
    /// Destination node index.
    pub dst: usize,
    /// Text on the arrow and in its tooltip.
    pub label: String,
    /// A colour other than the default grey, and whether dashed.
    pub stroke: Option<(&'static str, bool)>,
}

/// A self-contained drawing: one column per namespace (external ranges in the last column),
/// one box per endpoint, one curved arrow per connection. Labels are in each arrow's tooltip,
/// and written on the arrow when the graph is sparse enough for labels not to collide.
/// Deterministic: the layout depends only on the order of the nodes. `what` names the
/// arrows in the note shown when they are too many to label.
pub(crate) fn svg(out: &mut String, nodes: &[GraphNode<'_>], edges: &[GraphEdge], what: &str) {
    const BOX_W: usize = 210;
    const BOX_H: usize = 26;
    const ROW: usize = 48;
    const COL: usize = 330;
    const TOP: usize = 60;
    const LEFT: usize = 30;
    let mut columns: Vec<(String, Vec<usize>)> = Vec::new();
    let mut external: Vec<usize> = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let Some(ns) = node.column else {
            external.push(i);
            continue;
        };
        let ns = ns.to_string();
        match columns.iter_mut().find(|(n, _)| *n == ns) {
            Some((_, members)) => members.push(i),
            None => columns.push((ns, vec![i])),
        }
    }
    if !external.is_empty() {
        columns.push(("external".to_string(), external));
    }
    let mut position = vec![(0usize, 0usize); nodes.len()];
    for (c, (_, members)) in columns.iter().enumerate() {
        for (r, &m) in members.iter().enumerate() {
            position[m] = (LEFT + c * COL, TOP + r * ROW);
        }
    }
    let rows = columns.iter().map(|(_, m)| m.len()).max().unwrap_or(0);
    let width = LEFT * 2 + columns.len().max(1) * COL;
    let height = TOP + rows * ROW + 40;
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">"
    );
    out.push_str("  <defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M 0 0 L 10 5 L 0 10 z\" fill=\"#555\"/></marker></defs>\n");
    out.push_str("  <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
    for (c, (ns, _)) in columns.iter().enumerate() {
        let _ = writeln!(
            out,
            "  <text x=\"{}\" y=\"{}\" font-weight=\"bold\" font-size=\"14\">{}</text>",
            LEFT + c * COL,
            TOP - 20,
            xml_escape(ns)
        );
    }
    const MAX_LABELLED: usize = 30;
    let labelled = edges.len() <= MAX_LABELLED;
    if !labelled {
        let _ = writeln!(
            out,
            "  <text x=\"{LEFT}\" y=\"{}\" fill=\"#666\">{} {what}: hover an arrow for its ports.</text>",
            height - 12,
            edges.len()
        );
    }
    // Edges first, so boxes are drawn over them.
    for conn in edges {
        let (sx, sy) = position[conn.src];
        let (dx, dy) = position[conn.dst];
        let (x1, y1) = (sx + BOX_W, sy + BOX_H / 2);
        let (x2, y2) = (dx, dy + BOX_H / 2);
        // Same column, or leftwards: bend out to the right so the arrow stays readable.
        let bend = if x2 > x1 {
            (x2 - x1) / 2
        } else {
            80 + (y1.abs_diff(y2)) / 4
        };
        let label = xml_escape(&conn.label);
        let (lx, ly) = (
            (x1 + x2) / 2 + if x2 > x1 { 0 } else { bend / 2 },
            (y1 + y2) / 2,
        );
        let text = if labelled {
            format!(
                "<text x=\"{lx}\" y=\"{ly}\" font-size=\"10\" fill=\"#333\" text-anchor=\"middle\">{label}</text>"
            )
        } else {
            String::new()
        };
        let stroke = match conn.stroke {
            None => "stroke=\"#555\"".to_string(),
            Some((colour, false)) => format!("stroke=\"{colour}\""),
            Some((colour, true)) => format!("stroke=\"{colour}\" stroke-dasharray=\"5 3\""),
        };
        let _ = writeln!(
            out,
            "  <g><title>{} -> {}: {label}</title><path d=\"M {x1} {y1} C {} {y1}, {} {y2}, {x2} {y2}\" fill=\"none\" {stroke} stroke-opacity=\"0.6\" marker-end=\"url(#arrow)\"/>{text}</g>",
            xml_escape(nodes[conn.src].name),
            xml_escape(nodes[conn.dst].name),
            x1 + bend,
            x2.saturating_sub(if x2 > x1 { bend } else { 40 }),
        );
    }
    for (i, node) in nodes.iter().enumerate() {
        let (x, y) = position[i];
        let external = node.external;
        let short = node.short;
        let _ = writeln!(
            out,
            "  <g><title>{}</title><rect x=\"{x}\" y=\"{y}\" width=\"{BOX_W}\" height=\"{BOX_H}\" rx=\"6\" fill=\"{}\" stroke=\"#333\"{}/><text x=\"{}\" y=\"{}\">{}</text></g>",
            xml_escape(node.name),
            if external { "#f4f4f4" } else { "#e8f0fe" },
            if external {
                " stroke-dasharray=\"4 3\""
            } else {
                ""
            },
            x + 8,
            y + 17,
            xml_escape(short)
        );
    }
    out.push_str("</svg>\n");
}
