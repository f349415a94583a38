#!/usr/bin/env python3
"""Writes the fake API server's fixture for palisade-live's tests.

Each file under crates/palisade-live/tests/data/apiserver/ is one list response in the shape
`kubectl get --raw /api/v1/pods` returns (PodList with list metadata; items without
apiVersion/kind; server-set uid, resourceVersion, creationTimestamp, managedFields; status),
built from the web-shop example's manifests. No cluster was contacted: the shape follows the
Kubernetes API conventions, the content is the example's.

Run from the repository root: python3 scripts/make-apiserver-fixture.py (needs PyYAML).
"""
import json
import os
import uuid

import yaml

SOURCES = ["examples/webshop", "examples/webshop-traffic/cluster"]
OUT = "crates/palisade-live/tests/data/apiserver"
CREATED = "2026-09-20T14:00:00Z"

# kind -> (url path of the all-namespaces list, list kind)
PATHS = {
    "Namespace": ("api/v1/namespaces", "NamespaceList"),
    "Node": ("api/v1/nodes", "NodeList"),
    "Pod": ("api/v1/pods", "PodList"),
    "Service": ("api/v1/services", "ServiceList"),
    "Deployment": ("apis/apps/v1/deployments", "DeploymentList"),
    "StatefulSet": ("apis/apps/v1/statefulsets", "StatefulSetList"),
    "DaemonSet": ("apis/apps/v1/daemonsets", "DaemonSetList"),
    "ReplicaSet": ("apis/apps/v1/replicasets", "ReplicaSetList"),
    "Job": ("apis/batch/v1/jobs", "JobList"),
    "CronJob": ("apis/batch/v1/cronjobs", "CronJobList"),
    "NetworkPolicy": ("apis/networking.k8s.io/v1/networkpolicies", "NetworkPolicyList"),
}

NODES = [
    {"metadata": {"name": n, "labels": {"kubernetes.io/hostname": n}},
     "status": {"addresses": [{"type": "InternalIP", "address": ip}]}}
    for n, ip in [("worker-1", "172.18.0.2"), ("worker-2", "172.18.0.3")]
]


def docs():
    for root in SOURCES:
        for dirpath, _, files in sorted(os.walk(root)):
            for f in sorted(files):
                if f.endswith((".yaml", ".yml")):
                    with open(os.path.join(dirpath, f)) as fh:
                        for d in yaml.safe_load_all(fh):
                            if isinstance(d, dict) and d.get("kind") in PATHS:
                                yield d


def main():
    lists = {k: [] for k in PATHS}
    rv = 1000
    service_ip = 10
    seen = set()
    for d in list(docs()) + [dict(n, kind="Node", apiVersion="v1") for n in NODES]:
        kind = d.pop("kind")
        d.pop("apiVersion", None)
        meta = d.setdefault("metadata", {})
        if kind not in ("Namespace", "Node"):
            meta.setdefault("namespace", "default")
        key = (kind, meta.get("namespace"), meta["name"])
        if key in seen:
            continue
        seen.add(key)
        rv += 1
        meta["uid"] = str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(map(str, key))))
        meta["resourceVersion"] = str(rv)
        meta["creationTimestamp"] = CREATED
        meta["managedFields"] = [{
            "manager": "kubectl-client-side-apply", "operation": "Update",
            "apiVersion": "v1", "time": CREATED, "fieldsType": "FieldsV1",
            "fieldsV1": {"f:metadata": {}},
        }]
        if kind == "Namespace":
            meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta["name"]
            d["spec"] = {"finalizers": ["kubernetes"]}
            d["status"] = {"phase": "Active"}
        if kind == "Service" and d.get("spec", {}).get("type", "ClusterIP") == "ClusterIP" \
                and "clusterIP" not in d.get("spec", {}):
            service_ip += 1
            d["spec"]["clusterIP"] = f"10.96.0.{service_ip}"
            d["spec"]["clusterIPs"] = [d["spec"]["clusterIP"]]
        if kind in ("Deployment", "StatefulSet"):
            meta["generation"] = 1
            n = d.get("spec", {}).get("replicas", 1)
            d["status"] = {"observedGeneration": 1, "replicas": n, "readyReplicas": n}
        lists[kind].append(d)
    for kind, items in lists.items():
        path, list_kind = PATHS[kind]
        group_version = "v1" if path.startswith("api/") else "/".join(path.split("/")[1:3])
        body = {
            "kind": list_kind,
            "apiVersion": group_version,
            "metadata": {"resourceVersion": str(rv)},
            "items": items,
        }
        out = os.path.join(OUT, path + ".json")
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with open(out, "w") as fh:
            json.dump(body, fh, indent=1, sort_keys=False)
            fh.write("\n")


if __name__ == "__main__":
    main()
