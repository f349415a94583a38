//! `palisade connectivity`: every allowed pair with its exact ports.
//!
//! The answer is streamed: rows are written as the engine produces them (sources by name),
//! so memory is the class-level connectivity, never the answer (which can be billions of
//! pairs at workload level on a large cluster). Its size is known before the first row and
//! `--max-pairs` refuses an answer too big to be useful. `-n`/`-l` narrow each row as it
//! comes; external ranges are merged per source (see [`RowMerger`]), so the streamed output
//! is the collected one (`merge_external` over the whole answer) byte for byte. `wide`,
//! `yaml`, `dot` and `svg` need the whole answer and collect it first.

use crate::args::{ConnectivityArgs, ConnectivityLevel};
use crate::input::{format, load_inputs, rendered};
use crate::output::{SanitizedStdout, emit, emit_err};
use crate::progress::{self, Progress};
use crate::select::{selection, warn_if_empty, without_headers};
use anyhow::bail;
use palisade_engine::connectivity::{
    AnswerSize, Connection, Connectivity, ConnectivityStream, Level, Peer, PeerRef,
};
use palisade_engine::{Engine, Uncertainty};
use palisade_model::PortSet;
use palisade_render::OutputFormat;
use palisade_render::connectivity::{ConnectivityWriter, PeerNotes, merge_external};
use std::collections::{BTreeSet, HashMap};
use std::process::ExitCode;

/// Above this many connections, the size is said on stderr before the answer.
const ANNOUNCE_PAIRS: u64 = 1_000_000;

