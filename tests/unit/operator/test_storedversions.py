"""storedversions.decide: what the operator does about the CRD's storedVersions."""

from __future__ import annotations

from typing import Any

import pytest
from handtracker_operator import storedversions as sv


def crd(stored: list[str], storage: str = "v1beta1",
        extra: tuple[str, ...] = ()) -> dict[str, Any]:
    names = ["v1beta1", "v1alpha1", *extra]
    return {"metadata": {"name": "handtrackers.handtracking.dev", "resourceVersion": "7"},
            "spec": {"versions": [{"name": n, "served": True, "storage": n == storage}
                                  for n in names]},
            "status": {"storedVersions": stored}}


@pytest.mark.parametrize(("stored", "namespaces", "action"), [
    (["v1beta1"], (), sv.CURRENT),
    ([], (), sv.CURRENT),  # a CRD just created
    (["v1beta1"], ("team-a",), sv.CURRENT),
    (["v1alpha1", "v1beta1"], (), sv.MIGRATE),
    (["v1alpha1"], (), sv.MIGRATE),  # the storage version changed, nothing written since
    (["v1alpha1", "v1beta1"], ("team-a",), sv.PARTIAL_SCOPE),
    (["v1alpha1", "v1beta1", "v1"], (), sv.UNKNOWN_VERSION),
    (["v1beta1", "v1"], ("team-a",), sv.UNKNOWN_VERSION),
])
def test_decisions(stored: list[str], namespaces: tuple[str, ...], action: str) -> None:
    decision = sv.decide(crd(stored, extra=("v1",)), namespaces)
    assert decision.action == action
    assert decision.stored == tuple(stored)
    assert decision.refused == (action in (sv.UNKNOWN_VERSION, sv.OUTDATED_CRD))


def test_an_unknown_version_is_named_with_the_crd() -> None:
    message = sv.decide(crd(["v1beta1", "v1"], extra=("v1",))).message
    assert "storedVersions v1," in message
    assert "handtrackers.handtracking.dev" in message
    assert "left as they are" in message


def test_a_crd_storing_at_another_version_is_outdated_not_migrated() -> None:
    old = sv.decide(crd(["v1alpha1"], storage="v1alpha1"))
    assert old.action == sv.OUTDATED_CRD and "stores HandTrackers at v1alpha1" in old.message
    newer = sv.decide(crd(["v1beta1"], storage="v1", extra=("v1",)))
    assert newer.action == sv.OUTDATED_CRD and "at v1," in newer.message


def test_partial_scope_names_the_namespaces_and_keeps_storedversions() -> None:
    message = sv.decide(crd(["v1alpha1", "v1beta1"]), ("team-a", "team-b")).message
    assert "team-a, team-b" in message and "storedVersions left as they are" in message
