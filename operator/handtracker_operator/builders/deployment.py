"""Deployment <name>: the workload pods, hardened to the restricted Pod Security profile."""

from __future__ import annotations

from typing import Any

from ..identity import CONTAINER_PORT, Identity
from ..spec import HandTrackerSpec
from . import model

CONFIG_HASH_ANNOTATION = "handtracking.dev/config-hash"
CONTAINER_NAME = "handtracker"
RUN_AS = 10001  # the workload image's non-root user; explicit so runAsNonRoot can verify it

# Shutdown. A terminating pod leaves the Service's endpoints while kube-proxy and
# ingress controllers catch up over a few seconds; the workload stops accepting
# connections as soon as it gets SIGTERM, so preStop delays SIGTERM until traffic
# has moved. The kubelet's sleep handler (Kubernetes 1.30+) needs no shell or
# sleep binary in the image.
PRESTOP_SLEEP_SECONDS = 5
# gunicorn's graceful_timeout in workload/handtracker_workload/gunicorn_conf.py:
# how long in-flight requests may take to finish after SIGTERM.
WORKLOAD_GRACEFUL_SECONDS = 25
# The grace period runs from the start of preStop, so it covers both, plus a margin
# for the master to reap its workers before SIGKILL.
TERMINATION_GRACE_SECONDS = PRESTOP_SLEEP_SECONDS + WORKLOAD_GRACEFUL_SECONDS + 5
# A canary gets traffic once its Deployment has an available replica (rollout.py). A pod
# counts as available only this long after it is Ready, by which time the Gateway has seen
# it among the Service's ready endpoints: it is not sent requests it has no address for.
CANARY_MIN_READY_SECONDS = 5


def container_security() -> dict[str, Any]:
    """The restricted profile's container fields (a fresh copy per container)."""
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def build(spec: HandTrackerSpec, ident: Identity, config_hash: str) -> dict[str, Any]:
    deployment_spec: dict[str, Any] = {
        "selector": {"matchLabels": ident.selector},
        "revisionHistoryLimit": 3,
        "strategy": {
            "type": "RollingUpdate",
            # Never drop below the desired count while rolling: capacity matters for inference.
            "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
        },
        "template": _pod_template(spec, ident, config_hash),
    }
    if not spec.autoscaled:
        # While an HPA exists it alone writes spec.replicas.
        deployment_spec["replicas"] = spec.desired_replicas
    if ident.track:
        deployment_spec["minReadySeconds"] = CANARY_MIN_READY_SECONDS
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": ident.metadata(ident.instance, "server"),
        "spec": deployment_spec,
    }


def replicas_handoff(ident: Identity, replicas: int) -> dict[str, Any]:
    """Only spec.replicas, applied under a second field manager before the operator stops
    setting it: the field then keeps its value instead of falling back to the default (1)
    until the HPA takes over (the "transferring ownership" recipe of server-side apply)."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": ident.name, "namespace": ident.namespace},
        "spec": {"replicas": replicas},
    }


def _pod_template(spec: HandTrackerSpec, ident: Identity, config_hash: str) -> dict[str, Any]:
    placement = spec.placement
    pod: dict[str, Any] = {
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUN_AS,
            "runAsGroup": RUN_AS,
            "fsGroup": RUN_AS,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [_container(spec, ident)],
        "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}},
                    *model.volumes(spec.model.source)],
        "topologySpreadConstraints": [
            {
                "maxSkew": 1,
                "topologyKey": "kubernetes.io/hostname",
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": ident.selector},
            }
        ],
        "terminationGracePeriodSeconds": TERMINATION_GRACE_SECONDS,
    }
    copy = model.init_containers(spec.model.source, spec.image_pull_policy,
                                 container_security())
    if copy:
        pod["initContainers"] = copy
    if spec.image_pull_secrets:
        pod["imagePullSecrets"] = [{"name": n} for n in spec.image_pull_secrets]
    if placement.node_selector:
        pod["nodeSelector"] = dict(placement.node_selector)
    if placement.tolerations:
        pod["tolerations"] = [dict(t) for t in placement.tolerations]
    if placement.affinity:
        pod["affinity"] = dict(placement.affinity)
    if placement.priority_class_name:
        pod["priorityClassName"] = placement.priority_class_name
    return {
        "metadata": {
            "labels": {**placement.pod_labels, **ident.labels("server")},
            "annotations": {**placement.pod_annotations, CONFIG_HASH_ANNOTATION: config_hash},
        },
        "spec": pod,
    }


def _container(spec: HandTrackerSpec, ident: Identity) -> dict[str, Any]:
    res = spec.resources

    def probe(path: str, period: int, failures: int) -> dict[str, Any]:
        return {
            "httpGet": {"path": path, "port": "http"},
            "periodSeconds": period,
            "timeoutSeconds": 2,
            "failureThreshold": failures,
        }

    return {
        "name": CONTAINER_NAME,
        "image": spec.image,
        "imagePullPolicy": spec.image_pull_policy,
        "ports": [{"name": "http", "containerPort": CONTAINER_PORT, "protocol": "TCP"}],
        "env": [{"name": "HANDTRACKER_PORT", "value": str(CONTAINER_PORT)}],
        "envFrom": [{"configMapRef": {"name": ident.config_name}}],
        "resources": {
            "requests": {"cpu": res.requests_cpu, "memory": res.requests_memory,
                         "ephemeral-storage": res.requests_ephemeral_storage},
            "limits": {"cpu": res.limits_cpu, "memory": res.limits_memory,
                       "ephemeral-storage": res.limits_ephemeral_storage},
        },
        # Model loading and warm-up happen before /readyz turns 200: allow up to 2 minutes.
        "startupProbe": probe("/readyz", 2, 60),
        "livenessProbe": probe("/healthz", 10, 3),
        "readinessProbe": probe("/readyz", 5, 2),
        "lifecycle": {"preStop": {"sleep": {"seconds": PRESTOP_SLEEP_SECONDS}}},
        # The workload writes a termination message only when it refuses its model
        # ("ModelDigestMismatch: ..."); on other failed exits the kubelet puts the log tail
        # (e.g. the setting it refused) into lastState.terminated.message. The
        # HandTracker's status reports either (status.py).
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "securityContext": container_security(),
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"},
                         *model.mounts(spec.model.source)],
    }
