//! `palisade connectivity`: every allowed pair with its exact ports.

use crate::args::ConnectivityArgs;
use crate::input::{format, load_inputs, rendered};
use crate::output::{emit, emit_err};
use crate::select::{Selection, without_headers};
use palisade_engine::connectivity::{Connectivity, Peer};
use palisade_engine::{Engine, Uncertainty, connectivity};
use palisade_render::OutputFormat;
use palisade_render::connectivity::PeerNotes;
use std::process::ExitCode;

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
        ],
    )?;
    let loaded = load_inputs(&args.input)?;
    let selection = Selection::new(args.input.ns.namespace.as_deref(), Some(&args.select))?;
    selection.warn_if_unknown(&loaded.model);
    let engine = Engine::new(&loaded.model);
    let mut result = connectivity::compute(&loaded.model, &engine, args.level.into());
    if !selection.is_everything() {
        let names = selection.peer_names(&loaded.model);
        result = restrict(result, |peer| names.contains(&peer.name));
    }
    // External fragments per peer as one canonical CIDR list (every format).
    let result = palisade_render::connectivity::merge_external(&result);
    let uncertainty = Uncertainty::new(&loaded.model);
    let notes = PeerNotes::new(&loaded.model, &result, &uncertainty);
    let uncertain_peers = notes.uncertain.iter().filter(|u| !u.is_empty()).count();
    if uncertain_peers > 0 {
        emit_err(
            &format!(
                "palisade: note: {uncertain_peers} of {} peers may be selected by policies \
                 Palisade does not evaluate: every pair involving them, listed or not, is \
                 uncertain (the txt, md, csv and json outputs mark the listed ones)\n",
                result.peers.len()
            ),
            palisade_render::Style::PLAIN,
        );
    }
    let mut text = rendered(output, |f| {
        palisade_render::connectivity::render_with(&result, f, &notes)
    })?;
    if args.table.no_headers && matches!(output, OutputFormat::Csv | OutputFormat::Wide) {
        text = without_headers(text, 1);
    }
    emit(&text, palisade_render::Style::PLAIN)?;
    Ok(ExitCode::SUCCESS)
}

/// The connections with at least one end selected (`-n`, `-l`): traffic into and out of the
/// selection, from and to anything. Peers keep their order; unconnected selected peers stay
/// (a graph shows them as isolated nodes).
fn restrict(result: Connectivity, selected: impl Fn(&Peer) -> bool) -> Connectivity {
    let chosen: Vec<bool> = result.peers.iter().map(&selected).collect();
    let connections: Vec<_> = result
        .connections
        .into_iter()
        .filter(|c| chosen[c.src] || chosen[c.dst])
        .collect();
    let mut used = chosen;
    for c in &connections {
        used[c.src] = true;
        used[c.dst] = true;
    }
    let mut index = vec![usize::MAX; result.peers.len()];
    let mut peers = Vec::new();
    for (i, peer) in result.peers.into_iter().enumerate() {
        if used[i] {
            index[i] = peers.len();
            peers.push(peer);
        }
    }
    Connectivity {
        peers,
        connections: connections
            .into_iter()
            .map(|mut c| {
                c.src = index[c.src];
                c.dst = index[c.dst];
                c
            })
            .collect(),
    }
}