pub fn run(args: ConnectivityArgs) -> anyhow::Result<ExitCode> {
    let output = format(
        &args.output,
        &[
            OutputFormat::Text,
            OutputFormat::Csv,
            OutputFormat::Md,
            OutputFormat::Dot,
            OutputFormat::Svg,
            OutputFormat::Json,
            OutputFormat::Jsonl,
        ],
    )?;
    progress::configure(
        args.input.load.quiet,
        progress::is_machine_format(&args.output),
    );
    let loaded = load_inputs(&args.input)?;
    let model = &loaded.model;
    let selection = selection(args.input.ns.namespace.as_deref(), Some(&args.select))?;
    warn_if_empty(&selection, model);
    let engine = progress::phase("compiling policies", || Engine::new(model));
    let mut stream = progress::phase("computing class connectivity", || match args.level {
        ConnectivityLevel::Pod => ConnectivityStream::new(model, &engine, Level::Pod),
        ConnectivityLevel::Workload => ConnectivityStream::new(model, &engine, Level::Workload),
        ConnectivityLevel::Namespace => ConnectivityStream::namespaces(model, &engine),
    });
    // Which endpoints `-n`/`-l` choose (all without them): a row is shown when one end is.
    let mut names = selection.peer_names(model);
    if args.level == ConnectivityLevel::Namespace {
        let namespaces: Vec<String> = names
            .iter()
            .filter_map(|n| n.split_once('/').map(|(ns, _)| ns.to_string()))
            .collect();
        names.extend(namespaces);
    }
    let is_chosen = |p: &Peer| {
        selection.is_everything()
            || (!matches!(p.what, PeerRef::External(_)) && names.contains(&p.name))
    };
    let chosen: Vec<bool> = stream.peers().iter().map(is_chosen).collect();
    let mut size = stream.size();
    if !selection.is_everything() {
        // Only rows with a chosen end are written: at most every chosen endpoint to and from
        // every endpoint, which -n makes a small part of a large cluster's answer.
        let chosen_count = chosen.iter().filter(|&&c| c).count() as u64;
        let bound = (2 * chosen_count * size.endpoints as u64).min(size.max_pairs);
        if size.max_pairs > 0 {
            size.text_bytes =
                (size.text_bytes as u128 * bound as u128 / size.max_pairs as u128) as u64;
        }
        size.max_pairs = bound;
    }
    let level = match args.level {
        ConnectivityLevel::Pod => "pod",
        ConnectivityLevel::Workload => "workload",
        ConnectivityLevel::Namespace => "namespace",
    };
    if args.max_pairs > 0 && size.max_pairs > args.max_pairs {
        bail!(
            "the {level}-level answer has up to {} connections between {} endpoints (about {} as text; --max-pairs {}): {}, or raise --max-pairs (0: no limit)",
            group_digits(size.max_pairs),
            group_digits(size.endpoints as u64),
            human_bytes(size.text_bytes),
            group_digits(args.max_pairs),
            narrowing(args.level),
        );
    }
    if size.max_pairs > ANNOUNCE_PAIRS {
        announce(level, &size, args.level);
    }
    let uncertainty = Uncertainty::new(model);
    let result = if ConnectivityWriter::<SanitizedStdout>::streams(output) {
        let notes = PeerNotes::for_peers(model, stream.peers(), &uncertainty);
        stream_rows(&mut stream, output, &notes, &chosen, !args.table.no_headers)?
    } else {
        // wide, yaml, dot and svg need the whole answer: collected (only the rows with a
        // chosen end are kept), merged, drawn.
        let (result, _) = stream.collect_at_most(usize::MAX, is_chosen);
        let result = merge_external(&result);
        let notes = PeerNotes::new(model, &result, &uncertainty);
        let mut text = rendered(output, |f| {
            palisade_render::connectivity::render_with(&result, f, &notes)
        })?;
        if args.table.no_headers && output == OutputFormat::Wide {
            text = without_headers(text, 1);
        }
        emit(&text, palisade_render::Style::PLAIN)?;
        Counted {
            peers: result.peers.len(),
            uncertain: notes.uncertain.iter().filter(|u| !u.is_empty()).count(),
        }
    };
    if result.uncertain > 0 {
        emit_err(
            &format!(
                "palisade: note: {} of {} peers may be selected by policies \
                 Palisade does not evaluate: every pair involving them, listed or not, is \
                 uncertain (the txt, md, csv and json outputs mark the listed ones)\n",
                result.uncertain, result.peers
            ),
            palisade_render::Style::PLAIN,
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// What the uncertainty note counts: peers of the answer, and those marked uncertain.
struct Counted {
    peers: usize,
    uncertain: usize,
}

/// Writes the rows as they come, with a progress bar over the sources: narrowed to rows
/// with a chosen end, external ranges merged as [`merge_external`] merges them.
fn stream_rows(
    stream: &mut ConnectivityStream,
    output: OutputFormat,
    notes: &PeerNotes,
    chosen: &[bool],
    headers: bool,
) -> anyhow::Result<Counted> {
    let everything = chosen.iter().all(|&c| c);
    // Peers of the answer: internal ones chosen or connected to a chosen one (all of them
    // without -n/-l), and the external names written.
    let mut listed: Vec<bool> = stream
        .peers()
        .iter()
        .zip(chosen)
        .map(|(p, &c)| c && !matches!(p.what, PeerRef::External(_)))
        .collect();
    if !everything && output == OutputFormat::Csv {
        // csv's `uncertain` column is there when a peer of the answer is uncertain, which
        // the first row (or header) must know: a first pass finds the peers of the answer.
        let mut connected = listed.clone();
        stream.for_each(&mut |_, src, dst, _| {
            if chosen[src] || chosen[dst] {
                connected[src] = true;
                connected[dst] = true;
            }
            Ok::<(), std::convert::Infallible>(())
        })?;
        listed = connected;
    }
    let header_notes;
    let notes = if !everything && output == OutputFormat::Csv {
        // Only the answer's peers count for csv's column.
        let mut narrowed = notes.clone();
        for (i, u) in narrowed.uncertain.iter_mut().enumerate() {
            if !listed[i] {
                u.clear();
            }
        }
        header_notes = narrowed;
        &header_notes
    } else {
        notes
    };
    let mut writer = ConnectivityWriter::new(SanitizedStdout::new(), output, notes, headers)?;
    let mut merger = RowMerger::new(stream, chosen)?;
    let bar = Progress::items("connectivity", stream.sources() as u64, "sources");
    let mut used = vec![false; stream.peers().len()];
    let mut externals: BTreeSet<String> = BTreeSet::new();
    let written = {
        let mut write = |peers: &[Peer], row: Row<'_>| -> std::io::Result<()> {
            for (end, index) in [(row.src, row.src_index), (row.dst, row.dst_index)] {
                match index {
                    Some(i) if !matches!(peers[i].what, PeerRef::External(_)) => used[i] = true,
                    _ => {
                        externals.insert(end.to_string());
                    }
                }
            }
            writer.named(
                row.src,
                row.src_index.unwrap_or(usize::MAX),
                row.dst,
                row.dst_index.unwrap_or(usize::MAX),
                row.ports,
            )
        };
        let streamed = stream.for_each_with_progress(
            &mut |peers, src, dst, ports| merger.row(peers, src, dst, ports, &mut write),
            &mut |done, _| {
                if done % 64 == 0 {
                    bar.set_position(done as u64);
                }
            },
        );
        streamed.and_then(|()| merger.finish(stream.peers(), &mut write))
    };
    drop(bar);
    written?;
    let peers = stream.peers();
    let in_answer = |i: usize| {
        !matches!(peers[i].what, PeerRef::External(_)) && (everything || listed[i] || used[i])
    };
    writer.finish(peers, &in_answer)?;
    let internal = (0..peers.len()).filter(|&i| in_answer(i)).count();
    Ok(Counted {
        peers: internal + externals.len(),
        uncertain: (0..peers.len())
            .filter(|&i| in_answer(i) && !notes.uncertain[i].is_empty())
            .count(),
    })
}

/// One row to write: names, and the ends' indexes into the stream's peers (`None`: a merged
/// external range).
struct Row<'a> {
    src: &'a str,
    src_index: Option<usize>,
    dst: &'a str,
    dst_index: Option<usize>,
    ports: &'a PortSet,
}

/// Turns the stream's rows into the rows of `merge_external(restrict(answer))`, in its order
/// (sources by name, each source's destinations by name), holding one source's rows at a
/// time plus the rows from external ranges (computed first: merged, their sources' names
/// change, and with them their place among the sources).
struct RowMerger<'c> {
    chosen: &'c [bool],
    /// The current internal source and its rows (destination, ports).
    current: Option<usize>,
    group: Vec<(usize, PortSet)>,
    /// Rows from external ranges, merged and sorted, and how many are written.
    from_external: Connectivity,
    /// The internal peers of `from_external`, by name, as indexes into the stream's peers.
    external_index: HashMap<String, usize>,
    external_written: usize,
}

