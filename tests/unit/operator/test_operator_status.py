"""status.derive on observed Deployments and pods, including failure reasons."""

from __future__ import annotations

import pytest
from handtracker_operator import identity, spec, status

IDENT = identity.Identity("demo", "vision", "u-1", 4, "0.1.0")


def deployment(replicas: int = 2, ready: int = 2, updated: int | None = None,
               total: int | None = None, generation: int = 1, observed: int = 1,
               progressing: str = "NewReplicaSetAvailable") -> dict:
    return {
        "metadata": {"name": "demo", "generation": generation},
        "spec": {"replicas": replicas},
        "status": {
            "observedGeneration": observed,
            "replicas": replicas if total is None else total,
            "updatedReplicas": replicas if updated is None else updated,
            "readyReplicas": ready,
            "availableReplicas": ready,
            "conditions": [{"type": "Progressing", "status": "True", "reason": progressing}],
        },
    }


def pod(waiting: str = "", last: str = "", unschedulable: bool = False) -> dict:
    cs = {"name": "handtracker", "ready": False, "state": {}, "lastState": {}}
    if waiting:
        cs["state"] = {"waiting": {"reason": waiting, "message": f"{waiting} details"}}
    if last:
        cs["lastState"] = {"terminated": {"reason": last}}
    st: dict = {"containerStatuses": [cs]}
    if unschedulable:
        st = {"conditions": [{"type": "PodScheduled", "status": "False",
                              "reason": "Unschedulable", "message": "0/3 nodes"}]}
    return {"metadata": {"name": "demo-abc"}, "status": st}


def conds(derived: status.Derived) -> dict[str, tuple[str, str]]:
    return {c.type: (c.status, c.reason) for c in derived.conditions}


def test_healthy() -> None:
    d = status.derive(spec.parse({}), IDENT, {"Deployment": deployment()}, [])
    assert conds(d) == {
        "Ready": ("True", "Available"),
        "Available": ("True", "MinimumReplicasAvailable"),
        "Progressing": ("True", "NewReplicaSetAvailable"),
        "Degraded": ("False", "AsExpected"),
    }
    assert d.fields["replicaSummary"] == "2/2"
    assert d.fields["observedGeneration"] == 4
    assert d.fields["selector"] == IDENT.selector_string
    assert d.fields["url"] == "http://demo.vision.svc.cluster.local"
    assert d.fields["internalURL"] == "http://demo.vision.svc.cluster.local"


def test_rolling_out_is_still_ready() -> None:
    d = status.derive(spec.parse({}), IDENT,
                      {"Deployment": deployment(updated=1, total=3, ready=2)}, [])
    assert conds(d)["Progressing"] == ("True", "RollingOut")
    assert conds(d)["Ready"] == ("True", "RollingOut")


def test_new_generation_not_observed_is_rolling_out() -> None:
    d = status.derive(spec.parse({}), IDENT, {"Deployment": deployment(generation=2)}, [])
    assert conds(d)["Progressing"] == ("True", "RollingOut")


@pytest.mark.parametrize(
    ("pods", "reason"),
    [
        ([pod(waiting="CrashLoopBackOff")], "CrashLoopBackOff"),
        ([pod(waiting="ErrImagePull")], "ImagePullBackOff"),
        ([pod(waiting="ImagePullBackOff"), pod(waiting="CrashLoopBackOff")], "ImagePullBackOff"),
        ([pod(waiting="CrashLoopBackOff", last="OOMKilled")], "OOMKilled"),
        ([pod(unschedulable=True)], "Unschedulable"),
    ],
)
def test_failing_pods_give_the_reason(pods: list, reason: str) -> None:
    d = status.derive(spec.parse({}), IDENT, {"Deployment": deployment(ready=0)}, pods)
    c = conds(d)
    assert c["Ready"] == ("False", reason)
    assert c["Available"] == ("False", reason)
    assert c["Degraded"] == ("True", reason)
    assert d.fields["replicaSummary"] == "0/2"


def test_some_pods_failing_while_serving_is_degraded() -> None:
    d = status.derive(spec.parse({}), IDENT, {"Deployment": deployment(ready=1)},
                      [pod(waiting="CrashLoopBackOff")])
    assert conds(d)["Ready"] == ("True", "CrashLoopBackOff")
    assert conds(d)["Degraded"] == ("True", "CrashLoopBackOff")


def test_progress_deadline_exceeded() -> None:
    dep = deployment(ready=0, updated=0)
    dep["status"]["conditions"] = [{"type": "Progressing", "status": "False",
                                    "reason": "ProgressDeadlineExceeded", "message": "slow"}]
    c = conds(status.derive(spec.parse({}), IDENT, {"Deployment": dep}, []))
    assert c["Progressing"] == ("False", "ProgressDeadlineExceeded")
    assert c["Ready"] == ("False", "ProgressDeadlineExceeded")
    assert c["Degraded"] == ("True", "ProgressDeadlineExceeded")


def test_suspended() -> None:
    d = status.derive(spec.parse({"suspended": True}), IDENT,
                      {"Deployment": deployment(replicas=0, ready=0)}, [])
    assert conds(d)["Ready"] == ("False", "Suspended")
    assert conds(d)["Available"] == ("False", "Suspended")
    assert d.fields["replicaSummary"] == "0/0"


def test_reconcile_error_wins() -> None:
    d = status.derive(spec.parse({}), IDENT, {"Deployment": deployment()}, [], error="boom")
    assert conds(d)["Ready"] == ("False", "ReconcileError")


def test_hpa_owned_replica_count_is_reported() -> None:
    d = status.derive(spec.parse({"autoscaling": {"enabled": True}}), IDENT,
                      {"Deployment": deployment(replicas=4, ready=4)}, [])
    assert d.fields["desiredReplicas"] == 4 and d.fields["replicaSummary"] == "4/4"


@pytest.mark.parametrize(
    ("ingress", "url"),
    [
        ({"spec": {"rules": [{"host": "h.example", "http": {"paths": [{"path": "/"}]}}]}},
         "http://h.example"),
        ({"spec": {"tls": [{"hosts": ["h.example"]}],
                   "rules": [{"host": "h.example", "http": {"paths": [{"path": "/x"}]}}]}},
         "https://h.example/x"),
    ],
)
def test_url_from_the_observed_ingress(ingress: dict, url: str) -> None:
    d = status.derive(spec.parse({}), IDENT, {"Deployment": deployment(), "Ingress": ingress}, [])
    assert d.fields["url"] == url
    assert d.fields["internalURL"] == "http://demo.vision.svc.cluster.local"


def test_internal_url_with_port() -> None:
    parsed = spec.parse({"service": {"port": 8000}})
    assert status.internal_url(parsed, IDENT) == "http://demo.vision.svc.cluster.local:8000"
