//! `palisade_spark._native`: Palisade's batch functions over pyarrow record batches.
//!
//! Record batches cross the boundary through the Arrow C data interface (pyo3-arrow):
//! no copy in, one copy out only of what Rust builds.
//!
//! A [`Model`] is loaded once per Python worker from the manifests' text (the snapshot the
//! job broadcasts) and lives as long as the worker: it is leaked on purpose, so that the
//! compiled policies (`Replayer<'static>`) can be kept between partitions without a
//! self-referential struct. A worker loads one model (two with a proposal) per job.

use std::sync::Mutex;
use std::time::Duration;

use palisade_columnar::{CaptureContext, PartitionSessionizer, VerdictFunction};
use palisade_flows::ReplyNodes;
use palisade_load::{Input, LoadOptions};
use palisade_replay::{DenyAction, Replayer};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3_arrow::{PyRecordBatch, PySchema};

/// The snapshot format this module reads (`palisade-spark` writes it on the driver).
const SNAPSHOT_FORMAT: u32 = 1;

fn load(inputs: Vec<(String, String)>, default_namespace: &str, what: &str) -> PyResult<&'static palisade_model::Model> {
    let inputs: Vec<Input> = inputs
        .into_iter()
        .map(|(name, text)| Input::Text { name, text })
        .collect();
    let loaded = palisade_load::load(
        &inputs,
        &LoadOptions {
            default_namespace: default_namespace.to_string(),
            ..LoadOptions::default()
        },
    );
    check(&loaded, what)?;
    Ok(Box::leak(Box::new(loaded.model)))
}

fn check(loaded: &palisade_load::Loaded, what: &str) -> PyResult<()> {
    if loaded.has_errors() {
        let errors: Vec<String> = loaded
            .diagnostics
            .iter()
            .filter(|d| d.severity == palisade_load::Severity::Error)
            .take(5)
            .map(|d| {
                let at = d
                    .span
                    .map(|s| loaded.model.sources.location(s))
                    .map(|l| format!("{}:{}: ", l.file, l.line))
                    .unwrap_or_default();
                format!("{at}{}", d.message)
            })
            .collect();
        return Err(PyValueError::new_err(format!(
            "{what} did not load: {}",
            errors.join("; ")
        )));
    }
    Ok(())
}

/// The cluster model (and a proposal), loaded once per worker.
#[pyclass(frozen)]
struct Model {
    current: &'static palisade_model::Model,
    proposed: Option<&'static palisade_model::Model>,
    deny: DenyAction,
    /// A compiled replayer kept between partitions (taken by a sessionizer, given back on
    /// finish).
    replayer: Mutex<Option<Replayer<'static>>>,
}

impl Model {
    fn replayer(&self) -> Replayer<'static> {
        if let Some(r) = self.replayer.lock().ok().and_then(|mut r| r.take()) {
            return r;
        }
        let r = Replayer::new(self.current, self.deny);
        match self.proposed {
            Some(p) => r.with_proposed(p),
            None => r,
        }
    }

    fn give_back(&self, r: Replayer<'static>) {
        if let Ok(mut slot) = self.replayer.lock() {
            *slot = Some(r);
        }
    }
}

#[pymethods]
impl Model {
    /// `Model(snapshot)`: a snapshot is `{"format": 1, "cluster": [(name, text), ...],
    /// "proposed": [(name, text), ...] | None, "default_namespace": str,
    /// "deny_action": "drop" | "reject"}`.
    #[new]
    #[pyo3(signature = (format, cluster, proposed=None, default_namespace="default".to_string(), deny_action="drop".to_string()))]
    fn new(
        format: u32,
        cluster: Vec<(String, String)>,
        proposed: Option<Vec<(String, String)>>,
        default_namespace: String,
        deny_action: String,
    ) -> PyResult<Self> {
        if format != SNAPSHOT_FORMAT {
            return Err(PyValueError::new_err(format!(
                "snapshot format {format} is not the one this module reads ({SNAPSHOT_FORMAT}): install the palisade-spark wheel of the same version on the driver and the workers"
            )));
        }
        let deny = match deny_action.as_str() {
            "drop" => DenyAction::Drop,
            "reject" => DenyAction::Reject,
            other => {
                return Err(PyValueError::new_err(format!(
                    "deny_action `{other}`: expected drop or reject"
                )));
            }
        };
        let current = load(cluster, &default_namespace, "the cluster manifests")?;
        let proposed = match proposed {
            Some(p) => Some(load(p, &default_namespace, "the proposed manifests")?),
            None => None,
        };
        Ok(Model {
            current,
            proposed,
            deny,
            replayer: Mutex::new(None),
        })
    }

    /// Pods in the cluster model.
    #[getter]
    fn pods(&self) -> usize {
        self.current.pods.len()
    }

    /// NetworkPolicies in the cluster model.
    #[getter]
    fn policies(&self) -> usize {
        self.current.policies.len()
    }
}

/// Per-flow verdicts: the verdict columns (`predicted`, `decided_by`, `proposed_predicted`,
/// `proposed_decided_by`, `change`) for the rows of a flow batch.
#[pyfunction]
fn verdicts(py: Python<'_>, model: &Model, batch: PyRecordBatch) -> PyResult<Py<PyAny>> {
    let batch = batch.into_inner();
    let mut f = VerdictFunction::new(model.replayer());
    let out = f
        .verdicts(&batch)
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(PyRecordBatch::new(out).into_pyarrow(py)?.unbind())
}

/// Sessionizes one partition's flows (every flow of its address pairs, in time order).
#[pyclass(unsendable)]
struct Sessionizer {
    model: Py<Model>,
    inner: Option<PartitionSessionizer<'static>>,
}