impl<'c> RowMerger<'c> {
    fn new(stream: &mut ConnectivityStream, chosen: &'c [bool]) -> std::io::Result<Self> {
        let mut rows: Vec<(usize, usize, PortSet)> = Vec::new();
        stream.for_each_external_source(&mut |_, src, dst, ports| {
            if chosen[src] || chosen[dst] {
                rows.push((src, dst, ports.clone()));
            }
            Ok::<(), std::io::Error>(())
        })?;
        let (sub, index) = sub_answer(stream.peers(), &rows);
        let external_index = index
            .into_iter()
            .map(|(name, i)| (name.to_string(), i))
            .collect();
        Ok(RowMerger {
            chosen,
            current: None,
            group: Vec::new(),
            from_external: merge_external(&sub),
            external_index,
            external_written: 0,
        })
    }

    fn row(
        &mut self,
        peers: &[Peer],
        src: usize,
        dst: usize,
        ports: &PortSet,
        write: &mut dyn FnMut(&[Peer], Row<'_>) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        if matches!(peers[src].what, PeerRef::External(_)) {
            // Written from `from_external`, in their merged names' places.
            return Ok(());
        }
        if !(self.chosen[src] || self.chosen[dst]) {
            return Ok(());
        }
        if self.current != Some(src) {
            self.flush(peers, write)?;
            self.current = Some(src);
        }
        self.group.push((dst, ports.clone()));
        Ok(())
    }

