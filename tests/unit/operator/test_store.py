"""The watch-fed store: slim copies, order by resourceVersion, lists that replace a kind
without resurrecting deleted objects, and lookups by owner."""

from __future__ import annotations

from typing import Any

from handtracker_operator import identity
from handtracker_operator.store import Store, slim

UID = "uid-1"


def obj(name: str, rv: int, kind: str = "Deployment", owner: str = UID, **extra: Any) -> dict:
    body: dict[str, Any] = {
        "metadata": {
            "name": name, "namespace": "ns", "uid": f"u-{name}", "resourceVersion": str(rv),
            "labels": {identity.INSTANCE_LABEL: "hands"},
            "ownerReferences": [{"uid": owner, "controller": True}],
            "managedFields": [
                {"manager": "handtracker-operator", "operation": "Apply",
                 "fieldsV1": {"f:spec": {"f:replicas": {}, "f:template": {}}}},
                {"manager": "kube-controller-manager", "operation": "Update",
                 "fieldsV1": {"f:status": {}}},
            ],
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{...}",
                            "handtracking.dev/desired-hash": "abc"},
        },
        "spec": {"replicas": 2},
        "status": {"readyReplicas": 2},
    }
    body.update(extra)
    return body


def ident(name: str = "hands") -> identity.Identity:
    body = {"metadata": {"name": name, "namespace": "ns", "uid": UID, "generation": 1}}
    return identity.of(body, "img:1")


def test_slim_keeps_what_is_read_and_drops_the_rest() -> None:
    kept = slim("Deployment", obj("hands", 5))
    assert kept["spec"] == {"replicas": 2} and kept["status"] == {"readyReplicas": 2}
    assert kept["metadata"]["annotations"] == {"handtracking.dev/desired-hash": "abc"}
    assert kept["metadata"]["managedFields"] == [
        {"manager": "handtracker-operator", "operation": "Apply",
         "fieldsV1": {"f:spec": {"f:replicas": {}}}},
        {"manager": "kube-controller-manager", "operation": "Update"}]
    pod = slim("Pod", obj("hands-x", 5, kind="Pod"))
    assert "spec" not in pod and "managedFields" not in pod["metadata"]
    assert pod["status"] == {"readyReplicas": 2}


def test_an_older_event_never_replaces_a_newer_copy() -> None:
    store = Store()
    store.upsert("Deployment", obj("hands", 7, spec={"replicas": 3}))
    store.event("Deployment", "MODIFIED", obj("hands", 6, spec={"replicas": 1}))
    assert store.get("Deployment", "ns", "hands")["spec"] == {"replicas": 3}
    store.event("Deployment", "MODIFIED", obj("hands", 8, spec={"replicas": 4}))
    assert store.get("Deployment", "ns", "hands")["spec"] == {"replicas": 4}


def test_a_list_drops_what_is_gone_and_does_not_resurrect_a_deletion() -> None:
    store = Store()
    store.upsert("ConfigMap", obj("hands-config", 3))
    store.upsert("ConfigMap", obj("stale-config", 4))  # deleted while a watch was down
    store.upsert("ConfigMap", obj("other", 5))
    store.event("ConfigMap", "DELETED", obj("other", 9))
    # A list taken before that deletion still holds "other", but not "stale-config".
    store.replace("ConfigMap", [obj("hands-config", 3), obj("other", 5)])
    assert store.get("ConfigMap", "ns", "hands-config") is not None
    assert store.get("ConfigMap", "ns", "stale-config") is None
    assert store.get("ConfigMap", "ns", "other") is None


def test_a_list_does_not_drop_what_was_created_after_it() -> None:
    store = Store()
    store.upsert("Deployment", obj("new", 12))  # its event came after the list's snapshot
    store.upsert("Deployment", obj("gone", 9))
    store.replace("Deployment", [], listed_at=10)
    assert store.get("Deployment", "ns", "new") is not None
    assert store.get("Deployment", "ns", "gone") is None


def test_a_list_keeps_a_newer_copy_and_limits_itself_to_its_namespaces() -> None:
    store = Store()
    store.upsert("Service", obj("hands", 10))
    elsewhere = obj("svc", 2)
    elsewhere["metadata"]["namespace"] = "team-b"
    store.upsert("Service", elsewhere)
    store.replace("Service", [obj("hands", 8)], namespaces=["ns"])
    assert store.get("Service", "ns", "hands")["metadata"]["resourceVersion"] == "10"
    assert store.get("Service", "team-b", "svc") is not None  # outside the list's scope


def test_observe_finds_only_children_controlled_by_this_handtracker() -> None:
    store = Store()
    store.upsert("Deployment", obj("hands", 1))
    store.upsert("Service", obj("hands", 1, owner="someone-else"))
    store.upsert("ConfigMap", obj("hands-config", 1))
    store.upsert("Deployment", obj("hands-canary", 1))
    seen = store.observe(ident(), [
        ("Deployment", "Deployment", "hands"), ("Service", "Service", "hands"),
        ("ConfigMap", "ConfigMap", "hands-config"), ("Ingress", "Ingress", "hands"),
        ("Second", "Deployment", "hands-canary")])
    assert seen["Deployment"] is not None and seen["ConfigMap"] is not None
    assert seen["Service"] is None and seen["Ingress"] is None
    # Two children of one kind, each in its own slot.
    assert seen["Second"]["metadata"]["name"] == "hands-canary"


def test_pods_are_found_by_their_handtracker_and_forgotten_when_deleted() -> None:
    store = Store()
    store.upsert("Pod", obj("hands-a", 1, kind="Pod"))
    store.upsert("Pod", obj("hands-b", 1, kind="Pod"))
    assert [p["metadata"]["name"] for p in store.pods(ident())] == ["hands-a", "hands-b"]
    store.event("Pod", "DELETED", obj("hands-a", 2, kind="Pod"))
    assert [p["metadata"]["name"] for p in store.pods(ident())] == ["hands-b"]
    assert store.pods(ident("other")) == []


def test_reads_are_copies() -> None:
    store = Store()
    store.upsert("Deployment", obj("hands", 1))
    store.get("Deployment", "ns", "hands")["spec"]["replicas"] = 99
    assert store.get("Deployment", "ns", "hands")["spec"]["replicas"] == 2


def test_a_list_names_the_handtrackers_whose_objects_the_watch_missed() -> None:
    store = Store()
    store.upsert("Deployment", obj("hands", 3))
    store.upsert("Deployment", obj("same", 4))
    store.upsert("Deployment", obj("gone", 5))
    changed = obj("hands", 9, spec={"replicas": 5})  # edited while the watch was down
    new = obj("new", 10)
    new["metadata"]["labels"][identity.INSTANCE_LABEL] = "new"
    touched = store.replace("Deployment", [changed, obj("same", 4), new])
    # All but "new" belong to HandTracker "hands": "same" is unchanged, "gone" vanished,
    # "hands" changed; "new" appeared.
    assert touched == {("ns", "hands"), ("ns", "new")}
    assert store.replace("Deployment", [changed, obj("same", 4), new]) == set()
