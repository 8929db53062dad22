"""The HandTracker API versions on a real API server: a v1alpha1 object read back at
v1beta1, and the operator's storage migration at start-up.

What the API server has in storage is read from etcd itself (its JSON carries the
apiVersion the object was encoded at). The migration cases change the CRD, so they run on
the second control plane, and put its CRD back as crds/handtrackers.yaml has it.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from handtracker_operator import identity

from hack import controlplane
from hack.controlplane.components import Layout
from tests.fixtures.cluster import Kubectl
from tests.fixtures.operator import CRD, children, wait_condition
from tests.support.manifests import handtracker
from tests.support.waiting import eventually

SMALL = {"replicas": 1, "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}}}
CRD_NAME = "handtrackers.handtracking.dev"
MIGRATION_METRIC = "handtracker_operator_storage_migration"


# -- helpers --------------------------------------------------------------------------------

def crd_storing(storage: str, extra: tuple[str, ...] = ()) -> dict[str, Any]:
    """crds/handtrackers.yaml with its storage version moved to `storage`, and `extra`
    versions (same schema) added, as an older or a newer release would have it."""
    crd = yaml.safe_load(CRD.read_text())
    versions = crd["spec"]["versions"]
    for name in extra:
        versions.append({**copy.deepcopy(versions[0]), "name": name})
    for version in versions:
        version["storage"] = version["name"] == storage
    return crd


def install(kubectl: Kubectl, crd: dict[str, Any]) -> None:
    kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", input=json.dumps(crd))
    kubectl("wait", "--for=condition=Established", f"crd/{CRD_NAME}", "--timeout=60s")


def stored_versions(kubectl: Kubectl) -> list[str]:
    return kubectl.json("get", "crd", CRD_NAME)["status"]["storedVersions"]


def encoded_at(cluster: controlplane.Cluster, namespace: str, name: str) -> str:
    """The apiVersion a HandTracker is encoded at in etcd."""
    ports = json.loads(Layout(cluster.state_dir).state_file.read_text())["ports"]
    key = f"/registry/{identity.GROUP}/{identity.PLURAL}/{namespace}/{name}".encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{ports['etcd_client']}/v3/kv/range", method="POST",
        data=json.dumps({"key": base64.b64encode(key).decode()}).encode())
    with urllib.request.urlopen(request, timeout=10) as answer:
        (kv,) = json.load(answer)["kvs"]
    return json.loads(base64.b64decode(kv["value"]))["apiVersion"]


def at(version: str, name: str, **spec: Any) -> dict[str, Any]:
    return {**handtracker(name, **{**SMALL, **spec}),
            "apiVersion": f"{identity.GROUP}/{version}"}


def as_read(kubectl: Kubectl, namespace: str) -> dict[str, Any]:
    """Each HandTracker at v1beta1 without what any write changes (and status, which the
    operator writes): what a storage migration must leave as it was."""
    items = kubectl.json("get", f"{identity.PLURAL}.v1beta1.{identity.GROUP}",
                         "-n", namespace)["items"]
    kept = {}
    for item in items:
        meta = {k: v for k, v in item["metadata"].items()
                if k not in ("resourceVersion", "managedFields")}
        kept[meta["name"]] = {"apiVersion": item["apiVersion"], "metadata": meta,
                              "spec": item["spec"]}
    return kept


# -- both versions served -------------------------------------------------------------------

def test_a_v1alpha1_object_is_stored_and_read_at_v1beta1(cluster: Any, crd: None,
                                                          kubectl: Kubectl,
                                                          namespace: str) -> None:
    answer = cluster.kubectl("apply", "-n", namespace, "-f", "-", check=False,
                             input=json.dumps(at("v1alpha1", "old", model={"maxHands": 1})))
    assert answer.returncode == 0, answer.stderr
    assert "handtracking.dev/v1alpha1 HandTracker is deprecated; use handtracking.dev/v1beta1" \
        in answer.stderr  # the CRD's deprecationWarning, printed by kubectl
    read = kubectl.json("get", f"{identity.PLURAL}.v1beta1.{identity.GROUP}", "old",
                        "-n", namespace)
    assert read["apiVersion"] == "handtracking.dev/v1beta1"
    assert read["spec"]["model"]["maxHands"] == 1 and read["spec"]["replicas"] == 1
    assert encoded_at(cluster, namespace, "old") == "handtracking.dev/v1beta1"
    old = kubectl.json("get", f"{identity.PLURAL}.v1alpha1.{identity.GROUP}", "old",
                       "-n", namespace)
    assert old["apiVersion"] == "handtracking.dev/v1alpha1" and old["spec"] == read["spec"]


# -- the storage migration (second control plane) -----------------------------------------

@pytest.fixture
def skubectl(second_cluster: controlplane.Cluster) -> Iterator[Kubectl]:
    """kubectl on the second control plane, whose CRD is put back afterwards: the test's
    HandTrackers deleted, every other one written again at v1beta1, storedVersions set to
    it and crds/handtrackers.yaml applied (a version may leave spec.versions only once
    it has left storedVersions)."""
    kubectl = Kubectl(second_cluster)
    yield kubectl
    kubectl("delete", "namespace", "api-versions", "--ignore-not-found", "--timeout=120s")
    for item in kubectl.json("get", identity.PLURAL, "-A")["items"]:
        kubectl("replace", "-f", "-", input=json.dumps(item))
    kubectl("patch", "crd", CRD_NAME, "--subresource=status", "--type=merge",
            "-p", json.dumps({"status": {"storedVersions": [identity.VERSION]}}))
    install(kubectl, yaml.safe_load(CRD.read_text()))
    # kubectl caches discovery: a test's `kubectl get ht` must not look for a v1 that is
    # gone (api-resources reads discovery afresh and caches it).
    eventually(lambda: kubectl("api-resources", f"--api-group={identity.GROUP}", "-o", "wide")
               .count(f"{identity.GROUP}/{identity.VERSION}") == 1, timeout=30,
               message="discovery without the test's versions")


@pytest.fixture
def ns(skubectl: Kubectl) -> str:
    skubectl("create", "namespace", "api-versions")
    eventually(lambda: skubectl("get", "serviceaccount", "default", "-n", "api-versions"),
               timeout=30)
    return "api-versions"


def test_objects_stored_at_v1alpha1_are_migrated_at_start_up(
        second_cluster: controlplane.Cluster, skubectl: Kubectl, ns: str,
        start_operator: Any) -> None:
    install(skubectl, crd_storing("v1alpha1"))  # the CRD of the previous release
    for manifest in (at("v1alpha1", "a"), at("v1alpha1", "b", replicas=0),
                     at("v1beta1", "c", model={"complexity": "lite"})):
        skubectl.apply(manifest, ns)
    names = ("a", "b", "c")
    assert {encoded_at(second_cluster, ns, n) for n in names} == {"handtracking.dev/v1alpha1"}
    assert "v1alpha1" in stored_versions(skubectl)
    before = as_read(skubectl, ns)

    install(skubectl, yaml.safe_load(CRD.read_text()))  # upgraded: stores at v1beta1
    # An operator that watches some namespaces cannot list the others: it says so and
    # leaves storedVersions alone.
    scoped = start_operator(second_cluster, "--namespace", ns)
    eventually(lambda: scoped.metric(MIGRATION_METRIC, state="partial_scope") == 1,
               timeout=30, message="the partial scope reported")
    assert re.search(r"WARNING .*this operator watches only namespace\(s\) api-versions",
                     scoped.log.read_text())
    scoped.stop()
    assert "v1alpha1" in stored_versions(skubectl)

    operator = start_operator(second_cluster)  # the whole cluster: it can migrate
    eventually(lambda: stored_versions(skubectl) == ["v1beta1"], timeout=60,
               message="storedVersions [v1beta1]")
    assert {encoded_at(second_cluster, ns, n) for n in names} == {"handtracking.dev/v1beta1"}
    assert as_read(skubectl, ns) == before  # rewritten, not changed
    assert re.search(r"Migrated \d+ HandTracker\(s\) to v1beta1 and set storedVersions of "
                     r"handtrackers.handtracking.dev to \[v1beta1\]", operator.log.read_text())
    assert operator.metric(MIGRATION_METRIC, state="current") == 1
    wait_condition(skubectl, ns, "a")  # and it reconciles them as before


def test_an_unknown_stored_version_is_reported_and_nothing_is_migrated(
        second_cluster: controlplane.Cluster, skubectl: Kubectl, ns: str,
        start_operator: Any) -> None:
    install(skubectl, crd_storing("v1", extra=("v1",)))  # a newer release's CRD
    skubectl.apply(at("v1", "newer"), ns)
    # Downgraded: this release's storage version, v1 still listed (it is in storage).
    install(skubectl, crd_storing("v1beta1", extra=("v1",)))
    stored = stored_versions(skubectl)
    assert "v1" in stored

    operator = start_operator(second_cluster)
    eventually(lambda: operator.metric(MIGRATION_METRIC, state="unknown_version") == 1,
               timeout=30, message="the unknown version reported")
    log = operator.log.read_text()
    assert re.search(r"ERROR .*CustomResourceDefinition handtrackers.handtracking.dev lists "
                     r"storedVersions v1, which this operator does not know", log), log[-2000:]
    skubectl.apply(at("v1beta1", "known"), ns)  # it keeps serving the versions it knows
    wait_condition(skubectl, ns, "known")
    assert {"ConfigMap", "Deployment", "Service"} <= set(children(skubectl, ns, "known"))
    time.sleep(2)  # a migration would have written by now
    # Even once the operator's status writes have re-encoded "newer" at v1beta1: only a
    # migration that knows every version may say nothing is left at v1.
    assert stored_versions(skubectl) == stored
    assert operator.healthy() and "Traceback" not in operator.log.read_text()