#[pymethods]
impl Sessionizer {
    /// `Sessionizer(model, timeout_ms=3000, reply_nodes=[(node | None, first_ns), ...],
    /// end_ns=...)`: `reply_nodes` are where the whole capture shows reply flows and
    /// `end_ns` the time of its last flow (the job computes both first). Without them the
    /// partition is taken for the whole capture.
    #[new]
    #[pyo3(signature = (model, timeout_ms=3000, reply_nodes=None, end_ns=None))]
    fn new(
        model: Py<Model>,
        timeout_ms: u64,
        reply_nodes: Option<Vec<(Option<String>, i64)>>,
        end_ns: Option<i64>,
    ) -> PyResult<Self> {
        if timeout_ms == 0 {
            return Err(PyValueError::new_err("timeout_ms must be positive"));
        }
        let capture = match (reply_nodes, end_ns) {
            (None, None) => None,
            (Some(nodes), Some(end_ns)) => {
                let mut reply_nodes = ReplyNodes::default();
                for (node, first) in nodes {
                    reply_nodes.note(node.as_deref(), first);
                }
                Some(CaptureContext {
                    reply_nodes,
                    end_ns,
                })
            }
            _ => {
                return Err(PyValueError::new_err(
                    "reply_nodes and end_ns describe the whole capture: give both or neither",
                ));
            }
        };
        let replayer = model.get().replayer();
        let inner = PartitionSessionizer::new(
            replayer,
            PartitionSessionizer::config(Duration::from_millis(timeout_ms)),
            capture,
        );
        Ok(Sessionizer {
            model,
            inner: Some(inner),
        })
    }

    /// Pushes a flow batch; returns the sessions that ended (a session batch, maybe empty).
    fn push(&mut self, py: Python<'_>, batch: PyRecordBatch) -> PyResult<Py<PyAny>> {
        let inner = self
            .inner
            .as_mut()
            .ok_or_else(|| PyRuntimeError::new_err("the sessionizer is finished"))?;
        let out = inner
            .push(batch.as_ref())
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok(PyRecordBatch::new(out).into_pyarrow(py)?.unbind())
    }

    /// Ends the partition: the sessions still open.
    fn finish(&mut self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let mut inner = self
            .inner
            .take()
            .ok_or_else(|| PyRuntimeError::new_err("the sessionizer is finished"))?;
        let out = inner.finish();
        let (malformed, samples) = (
            inner.counts().malformed,
            inner.counts().malformed_samples.clone(),
        );
        self.model.get().give_back(inner.into_replayer());
        if malformed > 0 {
            let first: Vec<String> = samples
                .iter()
                .take(3)
                .map(|p| format!("row {}: {}", p.line, p.message))
                .collect();
            return Err(PyValueError::new_err(format!(
                "{malformed} flow rows did not decode ({})",
                first.join("; ")
            )));
        }
        Ok(PyRecordBatch::new(out).into_pyarrow(py)?.unbind())
    }
}

/// The manifests under `paths` (files or directories, read exactly as `palisade replay
/// --cluster` reads them) as `[(name, text), ...]`: the snapshot the driver broadcasts.
/// Raises with file:line when they do not load.
#[pyfunction]
#[pyo3(signature = (paths, default_namespace="default".to_string()))]
fn read_manifests(paths: Vec<String>, default_namespace: String) -> PyResult<Vec<(String, String)>> {
    let inputs: Vec<Input> = paths
        .iter()
        .map(|p| Input::Path(std::path::PathBuf::from(p)))
        .collect();
    let loaded = palisade_load::load(
        &inputs,
        &LoadOptions {
            default_namespace,
            ..LoadOptions::default()
        },
    );
    check(&loaded, "the manifests")?;
    Ok(loaded
        .model
        .sources
        .iter()
        .map(|(_, f)| (f.path.clone(), f.text.to_string()))
        .collect())
}

/// The flow schema (docs/scale-out.md).
#[pyfunction]
fn flow_schema(py: Python<'_>) -> PyResult<Py<PyAny>> {
    Ok(PySchema::new(palisade_columnar::flow_schema())
        .into_pyarrow(py)?
        .unbind())
}

/// The session schema.
#[pyfunction]
fn session_schema(py: Python<'_>) -> PyResult<Py<PyAny>> {
    Ok(PySchema::new(palisade_columnar::session_schema())
        .into_pyarrow(py)?
        .unbind())
}

/// The verdict columns' schema.
#[pyfunction]
fn verdict_schema(py: Python<'_>) -> PyResult<Py<PyAny>> {
    Ok(PySchema::new(palisade_columnar::verdict_schema())
        .into_pyarrow(py)?
        .unbind())
}

/// A time (ns since the epoch) as `palisade replay` prints it (RFC 3339, UTC).
#[pyfunction]
fn format_time(ns: i64) -> String {
    palisade_flows::format_rfc3339(ns)
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Model>()?;
    m.add_class::<Sessionizer>()?;
    m.add_function(wrap_pyfunction!(verdicts, m)?)?;
    m.add_function(wrap_pyfunction!(flow_schema, m)?)?;
    m.add_function(wrap_pyfunction!(session_schema, m)?)?;
    m.add_function(wrap_pyfunction!(verdict_schema, m)?)?;
    m.add_function(wrap_pyfunction!(format_time, m)?)?;
    m.add_function(wrap_pyfunction!(read_manifests, m)?)?;
    m.add("SNAPSHOT_FORMAT", SNAPSHOT_FORMAT)?;
    Ok(())
}
