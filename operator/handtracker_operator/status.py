"""derive(...): the HandTracker status from the observed children and pods, nothing else."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import gateway, rollout
from .builders.configmap import REVISION_VARIABLE
from .conditions import CONFLICTING_WRITER, MODEL_REASONS, Condition
from .identity import Identity
from .rollout import Rollout
from .spec import HandTrackerSpec

# Container waiting reasons (pkg/kubelet/images, kuberuntime and cri-api errors) that mean
# the pod will not become ready by itself, and the reason reported for each. A failure the
# kubelet alternates with a back-off is reported as that back-off, so that the reason (and
# the Degraded event) does not flap: a failed pull as ImagePullBackOff, a failed start
# (RunContainerError) as CrashLoopBackOff. The others keep their own reason: they repeat
# unchanged (the kubelet never retries them) and say more than a back-off would.
_WAITING = {
    "ImagePullBackOff": "ImagePullBackOff",
    "ErrImagePull": "ImagePullBackOff",
    "RegistryUnavailable": "ImagePullBackOff",
    "SignatureValidationFailed": "ImagePullBackOff",
    # Not a back-off: the image is not on the node and, with imagePullPolicy Never, never
    # will be.
    "ErrImageNeverPull": "ErrImageNeverPull",
    "InvalidImageName": "InvalidImageName",
    "ImageInspectError": "ImageInspectError",
    "CreateContainerConfigError": "CreateContainerConfigError",
    "CreateContainerError": "CreateContainerError",
    "RunContainerError": "CrashLoopBackOff",
    "CrashLoopBackOff": "CrashLoopBackOff",
}
# Most telling first: the image before the container, an OOM kill before the crash loop it
# causes.
_PRIORITY = ("ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName", "ImageInspectError",
             "CreateContainerConfigError", "CreateContainerError", "ModelDigestMismatch",
             "ModelInvalid", "OOMKilled", "CrashLoopBackOff", "Unschedulable")
# The workload refuses a model bundle by exiting with "<reason>: <detail>" as its
# termination message; the init container that copies a model car's bundle failing
# (e.g. no file at the path) is a model that cannot be had either.
MODEL_COPY_CONTAINER = "model"
# How much of the line a crashed container wrote last goes into the message.
_EXIT_LINE_CHARS = 300


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
        # A pod being deleted, or evicted (Failed), keeps its last container states but will
        # not run again: it says nothing about how the current pods fare.
        if pod["metadata"].get("deletionTimestamp") or st.get("phase") in ("Failed", "Succeeded"):
            continue
        statuses = [(cs, True) for cs in st.get("initContainerStatuses") or ()]
        statuses += [(cs, False) for cs in st.get("containerStatuses") or ()]
        for cs, init in statuses:
            for reason, detail in _container_problems(cs, init):
                found.setdefault(reason, []).append(f"{name}: {detail}")
        for cond in st.get("conditions") or ():
            if cond.get("type") == "PodScheduled" and cond.get("reason") == "Unschedulable":
                found.setdefault("Unschedulable", []).append(f"{name}: {cond.get('message', '')}")
    for reason in _PRIORITY:
        if reason in found:
            details = found[reason]
            return Problem(reason, f"{len(details)} pod(s) {reason}; {details[0]}".strip())
    return None


def _container_problems(cs: Mapping[str, Any], init: bool = False) -> list[tuple[str, str]]:
    """(reason, detail) pairs for one container status of a pod that is still running."""
    state = cs.get("state") or {}
    waiting = state.get("waiting") or {}
    # A stopped container of a running pod is between a crash and its restart (the kubelet
    # shows "Error" until the back-off starts): count it as the crash loop, not as healthy.
    stopped = state.get("terminated") or {}
    exited = stopped or (cs.get("lastState") or {}).get("terminated") or {}
    container = cs.get("name", "")
    problems = []
    if exited.get("reason") == "OOMKilled" and not cs.get("ready"):
        problems.append(("OOMKilled", f"container {container} ran out of memory"))
    reason = "CrashLoopBackOff" if stopped else _WAITING.get(waiting.get("reason", ""))
    if init and stopped.get("exitCode") == 0:
        return problems  # it did its job
    model = _model_refusal(container, exited) if reason == "CrashLoopBackOff" else None
    if model:
        problems.append(model)
    elif reason == "CrashLoopBackOff" and exited:
        # How it exited says why; the back-off text ("back-off 20s restarting failed
        # container=...") does not, and changes with every restart.
        problems.append((reason, f"container {container} {_exit_summary(exited)}"))
    elif reason:
        problems.append((reason, waiting.get("message", reason)))
    return problems


def _model_refusal(container: str, exited: Mapping[str, Any]) -> tuple[str, str] | None:
    """(reason, detail) when the container stopped over its model bundle."""
    message = (exited.get("message") or "").strip()
    first = message.splitlines()[0] if message else ""
    reason, _, detail = first.partition(": ")
    if reason in MODEL_REASONS:
        return reason, f"container {container}: {detail}"
    if container == MODEL_COPY_CONTAINER and exited.get("exitCode"):
        return "ModelInvalid", (f"the model image's copy step {_exit_summary(exited)}")
    return None


def _exit_summary(terminated: Mapping[str, Any]) -> str:
    """'exited with code 2 (Error): <the last line it wrote>'. With FallbackToLogsOnError
    the message is the log tail when the container wrote no termination message."""
    code, reason = terminated.get("exitCode", "?"), terminated.get("reason") or "Error"
    text = f"exited with code {code} ({reason})"
    line = _last_line(terminated.get("message") or "")
    return f"{text}: {line}" if line else text


def _last_line(text: str) -> str:
    """The last non-empty line; of a JSON log record (the workload's logs.py) its message
    and the last line of its exception, cut to _EXIT_LINE_CHARS."""
    line = next((ln.strip() for ln in reversed(text.splitlines()) if ln.strip()), "")
    try:
        record = json.loads(line) if line.startswith("{") else None
    except ValueError:
        record = None
    if isinstance(record, dict) and isinstance(record.get("message"), str):
        exception = str(record.get("exception") or "").strip().splitlines()
        line = ": ".join([record["message"], *exception[-1:]])
    if len(line) > _EXIT_LINE_CHARS:
        line = line[: _EXIT_LINE_CHARS - 3] + "..."
    return line


def derive(
    spec: HandTrackerSpec,
    ident: Identity,
    observed: Mapping[str, Mapping[str, Any] | None],
    pods: Sequence[Mapping[str, Any]],
    error: str | None = None,
    missing: Collection[str] = (),
    gateways: Mapping[tuple[str, str], Mapping[str, Any] | None] | None = None,
    conflict: str = "",
    course: Rollout | None = None,
    canary_pods: Sequence[Mapping[str, Any]] = (),
) -> Derived:
    """`missing`: the optional kinds the spec wants but the cluster has no CRD for;
    `gateways`: the Gateways the spec's route names, as far as they exist; `conflict`:
    what another writer keeps changing back (conflicts.py), if anything; `course`: the
    canary's (rollout.py), whose pods are `canary_pods`."""
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

    if conflict:  # first: it may well be what breaks the pods too
        degraded = Condition("Degraded", "True", CONFLICTING_WRITER, conflict)
    elif problem or deadline:
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

    route = gateway.route_condition(spec, ident, observed.get("HTTPRoute"),
                                    "HTTPRoute" in missing)
    course = course or Rollout()
    canary_fields, canary_cond = canary_status(course, observed.get("CanaryDeployment"),
                                               observed.get("CanaryConfigMap"), canary_pods)
    extra = [c for c in (route, _monitor_condition(spec, "ServiceMonitor" in missing),
                         canary_cond) if c]
    url = (gateway.route_url(spec, ident, observed.get("HTTPRoute"), gateways or {})
           or _external_url(observed.get("Ingress")) or internal_url(spec, ident))
    return Derived(
        conditions=(ready_cond, avail, progressing, degraded, *extra),
        fields={
            "observedGeneration": ident.generation,
            "replicas": int(dep_status.get("replicas", 0)),
            "readyReplicas": ready,
            "availableReplicas": available,
            "desiredReplicas": desired,
            "replicaSummary": f"{ready}/{desired}",
            "selector": ident.selector_string,
            "url": url,
            "internalURL": internal_url(spec, ident),
            "image": spec.image,
            "revision": spec.revision,
            "canary": canary_fields,  # None removes it (a merge patch)
        },
    )


def canary_status(course: Rollout, deployment: Mapping[str, Any] | None,
                  config: Mapping[str, Any] | None, pods: Sequence[Mapping[str, Any]]
                  ) -> tuple[dict[str, Any] | None, Condition | None]:
    """status.canary and the CanaryReady condition; neither without a canary. Its revision
    is the one its live config gives its pods (after spec.canary is gone, too)."""
    if course.phase == rollout.NONE:
        return None, None
    dep_status = (deployment or {}).get("status") or {}
    ready = int(dep_status.get("readyReplicas", 0))
    live_revision = ((config or {}).get("data") or {}).get(REVISION_VARIABLE, "")
    fields: dict[str, Any] = {
        "phase": course.phase,
        "weight": course.weight,
        "effectiveWeight": course.effective,
        "readyReplicas": ready,
        "revision": live_revision or (course.spec.revision if course.spec else ""),
        "attempt": course.attempt,
        "message": course.message,
        "drainingSince": course.draining_since or None,  # null: a merge patch removes it
    }
    share = f"{course.effective}% of the route's requests"
    if course.phase == rollout.SERVING:
        note = f" ({course.message})" if course.message else ""
        cond = Condition("CanaryReady", "True", "Serving",
                         f"{share}, {ready} ready replica(s){note}")
    elif course.phase == rollout.WAITING:
        problem = pod_problem(pods)
        cond = Condition("CanaryReady", "False", problem.reason if problem else "CanaryNotReady",
                         f"weight 0 until it has an available replica"
                         f"{': ' + problem.message if problem else ''}")
    elif course.phase == rollout.ABORTED:
        cond = Condition("CanaryReady", "False", "CanaryAborted",
                         f"weight 0: analysis breached: {course.message}")
    elif course.phase == rollout.PROMOTING:
        cond = Condition("CanaryReady", "True", "Promoting", f"{share}: {course.message}")
    else:
        cond = Condition("CanaryReady", "False", "Draining", course.message)
    return fields, cond


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


def _monitor_condition(spec: HandTrackerSpec, crd_missing: bool) -> Condition | None:
    if not spec.service_monitor.enabled:
        return None
    if crd_missing:
        return Condition("ServiceMonitorReady", "False", "PrometheusOperatorMissing",
                         "the ServiceMonitor CRD (monitoring.coreos.com/v1) is not installed")
    return Condition("ServiceMonitorReady", "True", "Created",
                     "Prometheus Operator scrapes /metrics every "
                     f"{spec.service_monitor.interval}")
