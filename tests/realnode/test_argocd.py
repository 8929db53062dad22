"""The Argo CD health check on bodies the real operator wrote about real pods: a
rollout in progress, and a pod failure (an image the node does not have)."""

from __future__ import annotations

from typing import Any

from tests.fixtures.argocd import INTERPRETERS, Health, health
from tests.fixtures.cluster import Kubectl
from tests.fixtures.operator import apply, get, wait_stable
from tests.realnode.helpers import tracker
from tests.support.waiting import eventually


def _health_becomes(kubectl: Kubectl, ns: str, name: str, status: str, reason: str,
                    timeout: float = 180) -> dict[str, Any]:
    """Polls the HandTracker until health.lua says `status` with `reason`; checks every
    interpreter agrees on that body."""
    def seen() -> dict[str, Any] | None:
        obj = get(kubectl, ns, "ht", name)
        got = health(obj or {})
        return obj if got.status == status and got.message.startswith(f"{reason}: ") else None

    obj = eventually(seen, timeout=timeout, interval=0.2, message=f"{name} {status} {reason}")
    answers = {health(obj, lua) for lua in INTERPRETERS}
    assert len(answers) == 1 and next(iter(answers)).status == status, answers
    return obj


def test_health_during_a_real_rollout_and_a_real_pod_failure(
    real_node: Any, ns: str, kubectl: Kubectl, operator: Any
) -> None:
    apply(kubectl, ns, tracker("rolling"))
    apply(kubectl, ns, tracker("noimage", image="localhost/handtracker-missing:none",
                                imagePullPolicy="Never"))
    wait_stable(kubectl, ns, "rolling")
    assert health(get(kubectl, ns, "ht", "rolling") or {}).status == "Healthy"

    # The new pod loads its model for seconds while the old one serves: a rollout.
    kubectl("patch", "ht", "rolling", "-n", ns, "--type=merge",
            "-p", '{"spec":{"model":{"complexity":"lite"}}}')
    obj = _health_becomes(kubectl, ns, "rolling", "Progressing", "RollingOut")
    assert obj["status"]["observedGeneration"] == obj["metadata"]["generation"]
    wait_stable(kubectl, ns, "rolling")
    assert health(get(kubectl, ns, "ht", "rolling") or {}) == Health(
        "Healthy", "Available: 1 of 1 replicas available")

    obj = _health_becomes(kubectl, ns, "noimage", "Degraded", "ErrImageNeverPull")
    assert "localhost/handtracker-missing:none" in health(obj).message
