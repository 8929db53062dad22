"""The reconciler against an in-memory Kubernetes: the store is fed as a watch would feed
it, and the fake API counts every call. Covers create, the steady state (no reads, no
writes), drift, a spec change, an invalid spec, a write failing halfway, and a
HandTracker deleted before its status is written."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Mapping
from typing import Any

import pytest
from handtracker_operator import conflicts, identity
from handtracker_operator.conflicts import Conflicts
from handtracker_operator.errors import ApplyFailed, NotFound
from handtracker_operator.events import Event
from handtracker_operator.metrics import Metrics
from handtracker_operator.reconcile import Reconciler
from handtracker_operator.store import Store


class FakeKube:
    """Writes only, like the operator's Kube once reads come from the store. Each change
    is delivered to the store as the watch would deliver it."""

    def __init__(self, store: Store) -> None:
        self.stores = [store]  # each reconciler's own store, fed by the same "watch"
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.versions = itertools.count(100)
        self.writes: list[tuple[str, str, str]] = []
        self.events: list[Event] = []
        self.fail_apply: set[str] = set()  # kinds whose apply fails
        self.status_gone = False

    def _stored(self, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
        obj["metadata"]["resourceVersion"] = str(next(self.versions))
        meta = obj["metadata"]
        self.objects[(kind, meta["namespace"], meta["name"])] = obj
        for store in self.stores:
            store.event(kind, "MODIFIED", copy.deepcopy(obj))
        return copy.deepcopy(obj)

    def create_handtracker(self, name: str, spec: Mapping[str, Any]) -> None:
        self._stored(identity.KIND, {
            "apiVersion": identity.API_VERSION, "kind": identity.KIND,
            "metadata": {"name": name, "namespace": "ns", "uid": f"uid-{name}",
                         "generation": 1},
            "spec": dict(spec),
        })

    def edit(self, kind: str, name: str, change: Any) -> None:
        """A change made by someone else (kubectl, a controller)."""
        obj = copy.deepcopy(self.objects[(kind, "ns", name)])
        change(obj)
        self._stored(kind, obj)

    # -- the Kube interface the reconciler uses ------------------------------------------
    def apply(self, kind: str, manifest: Mapping[str, Any],
              manager: str = identity.MANAGER) -> dict[str, Any]:
        name = manifest["metadata"]["name"]
        if kind in self.fail_apply:
            raise ApplyFailed(kind, name, "the server was unable to handle the request")
        self.writes.append(("apply", kind, name))
        live = copy.deepcopy(self.objects.get((kind, "ns", name))) or {"status": {}}
        merged = {**live, **copy.deepcopy(dict(manifest))}
        merged["metadata"] = {**live.get("metadata", {}), **manifest["metadata"]}
        if "spec" in live and "spec" in manifest:
            merged["spec"] = {**live["spec"], **manifest["spec"]}
        return self._stored(kind, merged)

    def delete(self, kind: str, namespace: str, name: str) -> None:
        self.writes.append(("delete", kind, name))
        obj = self.objects.pop((kind, namespace, name), None)
        if obj is not None:
            for store in self.stores:
                store.event(kind, "DELETED", obj)

    def patch_status(self, namespace: str, name: str,
                     status: Mapping[str, Any]) -> dict[str, Any]:
        if self.status_gone:
            raise NotFound(404, "Not Found")
        self.writes.append(("status", identity.KIND, name))
        obj = copy.deepcopy(self.objects[(identity.KIND, namespace, name)])
        obj["status"] = {**obj.get("status", {}), **copy.deepcopy(dict(status))}
        return self._stored(identity.KIND, obj)

    def post_event(self, ident: identity.Identity, event: Event) -> None:
        self.events.append(event)

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the reconciler called Kube.{name}: a read from the API")


SPEC = {"image": "img:1", "replicas": 2}


@pytest.fixture
def world() -> tuple[FakeKube, Reconciler]:
    store = Store()
    kube = FakeKube(store)
    return kube, Reconciler(kube, store, Metrics(), "img:default")  # type: ignore[arg-type]


def _ready(kube: FakeKube, name: str = "hands") -> dict[str, Any]:
    conditions = kube.objects[(identity.KIND, "ns", name)]["status"]["conditions"]
    return next(c for c in conditions if c["type"] == "Ready")


def test_create_then_a_steady_state_without_reads_or_writes(world) -> None:
    kube, reconciler = world
    kube.create_handtracker("hands", SPEC)
    outcome = reconciler.run("ns", "hands")
    assert outcome.result == "ok"
    applied = {kind for verb, kind, _ in kube.writes if verb == "apply"}
    assert applied == {"ConfigMap", "Deployment", "Service", "PodDisruptionBudget"}
    assert ("status", identity.KIND, "hands") in kube.writes
    assert "Created" in {e.reason for e in kube.events}
    status = kube.objects[(identity.KIND, "ns", "hands")]["status"]
    assert status["observedGeneration"] == 1

    kube.writes.clear()
    for _ in range(3):
        assert reconciler.run("ns", "hands").actions == ()
    assert kube.writes == []  # FakeKube has no reads at all: any would have failed


def test_drift_is_corrected_and_counted(world) -> None:
    kube, reconciler = world
    kube.create_handtracker("hands", SPEC)
    reconciler.run("ns", "hands")
    kube.writes.clear()
    kube.edit("Service", "hands", lambda svc: svc["spec"].update(type="NodePort"))
    outcome = reconciler.run("ns", "hands")
    assert [(a.verb, a.kind, a.drift) for a in outcome.actions] == [("update", "Service", True)]
    assert kube.objects[("Service", "ns", "hands")]["spec"]["type"] == "ClusterIP"
    drift = reconciler.metrics.drift.labels("Service")._value.get()
    assert drift == 1


def test_a_spec_change_updates_the_children(world) -> None:
    kube, reconciler = world
    kube.create_handtracker("hands", SPEC)
    reconciler.run("ns", "hands")

    def scale(ht: dict[str, Any]) -> None:
        ht["spec"]["replicas"] = 3
        ht["metadata"]["generation"] = 2

    kube.edit(identity.KIND, "hands", scale)
    outcome = reconciler.run("ns", "hands")
    assert ("update", "Deployment", False) in [(a.verb, a.kind, a.drift) for a in outcome.actions]
    assert kube.objects[("Deployment", "ns", "hands")]["spec"]["replicas"] == 3
    status = kube.objects[(identity.KIND, "ns", "hands")]["status"]
    assert status["observedGeneration"] == 2


def test_an_invalid_spec_writes_status_only(world) -> None:
    kube, reconciler = world
    kube.create_handtracker("odd", {**SPEC, "resources": {"requests": {"cpu": "2"},
                                                           "limits": {"cpu": "1"}}})
    outcome = reconciler.run("ns", "odd")
    assert outcome.result == "invalid"
    assert kube.writes == [("status", identity.KIND, "odd")]
    ready = _ready(kube, "odd")
    assert (ready["status"], ready["reason"]) == ("False", "InvalidSpec")
    assert "spec.resources.requests.cpu" in ready["message"]


def test_a_write_failing_halfway_is_reported_and_the_next_run_finishes(world) -> None:
    kube, reconciler = world
    kube.create_handtracker("hands", SPEC)
    kube.fail_apply = {"Service"}
    outcome = reconciler.run("ns", "hands")
    assert outcome.result == "error"
    assert [a.kind for a in outcome.actions] == ["ConfigMap", "Deployment"]
    ready = _ready(kube)
    assert (ready["status"], ready["reason"]) == ("False", "ReconcileError")
    assert "Service hands" in ready["message"]

    kube.fail_apply = set()
    outcome = reconciler.run("ns", "hands")
    assert outcome.result == "ok"
    assert [a.kind for a in outcome.actions] == ["Service", "PodDisruptionBudget"]
    assert _ready(kube)["reason"] != "ReconcileError"


def test_a_handtracker_deleted_before_its_status_is_written(world) -> None:
    kube, reconciler = world
    kube.create_handtracker("hands", SPEC)
    kube.status_gone = True  # deleted between the read and the status write
    outcome = reconciler.run("ns", "hands")
    assert outcome.result == "ok" and not outcome.status_written


def test_a_deleted_handtracker_is_left_to_the_garbage_collector(world) -> None:
    kube, reconciler = world
    assert reconciler.run("ns", "never-created").result == "gone"
    assert kube.writes == []


def _condition(kube: FakeKube, type_: str, name: str = "hands") -> dict[str, Any] | None:
    conditions = kube.objects[(identity.KIND, "ns", name)]["status"]["conditions"]
    return next((c for c in conditions if c["type"] == type_), None)


ROUTED = {**SPEC, "httpRoute": {"enabled": True, "parentRefs": [{"name": "gw"}],
                                "hostnames": ["hands.example"]},
          "monitoring": {"serviceMonitor": {"enabled": True}}}


def test_a_missing_integration_crd_is_reported_then_served_once_installed(world) -> None:
    kube, reconciler = world
    reconciler.store.set_served("HTTPRoute", False)
    reconciler.store.set_served("ServiceMonitor", False)
    kube.create_handtracker("hands", ROUTED)
    assert reconciler.run("ns", "hands").result == "ok"
    applied = {kind for verb, kind, _ in kube.writes if verb == "apply"}
    assert not applied & {"HTTPRoute", "ServiceMonitor"}
    assert _condition(kube, "HTTPRouteAccepted")["reason"] == "GatewayAPIMissing"
    assert _condition(kube, "ServiceMonitorReady")["reason"] == "PrometheusOperatorMissing"
    assert _ready(kube)["reason"] != "ReconcileError"  # the service itself is unaffected

    # The CRDs appear (the watch on CRDs says so): the next reconcile makes the children.
    reconciler.store.set_served("HTTPRoute", True)
    reconciler.store.set_served("ServiceMonitor", True)
    kube.writes.clear()
    reconciler.run("ns", "hands")
    assert {kind for verb, kind, _ in kube.writes if verb == "apply"} == {
        "HTTPRoute", "ServiceMonitor"}
    assert _condition(kube, "HTTPRouteAccepted")["reason"] == "Pending"
    assert _condition(kube, "ServiceMonitorReady")["status"] == "True"


def test_route_acceptance_and_url_come_from_the_route_and_its_gateway(world) -> None:
    kube, reconciler = world
    spec = {**ROUTED, "httpRoute": {"enabled": True, "parentRefs": [{"name": "gw"}]}}
    kube.create_handtracker("hands", spec)
    reconciler.run("ns", "hands")

    def answer(status: str, reason: str) -> None:
        kube.edit("HTTPRoute", "hands", lambda r: r.update(status={"parents": [{
            "parentRef": {"name": "gw"}, "controllerName": "example.com/gateway",
            "conditions": [{"type": "Accepted", "status": status, "reason": reason,
                            "message": "listener refuses it"}]}]}))
        reconciler.run("ns", "hands")

    answer("False", "NotAllowedByListeners")
    refused = _condition(kube, "HTTPRouteAccepted")
    assert refused["status"] == "False" and refused["reason"] == "NotAccepted"
    assert "Gateway ns/gw: NotAllowedByListeners" in refused["message"]

    kube._stored("Gateway", {"metadata": {"name": "gw", "namespace": "ns",
                                          "resourceVersion": "1"},
                             "status": {"addresses": [{"type": "IPAddress",
                                                       "value": "192.0.2.7"}]}})
    answer("True", "Accepted")
    assert _condition(kube, "HTTPRouteAccepted")["status"] == "True"
    assert kube.objects[(identity.KIND, "ns", "hands")]["status"]["url"] == "http://192.0.2.7"


def test_external_autoscaling_passes_the_scale_through_and_makes_no_hpa(world) -> None:
    kube, reconciler = world
    kube.create_handtracker("hands", {**SPEC, "autoscaling": {"mode": "external"}})
    reconciler.run("ns", "hands")
    deployment = kube.objects[("Deployment", "ns", "hands")]
    assert deployment["spec"]["replicas"] == 2
    assert ("HorizontalPodAutoscaler", "ns", "hands") not in kube.objects
    # An autoscaler writes spec.replicas through /scale: the Deployment follows.
    kube.edit(identity.KIND, "hands", lambda ht: ht["spec"].update(replicas=5))
    reconciler.run("ns", "hands")
    assert kube.objects[("Deployment", "ns", "hands")]["spec"]["replicas"] == 5


def _instance(kube: FakeKube, default_image: str, stamp: str) -> Reconciler:
    """Another operator instance on the same cluster, with a store of its own."""
    store = Store()
    for key, obj in kube.objects.items():
        store.event(key[0], "MODIFIED", copy.deepcopy(obj))
    kube.stores.append(store)
    return Reconciler(kube, store, Metrics(), default_image, stamp)  # type: ignore[arg-type]


def test_two_operators_with_other_settings_back_off_and_name_each_other() -> None:
    """Two instances without peering, whose --default-image differ, on one HandTracker
    that sets no image: each keeps changing the Deployment back to its own."""
    kube = FakeKube(Store())
    a = _instance(kube, "img-a:1", "operator-a")
    b = _instance(kube, "img-b:1", "operator-b")
    kube.stores.pop(0)  # the FakeKube's own store has no reconciler
    kube.create_handtracker("hands", {"replicas": 1})
    outcomes = []
    for _ in range(conflicts.THRESHOLD + 1):
        outcomes += [("a", a.run("ns", "hands")), ("b", b.run("ns", "hands"))]
    # Both at full speed at first: a revert or two is drift, not yet a conflict.
    assert [o.result for _, o in outcomes[:4]] == ["ok"] * 4
    last_a, last_b = outcomes[-2][1], outcomes[-1][1]
    assert (last_a.result, last_b.result) == ("conflict", "conflict")
    # It still applies, once each: the config too (its revision names the image).
    assert [a.kind for a in last_a.actions] == ["ConfigMap", "Deployment"]
    assert 5 <= last_a.retry_in <= 10  # the first back-off step (10 s, jittered)
    assert last_a.verdict().seconds == last_a.retry_in
    degraded = _condition(kube, "Degraded")
    assert (degraded["status"], degraded["reason"]) == ("True", "ConflictingWriter")
    assert "ConfigMap hands-config" in degraded["message"]
    assert "another handtracker-operator instance (operator-a)" in degraded["message"]
    # One Warning as the condition appears (b then finds it in status already).
    warnings = [e for e in kube.events if e.reason == "ConflictingWriter"]
    assert [e.type for e in warnings] == ["Warning"]
    assert "instance (operator-b)" in warnings[0].message  # a found it first, naming b
    deployment = kube.objects[("Deployment", "ns", "hands")]
    assert deployment["metadata"]["annotations"][conflicts.WRITER_ANNOTATION] == "operator-b"


def test_a_conflict_ends_once_the_other_writer_has_stopped() -> None:
    kube = FakeKube(Store())
    a = _instance(kube, "img-a:1", "operator-a")
    b = _instance(kube, "img-b:1", "operator-b")
    kube.stores.pop(0)
    now = [0.0]
    a.conflicts = Conflicts("operator-a", clock=lambda: now[0])
    kube.create_handtracker("hands", {"replicas": 1})
    for _ in range(conflicts.THRESHOLD + 1):
        b.run("ns", "hands")
        result = a.run("ns", "hands").result
    assert result == "conflict"
    # b is gone; a's last write stands, and no revert comes for a whole window.
    assert a.run("ns", "hands").actions == ()
    now[0] += conflicts.WINDOW + 1
    assert a.run("ns", "hands").result == "ok"
    assert _condition(kube, "Degraded")["reason"] == "AsExpected"
    assert kube.events[-1].reason == "Recovered"
    assert "other writer" in kube.events[-1].message


def test_a_script_editing_a_child_again_and_again_is_named_by_its_field_manager(world) -> None:
    kube, reconciler = world
    kube.create_handtracker("hands", SPEC)
    reconciler.run("ns", "hands")

    def edit(svc: dict[str, Any]) -> None:
        svc["spec"]["type"] = "NodePort"
        svc["metadata"]["managedFields"] = [
            {"manager": identity.MANAGER, "operation": "Apply", "time": "2026-12-06T10:00:00Z"},
            {"manager": "kubectl-edit", "operation": "Update", "time": "2026-12-06T10:00:05Z"},
        ]

    results = []
    for _ in range(conflicts.THRESHOLD):
        kube.edit("Service", "hands", edit)
        results.append(reconciler.run("ns", "hands").result)
    assert results == ["ok", "ok", "conflict"]  # one or two edits are drift, corrected
    assert "by field manager kubectl-edit" in _condition(kube, "Degraded")["message"]


def test_spec_changes_in_a_row_are_no_conflict(world) -> None:
    kube, reconciler = world
    kube.create_handtracker("hands", SPEC)
    reconciler.run("ns", "hands")
    for replicas in range(3, 3 + conflicts.THRESHOLD + 2):
        kube.edit(identity.KIND, "hands", lambda ht, r=replicas: ht["spec"].update(replicas=r))
        outcome = reconciler.run("ns", "hands")
        assert outcome.result == "ok" and outcome.actions
    assert _condition(kube, "Degraded")["status"] == "False"


def test_a_takeover_by_another_replica_rewrites_nothing(world) -> None:
    """The writer's stamp is in neither the hash nor the comparison."""
    kube, reconciler = world
    kube.create_handtracker("hands", SPEC)
    reconciler.run("ns", "hands")
    kube.writes.clear()
    standby = _instance(kube, "img:default", "replica-2")
    assert standby.run("ns", "hands").actions == ()
    assert kube.writes == []
