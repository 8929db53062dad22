"""migration.migrate against the in-memory Kubernetes of the reconciler tests, extended
with a CRD and with the version each object is encoded at in storage; and the runtime's
loop around it (reported, retried, looked at again when the CRD changes)."""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Mapping
from typing import Any

import pytest
from handtracker_operator import identity, migration, runtime, storedversions
from handtracker_operator.errors import ApiError, Conflict, NotFound
from handtracker_operator.metrics import STORAGE_STATES, Metrics
from handtracker_operator.settings import OperatorConfig
from handtracker_operator.store import Store

from tests.unit.operator.test_reconciler import FakeKube

KEY = identity.KIND


class MigratingKube(FakeKube):
    """Objects created while the CRD stored at v1alpha1; the CRD now stores at v1beta1."""

    def __init__(self, stored: list[str], names: tuple[str, ...] = ("a", "b", "c")) -> None:
        super().__init__(Store())
        self.crd_body = {
            "metadata": {"name": migration.CRD_NAME, "resourceVersion": "1"},
            "spec": {"versions": [{"name": "v1beta1", "served": True, "storage": True},
                                  {"name": "v1alpha1", "served": True, "storage": False},
                                  {"name": "v1", "served": True, "storage": False}]},
            "status": {"storedVersions": list(stored)}}
        self.encoded: dict[str, str] = {}
        self.others: dict[str, int] = {}  # name -> writes by someone else, one per PUT
        for name in names:
            self.create_handtracker(name, {"replicas": 2, "image": f"img:{name}"})
            self.encoded[name] = "v1alpha1"
        self.before = copy.deepcopy(self.objects)

    # -- the calls of the migration -------------------------------------------------------
    def crd(self, name: str) -> dict[str, Any]:
        assert name == "handtrackers.handtracking.dev"
        return copy.deepcopy(self.crd_body)

    def list_kind(self, kind: str, namespaces: Any, selector: str = ""
                  ) -> tuple[list[dict[str, Any]], int | None]:
        assert (kind, namespaces, selector) == (KEY, None, "")  # the whole cluster
        items = [copy.deepcopy(o) for (k, _, _), o in self.objects.items() if k == kind]
        for item in items:
            del item["apiVersion"], item["kind"]  # as a list may return them
        return items, 1

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any]:
        if (kind, namespace, name) not in self.objects:
            raise NotFound(404, "Not Found")
        return copy.deepcopy(self.objects[(kind, namespace, name)])

    def replace(self, kind: str, obj: Mapping[str, Any]) -> dict[str, Any]:
        meta = obj["metadata"]
        key = (kind, meta["namespace"], meta["name"])
        if key not in self.objects:
            raise NotFound(404, "Not Found")
        if self.others.get(meta["name"]):
            self.others[meta["name"]] -= 1
            self.edit(kind, meta["name"], lambda o: o["metadata"].setdefault(
                "labels", {}).update(team="x"))
            self.encoded[meta["name"]] = "v1beta1"
        if meta["resourceVersion"] != self.objects[key]["metadata"]["resourceVersion"]:
            raise Conflict(409, "Conflict")
        assert obj["apiVersion"] == "handtracking.dev/v1beta1" and obj["kind"] == KEY
        self.writes.append(("replace", kind, meta["name"]))
        self.encoded[meta["name"]] = "v1beta1"
        return self._stored(kind, copy.deepcopy(dict(obj)))

    def set_stored_versions(self, name: str, versions: list[str],
                            resource_version: str) -> None:
        assert name == migration.CRD_NAME
        if resource_version != self.crd_body["metadata"]["resourceVersion"]:
            raise Conflict(409, "Conflict")
        self.writes.append(("storedVersions", name, ",".join(versions)))
        self.crd_body["status"]["storedVersions"] = list(versions)


def specs(objects: Mapping[tuple[str, str, str], Any]) -> dict[str, Any]:
    return {k[2]: (o["spec"], o["metadata"].get("labels")) for k, o in objects.items()}


def test_every_object_is_rewritten_once_then_storedversions_is_the_storage_version() -> None:
    kube = MigratingKube(["v1alpha1", "v1beta1"])
    outcome = migration.migrate(kube)
    assert outcome.decision.action == storedversions.MIGRATE and outcome.rewritten == 3
    assert set(kube.encoded.values()) == {"v1beta1"}
    assert kube.crd_body["status"]["storedVersions"] == ["v1beta1"]
    assert [w[0] for w in kube.writes] == ["replace"] * 3 + ["storedVersions"]
    assert specs(kube.objects) == specs(kube.before)  # written back unchanged

    kube.writes.clear()
    again = migration.migrate(kube)  # idempotent: another replica, or a restart
    assert again.decision.action == storedversions.CURRENT and kube.writes == []


def test_a_conflicting_writer_is_read_again_and_its_change_kept() -> None:
    kube = MigratingKube(["v1alpha1", "v1beta1"])
    kube.others["b"] = 2
    migration.migrate(kube)
    assert kube.objects[(KEY, "ns", "b")]["metadata"]["labels"] == {"team": "x"}
    assert kube.crd_body["status"]["storedVersions"] == ["v1beta1"]


