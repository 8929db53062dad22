"""diff.plan: owned fields only; hash for spec changes, subset match for hand edits."""

from __future__ import annotations

import copy

import pytest
from handtracker_operator import diff, identity, kinds, spec

IDENT = identity.Identity("demo", "vision", "u-1", 1, "0.1.0")


def desired(**raw: object) -> dict:
    return kinds.desired(spec.parse(raw), IDENT)


def as_live(want: dict) -> dict:
    """What the API server returns after applying: stamped plus defaults."""
    live = {k: (diff.stamp(v) if v else None) for k, v in want.items()}
    for obj in filter(None, live.values()):
        del obj["apiVersion"], obj["kind"]  # list responses leave them out of the items
    dep = live["Deployment"]
    dep["metadata"]["uid"] = "d-1"
    dep["spec"]["progressDeadlineSeconds"] = 600  # a server default
    dep["spec"]["template"]["spec"]["containers"][0]["terminationMessagePath"] = "/dev/x"
    dep["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"] = "1000m"
    dep["status"] = {"replicas": 2}
    return live


def test_nothing_exists_creates_required_children() -> None:
    actions = diff.plan(desired(), dict.fromkeys(kinds.SLOTS), kinds.KIND_OF)
    assert [(a.verb, a.kind) for a in actions] == [
        ("create", "ConfigMap"), ("create", "Deployment"), ("create", "Service"),
        ("create", "PodDisruptionBudget"),
    ]
    assert not any(a.drift for a in actions)
    assert all(diff.HASH_ANNOTATION in a.manifest["metadata"]["annotations"] for a in actions)


def test_in_sync_plans_nothing_despite_server_defaults() -> None:
    want = desired()
    assert diff.plan(want, as_live(want), kinds.KIND_OF) == []


def test_spec_change_is_an_update_not_drift() -> None:
    live = as_live(desired())
    actions = diff.plan(desired(replicas=5), live, kinds.KIND_OF, settled=False)
    assert [(a.verb, a.kind, a.drift) for a in actions] == [("update", "Deployment", False)]


def test_hand_edit_is_drift() -> None:
    want = desired()
    live = as_live(want)
    live["Deployment"]["spec"]["replicas"] = 7
    actions = diff.plan(want, live, kinds.KIND_OF, settled=True)
    assert [(a.verb, a.kind, a.drift) for a in actions] == [("update", "Deployment", True)]


def test_deleted_child_of_a_settled_spec_is_drift() -> None:
    want = desired()
    live = as_live(want)
    live["Service"] = None
    (action,) = diff.plan(want, live, kinds.KIND_OF, settled=True)
    assert (action.verb, action.kind, action.drift) == ("create", "Service", True)


def test_hpa_replicas_are_not_drift() -> None:
    want = desired(autoscaling={"enabled": True})
    live = as_live(want)
    live["Deployment"]["spec"]["replicas"] = 4  # set by the HPA
    assert diff.plan(want, live, kinds.KIND_OF) == []


def test_disabled_optional_child_is_deleted() -> None:
    live = as_live(desired(ingress={"enabled": True, "host": "h.example"}))
    actions = diff.plan(desired(), live, kinds.KIND_OF)
    assert [(a.verb, a.kind, a.name) for a in actions] == [("delete", "Ingress", "demo")]


@pytest.mark.parametrize(
    ("want", "live", "same"),
    [
        ({"a": 1}, {"a": 1, "b": 2}, True),
        ({"a": 1}, {"b": 2}, False),
        ({"a": [1, 2]}, {"a": [1, 2, 3]}, False),
        ({"a": [{"x": 1}]}, {"a": [{"x": 1, "y": 2}]}, True),
        ({"cpu": "1"}, {"cpu": "1000m"}, True),
        ({"cpu": "2"}, {"cpu": "1000m"}, False),
        ({"s": "text"}, {"s": "other"}, False),
    ],
)
def test_only_the_fields_we_set_are_compared(want: dict, live: dict, same: bool) -> None:
    assert diff.matches(want, live) is same


def test_stamp_does_not_touch_the_input() -> None:
    want = desired()["Service"]
    before = copy.deepcopy(want)
    diff.stamp(want)
    assert want == before


def managed(manager: str, operation: str, spec_fields: dict) -> dict:
    return {"manager": manager, "operation": operation,
            "fieldsV1": {"f:metadata": {}, "f:spec": spec_fields}}


def test_who_owns_a_deployments_replicas_is_read_from_managed_fields() -> None:
    mine = {"metadata": {"managedFields": [
        managed("kube-controller-manager", "Update", {"f:replicas": {}}),
        managed("handtracker-operator", "Apply", {"f:replicas": {}, "f:template": {}}),
    ]}}
    handed_over = {"metadata": {"managedFields": [
        managed("handtracker-operator", "Apply", {"f:template": {}}),
        managed("handtracker-operator-handoff", "Apply", {"f:replicas": {}}),
    ]}}
    assert diff.owns_replicas(mine, "handtracker-operator")
    assert not diff.owns_replicas(handed_over, "handtracker-operator")
    assert not diff.owns_replicas(None, "handtracker-operator")


def test_children_owned_at_an_older_served_version_are_not_rewritten_for_it() -> None:
    # Children written while the operator named its owner at v1alpha1.
    old = desired()
    for manifest in filter(None, old.values()):
        manifest["metadata"]["ownerReferences"][0]["apiVersion"] = "handtracking.dev/v1alpha1"
    live = as_live(old)
    assert diff.plan(desired(), live, kinds.KIND_OF, settled=True) == []

    live["Service"]["spec"]["type"] = "NodePort"  # a hand edit is still drift
    actions = diff.plan(desired(), live, kinds.KIND_OF, settled=True)
    assert [(a.verb, a.kind, a.drift) for a in actions] == [("update", "Service", True)]

    # A write for another reason names the owner at the current version.
    (update,) = diff.plan(desired(replicas=5), as_live(old), kinds.KIND_OF)
    assert update.manifest["metadata"]["ownerReferences"][0]["apiVersion"] == (
        identity.API_VERSION)


def test_an_owner_at_an_unknown_version_is_a_difference() -> None:
    old = desired()
    old["Service"]["metadata"]["ownerReferences"][0]["apiVersion"] = "handtracking.dev/v9"
    actions = diff.plan(desired(), as_live(old), kinds.KIND_OF)
    assert [(a.verb, a.kind) for a in actions] == [("update", "Service")]
