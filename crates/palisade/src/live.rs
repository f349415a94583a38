//! Live sources for the commands: the running cluster (`--live`) as loader inputs, and the
//! Hubble Relay options (`--hubble-relay`).

use crate::args::{ClusterArgs, LoadArgs, RelayArgs};
use anyhow::Context;
use palisade_live::cluster::{ClusterOptions, ClusterSnapshot};
use palisade_live::relay::RelayOptions;
use palisade_load::Input;

/// The reader's options from kubectl-style flags.
pub fn cluster_options(
    cluster: &ClusterArgs,
    namespace: Option<&str>,
    keep_going: bool,
) -> ClusterOptions {
    ClusterOptions {
        kubeconfig: cluster.kubeconfig.as_ref().map(Into::into),
        context: cluster.context.clone(),
        namespace: namespace.map(str::to_string),
        all_namespaces: cluster.all_namespaces,
        page_size: 0,
        keep_going,
    }
}

/// Reads the cluster (blocking), printing the reader's warnings to stderr.
pub fn read_cluster(opts: &ClusterOptions) -> anyhow::Result<ClusterSnapshot> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the Kubernetes client's runtime")?;
    let snapshot = runtime.block_on(palisade_live::cluster::read_cluster(opts))?;
    for w in &snapshot.warnings {
        eprintln!("palisade: warning: {w}");
    }
    Ok(snapshot)
}

/// The snapshot as loader inputs: one `List` per namespace (cluster-scoped objects first),
/// named `live/<namespace>.json` in diagnostics; pretty-printed so lines mean something.
pub fn snapshot_inputs(snapshot: &ClusterSnapshot) -> Vec<Input> {
    snapshot
        .by_namespace()
        .into_iter()
        .map(|(ns, objects)| Input::Text {
            name: format!("live/{}.json", ns.as_deref().unwrap_or("_cluster")),
            text: serde_json::to_string_pretty(&ClusterSnapshot::list_of(&objects))
                .unwrap_or_default(),
        })
        .collect()
}

/// The cluster as loader inputs when `--live` is set (none otherwise).
pub fn live_inputs(load: &LoadArgs, namespace: Option<&str>) -> anyhow::Result<Vec<Input>> {
    if !load.live {
        return Ok(Vec::new());
    }
    let snapshot = read_cluster(&cluster_options(&load.cluster, namespace, load.keep_going))
        .context("--live")?;
    Ok(snapshot_inputs(&snapshot))
}

/// Relay options; the address defaults to `HUBBLE_SERVER`, then `localhost:4245` (hubble's).
pub fn relay_options(args: &RelayArgs) -> RelayOptions {
    let address = match args.hubble_relay.as_deref() {
        Some(a) if !a.is_empty() => a.to_string(),
        _ => std::env::var("HUBBLE_SERVER")
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "localhost:4245".to_string()),
    };
    RelayOptions {
        address,
        tls: args.tls,
        tls_ca_cert_files: args.tls_ca_cert_files.iter().map(Into::into).collect(),
        tls_client_cert_file: args.tls_client_cert_file.as_ref().map(Into::into),
        tls_client_key_file: args.tls_client_key_file.as_ref().map(Into::into),
        tls_server_name: args.tls_server_name.clone(),
    }
}
