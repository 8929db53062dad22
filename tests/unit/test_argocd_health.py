"""deploy/argocd/health.lua on HandTracker bodies, in Lua 5.1 (Argo CD's dialect) and
5.4. Bodies written by the real operator: tests/integration/platform/test_argocd_real.py."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.fixtures.argocd import HEALTH, INTERPRETERS, ROOT, Health, health, lua_literal
from tests.support.manifests import handtracker


def cond(type_: str, status: str, reason: str, message: str = "") -> dict[str, Any]:
    return {"type": type_, "status": status, "reason": reason, "message": message,
            "observedGeneration": 3, "lastTransitionTime": "2026-01-01T00:00:00Z"}


def body(*conditions: dict[str, Any], generation: int = 3, observed: int | None = 3
         ) -> dict[str, Any]:
    status: dict[str, Any] = {"conditions": list(conditions)}
    if observed is not None:
        status["observedGeneration"] = observed
    return {**handtracker("hands", replicas=2),
            "metadata": {"name": "hands", "namespace": "shop", "generation": generation},
            "status": status}


SERVING = cond("Ready", "True", "Available", "2 of 2 replicas available")
DONE = cond("Progressing", "True", "NewReplicaSetAvailable", "the rollout is complete")
FINE = cond("Degraded", "False", "AsExpected")

CASES = {
    "ready and observed": (body(SERVING, DONE, FINE), "Healthy",
                           "Available: 2 of 2 replicas available"),
    "new generation not observed": (body(SERVING, DONE, FINE, generation=4), "Progressing",
                                    "Waiting for the operator to observe generation 4"),
    "no status yet": ({"metadata": {"name": "x", "generation": 1}}, "Progressing",
                      "Waiting for the operator to observe generation 1"),
    "rolling out while serving": (
        body(cond("Ready", "True", "RollingOut", "1 of 2 replicas available"),
             cond("Progressing", "True", "RollingOut", "1 of 2 replicas updated, 1 available"),
             FINE),
        "Progressing", "RollingOut: 1 of 2 replicas updated, 1 available"),
    "pods starting": (
        body(cond("Ready", "False", "MinimumReplicasUnavailable", "0 of 2 replicas available"),
             cond("Progressing", "True", "RollingOut", "0 of 2 updated"), FINE),
        "Progressing", "MinimumReplicasUnavailable: 0 of 2 replicas available"),
    "invalid spec": (
        body(cond("Ready", "False", "InvalidSpec", "requests above limits"),
             cond("Progressing", "False", "InvalidSpec", "requests above limits"),
             cond("Degraded", "True", "InvalidSpec", "requests above limits")),
        "Degraded", "InvalidSpec: requests above limits"),
    "crash loop while others serve": (
        body(cond("Ready", "True", "CrashLoopBackOff", "1 of 2 replicas available"), DONE,
             cond("Degraded", "True", "CrashLoopBackOff", "pod hands-1: back-off")),
        "Degraded", "CrashLoopBackOff: pod hands-1: back-off"),
    "image never pulled, Ready only": (
        body(cond("Ready", "False", "ErrImageNeverPull", "image not present")),
        "Degraded", "ErrImageNeverPull: image not present"),
    "reconcile error": (
        body(cond("Ready", "False", "ReconcileError", "403 on deployments"), DONE, FINE),
        "Degraded", "ReconcileError: 403 on deployments"),
    "suspended": (
        body(cond("Ready", "False", "Suspended", "scaled to zero: spec.suspended is true"),
             DONE, FINE),
        "Suspended", "Suspended: scaled to zero: spec.suspended is true"),
    "suspended but not yet observed": (
        body(cond("Ready", "False", "Suspended", "scaled"), generation=5, observed=4),
        "Progressing", "Waiting for the operator to observe generation 5"),
    "observed but no Ready condition": (body(DONE), "Progressing",
                                        "Waiting for the Ready condition"),
}


@pytest.mark.parametrize("lua", INTERPRETERS)
@pytest.mark.parametrize(("obj", "status", "message"), CASES.values(), ids=CASES.keys())
def test_argo_cd_reads_each_status_as_its_health(
    lua: str, obj: dict[str, Any], status: str, message: str,
) -> None:
    assert health(obj, lua) == Health(status, message)


def test_strings_survive_the_lua_literal() -> None:
    tricky = 'quote " backslash \\ newline \n tab \t unicode é ✋'
    got = health(body(cond("Ready", "False", "InvalidSpec", tricky)))
    assert got.message == f"InvalidSpec: {tricky}"
    assert lua_literal([1, None, {"a": None}]) == "{1, nil, {}}"


def test_readme_argocd_cm_snippet_is_the_script() -> None:
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"resource\.customizations\.health\.handtracking\.dev_HandTracker: \|\n"
                      r"((?:    .*\n|\n)+)", readme)
    assert match, "README has no argocd-cm snippet"
    snippet = "".join(line[4:] if line.strip() else "\n"
                      for line in match.group(1).splitlines(keepends=True))
    assert snippet.strip() == HEALTH.read_text().strip()