    fn finish(
        &mut self,
        peers: &[Peer],
        write: &mut dyn FnMut(&[Peer], Row<'_>) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        self.flush(peers, write)?;
        self.external_until(None, peers, write)
    }

    /// Writes the rows from external ranges whose source sorts before `name` (all: `None`).
    fn external_until(
        &mut self,
        name: Option<&str>,
        peers: &[Peer],
        write: &mut dyn FnMut(&[Peer], Row<'_>) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        let merged = &self.from_external;
        while let Some(c) = merged.connections.get(self.external_written) {
            let src = &merged.peers[c.src].name;
            if name.is_some_and(|name| src.as_str() >= name) {
                break;
            }
            let index = |name: &str| self.external_index.get(name).copied();
            write_merged(peers, merged, c, &index, write)?;
            self.external_written += 1;
        }
        Ok(())
    }

    /// Writes the current source's rows, its external destinations merged.
    fn flush(
        &mut self,
        peers: &[Peer],
        write: &mut dyn FnMut(&[Peer], Row<'_>) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        let Some(src) = self.current.take() else {
            return Ok(());
        };
        self.external_until(Some(&peers[src].name), peers, write)?;
        let group = std::mem::take(&mut self.group);
        if !group
            .iter()
            .any(|(dst, _)| matches!(peers[*dst].what, PeerRef::External(_)))
        {
            // Nothing to merge: as the engine produced them.
            for (dst, ports) in &group {
                write(
                    peers,
                    Row {
                        src: &peers[src].name,
                        src_index: Some(src),
                        dst: &peers[*dst].name,
                        dst_index: Some(*dst),
                        ports,
                    },
                )?;
            }
            return Ok(());
        }
        let rows: Vec<(usize, usize, PortSet)> = group
            .into_iter()
            .map(|(dst, ports)| (src, dst, ports))
            .collect();
        let (sub, index) = sub_answer(peers, &rows);
        let merged = merge_external(&sub);
        for c in &merged.connections {
            write_merged(peers, &merged, c, &|name| index.get(name).copied(), write)?;
        }
        Ok(())
    }
}

/// A small answer of the given rows (ends: indexes into `peers`), with only their peers, and
/// its internal peers' names back to their indexes into `peers`.
fn sub_answer<'p>(
    peers: &'p [Peer],
    rows: &[(usize, usize, PortSet)],
) -> (Connectivity, HashMap<&'p str, usize>) {
    let mut place_of: HashMap<usize, usize> = HashMap::new();
    let mut by_name: HashMap<&'p str, usize> = HashMap::new();
    let mut sub = Connectivity {
        peers: Vec::new(),
        connections: Vec::with_capacity(rows.len()),
    };
    let mut place = |i: usize, sub_peers: &mut Vec<Peer>| {
        *place_of.entry(i).or_insert_with(|| {
            if !matches!(peers[i].what, PeerRef::External(_)) {
                by_name.insert(peers[i].name.as_str(), i);
            }
            sub_peers.push(peers[i].clone());
            sub_peers.len() - 1
        })
    };
    for (src, dst, ports) in rows {
        let src = place(*src, &mut sub.peers);
        let dst = place(*dst, &mut sub.peers);
        sub.connections.push(Connection {
            src,
            dst,
            ports: ports.clone(),
        });
    }
    (sub, by_name)
}

/// Writes a row of a merged sub-answer; `index` gives its internal peers' stream indexes.
fn write_merged(
    peers: &[Peer],
    merged: &Connectivity,
    c: &Connection,
    index: &dyn Fn(&str) -> Option<usize>,
    write: &mut dyn FnMut(&[Peer], Row<'_>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let (s, d) = (&merged.peers[c.src].name, &merged.peers[c.dst].name);
    write(
        peers,
        Row {
            src: s,
            src_index: index(s),
            dst: d,
            dst_index: index(d),
            ports: &c.ports,
        },
    )
}

/// Says how big the answer is before producing it.
fn announce(level: &str, size: &AnswerSize, chosen: ConnectivityLevel) {
    emit_err(
        &format!(
            "palisade: note: the {level}-level answer has up to {} connections (about {} as text), written as they are computed; {}\n",
            group_digits(size.max_pairs),
            human_bytes(size.text_bytes),
            narrowing(chosen),
        ),
        palisade_render::Style::PLAIN,
    );
}

/// How to ask for a smaller answer.
fn narrowing(level: ConnectivityLevel) -> &'static str {
    match level {
        ConnectivityLevel::Namespace => {
            "narrow it with -n NAMESPACE or -l SELECTOR, or split the manifests"
        }
        _ => "narrow it with -n NAMESPACE or -l SELECTOR, or ask for --level namespace",
    }
}

/// `1234567` → `1,234,567`.
fn group_digits(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Bytes in B, kB, MB, GB or TB (powers of 1000).
fn human_bytes(n: u64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB", "PB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < units.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", units[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(group_digits(0), "0");
        assert_eq!(group_digits(999), "999");
        assert_eq!(group_digits(1000), "1,000");
        assert_eq!(group_digits(268_000_123), "268,000,123");
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1_500), "1.5 kB");
        assert_eq!(human_bytes(23_400_000_000), "23.4 GB");
    }
}