def test_an_object_that_keeps_changing_fails_the_attempt_and_keeps_storedversions() -> None:
    kube = MigratingKube(["v1alpha1", "v1beta1"])
    kube.others["b"] = migration.ATTEMPTS
    with pytest.raises(Conflict, match="HandTracker ns/b kept changing"):
        migration.migrate(kube)
    assert kube.crd_body["status"]["storedVersions"] == ["v1alpha1", "v1beta1"]
    kube.others.clear()  # the retry succeeds
    assert migration.migrate(kube).rewritten == 3
    assert kube.crd_body["status"]["storedVersions"] == ["v1beta1"]


def test_an_object_deleted_meanwhile_is_skipped() -> None:
    kube = MigratingKube(["v1alpha1", "v1beta1"])
    kube.others["a"] = 1
    real_get = kube.get

    def gone(kind: str, namespace: str, name: str) -> dict[str, Any]:
        kube.delete(kind, namespace, name)
        return real_get(kind, namespace, name)

    kube.get = gone  # type: ignore[method-assign]
    migration.migrate(kube)
    assert (KEY, "ns", "a") not in kube.objects
    assert kube.crd_body["status"]["storedVersions"] == ["v1beta1"]


def test_a_crd_changed_during_the_migration_keeps_its_storedversions() -> None:
    kube = MigratingKube(["v1alpha1", "v1beta1"])
    real_replace = kube.replace

    def reapplied(kind: str, obj: Mapping[str, Any]) -> dict[str, Any]:
        kube.crd_body["metadata"]["resourceVersion"] = "2"  # e.g. an older CRD applied
        return real_replace(kind, obj)

    kube.replace = reapplied  # type: ignore[method-assign]
    with pytest.raises(Conflict):
        migration.migrate(kube)
    assert kube.crd_body["status"]["storedVersions"] == ["v1alpha1", "v1beta1"]


@pytest.mark.parametrize(("stored", "namespaces", "action"), [
    (["v1alpha1", "v1beta1", "v1"], (), storedversions.UNKNOWN_VERSION),
    (["v1alpha1", "v1beta1"], ("ns",), storedversions.PARTIAL_SCOPE),
    (["v1beta1"], (), storedversions.CURRENT),
])
def test_nothing_is_written_unless_the_decision_is_to_migrate(
        stored: list[str], namespaces: tuple[str, ...], action: str) -> None:
    kube = MigratingKube(stored)
    outcome = migration.migrate(kube, namespaces)
    assert outcome.decision.action == action and outcome.rewritten == 0
    assert kube.writes == []
    assert kube.crd_body["status"]["storedVersions"] == stored


def test_the_runtime_reports_retries_and_looks_again_when_the_crd_changes(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(runtime.kube, "load_client", lambda: None)
    monkeypatch.setattr(runtime, "MIGRATION_RETRY_SECONDS", (0.01, 0.05))
    metrics = Metrics()
    rt = runtime.Runtime(OperatorConfig(), metrics, logging.getLogger("test"))
    kube = MigratingKube(["v1alpha1", "v1beta1"])
    failures = [ApiError(503, "Service Unavailable")]
    real_crd = kube.crd

    def crd(name: str) -> dict[str, Any]:
        if failures:
            raise failures.pop()
        return real_crd(name)

    kube.crd = crd  # type: ignore[method-assign]
    rt.client = kube  # type: ignore[assignment]

    def state() -> str:
        return next(s for s in STORAGE_STATES
                    if metrics.storage_migration.labels(s)._value.get() == 1)

    async def until(check: Any) -> None:
        for _ in range(200):
            if check():
                return
            await asyncio.sleep(0.01)
        raise AssertionError("not reached")

    async def scenario() -> None:
        task = asyncio.create_task(rt._migrate_storage())
        await asyncio.sleep(0.05)
        assert kube.writes == []  # a standby migrates nothing
        rt.active.set()
        await until(lambda: kube.crd_body["status"]["storedVersions"] == ["v1beta1"])
        assert state() == storedversions.CURRENT
        # A newer release's version shows up: reported when the CRD changes, no restart.
        kube.crd_body["status"]["storedVersions"] = ["v1beta1", "v1"]
        rt.on_crd("MODIFIED", migration.CRD_NAME, kube.crd_body)
        await until(lambda: state() == storedversions.UNKNOWN_VERSION)
        assert not task.done()  # the operator carries on
        task.cancel()

    with caplog.at_level(logging.INFO):
        asyncio.run(scenario())
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("Failed to migrate the stored HandTrackers to v1beta1, retrying")
               for m in messages)
    assert any(m.startswith("Migrated 3 HandTracker(s) to v1beta1") for m in messages)
    assert any("lists storedVersions v1," in r.getMessage() and r.levelno == logging.ERROR
               for r in caplog.records)
