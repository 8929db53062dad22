"""derive(...): the HandTracker status from the observed children and pods, nothing else."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .conditions import Condition
from .identity import Identity
from .spec import HandTrackerSpec

# Container waiting reasons that mean the pod will not become ready by itself, most
# telling first. ErrImagePull is reported as ImagePullBackOff: same cause, one reason.
_WAITING = {
    "ImagePullBackOff": "ImagePullBackOff",
    "ErrImagePull": "ImagePullBackOff",
    "InvalidImageName": "ImagePullBackOff",
    "CreateContainerConfigError": "CreateContainerConfigError",
    "CrashLoopBackOff": "CrashLoopBackOff",
}
_PRIORITY = ("ImagePullBackOff", "CreateContainerConfigError", "OOMKilled", "CrashLoopBackOff",
             "Unschedulable")


@dataclass(frozen=True)
class Problem:
    reason: str
    message: str


@dataclass(frozen=True)
class Derived:
    conditions: tuple[Condition, ...]
    fields: Mapping[str, Any]  # every status field except conditions


def pod_problem(pods: Sequence[Mapping[str, Any]]) -> Problem | None:
    """The most telling reason why some pods do not run, with how many are affected."""
    found: dict[str, list[str]] = {}
    for pod in pods:
        name = pod["metadata"]["name"]
        st = pod.get("status") or {}
        for cs in st.get("containerStatuses") or ():
            waiting = (cs.get("state") or {}).get("waiting") or {}
            reason = _WAITING.get(waiting.get("reason", ""))
            if reason:
                found.setdefault(reason, []).append(f"{name}: {waiting.get('message', reason)}")
            last = (cs.get("lastState") or {}).get("terminated") or {}
            if last.get("reason") == "OOMKilled" and not cs.get("ready"):
                found.setdefault("OOMKilled", []).append(f"{name}: out of memory")
        for cond in st.get("conditions") or ():
            if cond.get("type") == "PodScheduled" and cond.get("reason") == "Unschedulable":
                found.setdefault("Unschedulable", []).append(f"{name}: {cond.get('message', '')}")
    for reason in _PRIORITY:
        if reason in found:
            details = found[reason]
            return Problem(reason, f"{len(details)} pod(s) {reason}; {details[0]}".strip())
    return None


def derive(
    spec: HandTrackerSpec,
    ident: Identity,
    observed: Mapping[str, Mapping[str, Any] | None],
    pods: Sequence[Mapping[str, Any]],
    error: str | None = None,
) -> Derived:
    deployment = observed.get("Deployment")
    dep_spec = (deployment or {}).get("spec") or {}
    dep_status = (deployment or {}).get("status") or {}
    desired = int(dep_spec.get("replicas", spec.desired_replicas)) if deployment else (
        spec.desired_replicas
    )
    ready = int(dep_status.get("readyReplicas", 0))
    available = int(dep_status.get("availableReplicas", 0))
    problem = pod_problem(pods) if deployment else None
    progressing = _progressing(deployment, desired, available)
    deadline = progressing.reason == "ProgressDeadlineExceeded"
    serving = available >= 1 and desired >= 1

    if spec.suspended:
        avail = Condition("Available", "False", "Suspended", "spec.suspended is true")
    elif desired == 0:
        avail = Condition("Available", "False", "ScaledToZero", "no replicas requested")
    elif serving:
        avail = Condition("Available", "True", "MinimumReplicasAvailable",
                          f"{available} of {desired} replicas available")
    else:
        avail = Condition("Available", "False",
                          problem.reason if problem else "MinimumReplicasUnavailable",
                          problem.message if problem else f"0 of {desired} replicas available")

    if problem or deadline:
        degraded = Condition("Degraded", "True", problem.reason if problem else progressing.reason,
                             problem.message if problem else progressing.message)
    else:
        degraded = Condition("Degraded", "False", "AsExpected", "")

    if error:
        ready_cond = Condition("Ready", "False", "ReconcileError", error)
    elif spec.suspended:
        ready_cond = Condition("Ready", "False", "Suspended",
                               "scaled to zero: spec.suspended is true")
    elif avail.status == "True" and not deadline:
        reason = problem.reason if problem else (
            "RollingOut" if progressing.reason == "RollingOut" else "Available"
        )
        ready_cond = Condition("Ready", "True", reason, avail.message)
    else:
        reason = avail.reason if avail.reason != "MinimumReplicasUnavailable" or not deadline else (
            "ProgressDeadlineExceeded"
        )
        ready_cond = Condition("Ready", "False", reason, degraded.message or avail.message)

    return Derived(
        conditions=(ready_cond, avail, progressing, degraded),
        fields={
            "observedGeneration": ident.generation,
            "replicas": int(dep_status.get("replicas", 0)),
            "readyReplicas": ready,
            "availableReplicas": available,
            "desiredReplicas": desired,
            "replicaSummary": f"{ready}/{desired}",
            "selector": ident.selector_string,
            "url": _external_url(observed.get("Ingress")) or internal_url(spec, ident),
            "internalURL": internal_url(spec, ident),
            "image": spec.image,
        },
    )


def invalid(message: str) -> tuple[Condition, ...]:
    """Conditions for a spec the operator refuses; children are left as they are."""
    return (
        Condition("Ready", "False", "InvalidSpec", message),
        Condition("Progressing", "False", "InvalidSpec", message),
        Condition("Degraded", "True", "InvalidSpec", message),
    )


def internal_url(spec: HandTrackerSpec, ident: Identity) -> str:
    port = "" if spec.service.port == 80 else f":{spec.service.port}"
    return f"http://{ident.service_host}{port}"


def _progressing(deployment: Mapping[str, Any] | None, desired: int, available: int) -> Condition:
    if deployment is None:
        return Condition("Progressing", "Unknown", "DeploymentMissing",
                         "the Deployment does not exist")
    status = deployment.get("status") or {}
    dep_cond = next(
        (c for c in status.get("conditions") or () if c.get("type") == "Progressing"), {}
    )
    if dep_cond.get("reason") == "ProgressDeadlineExceeded":
        return Condition("Progressing", "False", "ProgressDeadlineExceeded",
                         dep_cond.get("message", "the rollout did not finish in time"))
    generation = deployment["metadata"].get("generation", 0)
    updated = int(status.get("updatedReplicas", 0))
    total = int(status.get("replicas", 0))
    rolling = (
        int(status.get("observedGeneration", 0)) < generation
        or updated < desired
        or total > updated
        or available < desired
    )
    if rolling:
        return Condition("Progressing", "True", "RollingOut",
                         f"{updated} of {desired} replicas updated, {available} available")
    return Condition("Progressing", "True", "NewReplicaSetAvailable", "the rollout is complete")


def _external_url(ingress: Mapping[str, Any] | None) -> str:
    if not ingress:
        return ""
    spec = ingress.get("spec") or {}
    rule = (spec.get("rules") or [{}])[0]
    host = rule.get("host")
    if not host:
        lb = ((ingress.get("status") or {}).get("loadBalancer") or {}).get("ingress") or [{}]
        host = lb[0].get("hostname") or lb[0].get("ip")
    if not host:
        return ""
    path = ((rule.get("http") or {}).get("paths") or [{}])[0].get("path", "/")
    scheme = "https" if spec.get("tls") else "http"
    return f"{scheme}://{host}{'' if path == '/' else path}"
