"""The RBAC rules deploy/ grants are exactly those the kinds registry needs: a kind added
without its rule (or a rule left behind for a kind removed) fails here. The chart's
default render is compared with deploy/ object by object in test_chart.py."""

from __future__ import annotations

import yaml
from handtracker_operator import kinds

from tests.support.rbac import grants
from tests.support.repo import REPO_ROOT

CLUSTER_ROLE = REPO_ROOT / "deploy" / "rbac" / "clusterrole.yaml"


def test_deploy_grants_exactly_what_the_kinds_registry_needs() -> None:
    role = yaml.safe_load(CLUSTER_ROLE.read_text())
    granted, needed = grants(role["rules"]), grants(kinds.rbac_rules())
    assert granted - needed == set(), "granted, but no kind needs it"
    assert needed - granted == set(), "needed by a kind, but not granted"


def test_every_child_is_read_watched_and_written_and_no_secret_is_granted() -> None:
    needed = grants(kinds.rbac_rules())
    for kind in kinds.CHILD_KINDS:
        assert {verb for group, resource, verb, _ in needed if resource == kind.plural} == set(
            kinds.CHILD)
    assert not {resource for _, resource, _, _ in needed} & {"secrets", "*"}


def test_crd_status_is_writable_only_for_the_handtracker_crd() -> None:
    needed = grants(kinds.rbac_rules())
    assert {(verb, name) for _, resource, verb, name in needed
            if resource == "customresourcedefinitions/status"} == {
        ("patch", "handtrackers.handtracking.dev")}
    assert {verb for group, _, verb, name in needed
            if group == "apiextensions.k8s.io" and name == "*"} == set(kinds.READ)
