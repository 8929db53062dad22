"""HandTrackerSpec: the CR's spec as typed values, with the same defaults as the CRD schema.

The API server already applied the schema (types, ranges, enums, CEL rules, defaults);
parse() applies the defaults too, so that objects stored before a default existed still
work, and checks what the schema cannot express (quantity ordering), raising InvalidSpec.
Each default is written once, in the dataclasses below, which parse() reads (a test keeps
them equal to the CRD's).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from . import __version__, quantity
from .errors import InvalidSpec

WORKLOAD_REPOSITORY = "ghcr.io/handtracking-dev/handtracker-workload"
# The workload released with this operator.
DEFAULT_IMAGE = f"{WORKLOAD_REPOSITORY}:{__version__}"
# Where Prometheus is assumed to run (the CRD's default of networkPolicy.monitoringFrom).
DEFAULT_MONITORING_PEERS = (
    {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}},
)


@dataclass(frozen=True)
class ModelSource:
    """Where the HandLandmarker `.task` bundle comes from."""

    type: str = "builtin"  # "builtin" (from the wheel, by complexity) | "image" | "pvc"
    image: str = ""  # type image: an OCI image holding the bundle (a "model car")
    claim_name: str = ""  # type pvc: a PersistentVolumeClaim in the namespace
    path: str = ""  # the bundle's path in the image, or inside the claim


DEFAULT_IMAGE_MODEL_PATH = "/models/hand_landmarker.task"
DEFAULT_PVC_MODEL_PATH = "hand_landmarker.task"


@dataclass(frozen=True)
class Model:
    complexity: str = "full"
    max_hands: int = 2
    min_detection_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    detection_mode: str = "standard"
    source: ModelSource = ModelSource()
    sha256: str = ""  # pins the bundle's bytes; the workload refuses any other


@dataclass(frozen=True)
class Resources:
    requests_cpu: str = "500m"
    requests_memory: str = "512Mi"
    # The pod's disk: /tmp (an emptyDir of at most 1Gi), a model image's copy (512Mi at
    # most) and the container's logs; the root filesystem is read-only.
    requests_ephemeral_storage: str = "256Mi"
    limits_cpu: str = "1"
    limits_memory: str = "1Gi"
    limits_ephemeral_storage: str = "2Gi"

    @property
    def workers(self) -> int:
        """One worker process per started core of the CPU limit (at least one)."""
        return max(1, math.ceil(quantity.parse(self.limits_cpu)))


@dataclass(frozen=True)
class Admission:
    """Per worker process: requests served at once, queued behind them, and how long one
    may wait in the queue before it is shed with 503 (the workload's defaults)."""

    max_inflight: int = 4
    max_queue: int = 16
    queue_timeout_seconds: float = 1.0


@dataclass(frozen=True)
class ServiceSpec:
    type: str = "ClusterIP"
    port: int = 80


@dataclass(frozen=True)
class IngressSpec:
    enabled: bool = False
    host: str = ""
    class_name: str = ""
    path: str = "/"
    tls_secret_name: str = ""
    annotations: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Autoscaling:
    mode: str = "none"  # "cpu": our HPA; "external": someone's, through /scale; "none"
    min_replicas: int = 1
    max_replicas: int = 5
    target_cpu_utilization: int = 70


@dataclass(frozen=True)
class NetworkPolicySpec:
    enabled: bool = False
    # NetworkPolicyPeer-shaped dicts (namespaceSelector / podSelector); empty: this namespace
    peers: tuple[Mapping[str, Any], ...] = ()
    monitoring_peers: tuple[Mapping[str, Any], ...] = DEFAULT_MONITORING_PEERS


@dataclass(frozen=True)
class ServiceMonitorSpec:
    enabled: bool = False
    interval: str = "30s"
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ParentRef:
    name: str
    namespace: str = ""  # the HandTracker's when empty
    section_name: str = ""


@dataclass(frozen=True)
class HTTPRouteSpec:
    enabled: bool = False
    parent_refs: tuple[ParentRef, ...] = ()
    hostnames: tuple[str, ...] = ()
    path: str = "/"
    annotations: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Placement:
    """Pod placement fields passed through to the pod template unchanged."""

    node_selector: Mapping[str, str] = field(default_factory=dict)
    tolerations: Sequence[Mapping[str, Any]] = ()
    affinity: Mapping[str, Any] = field(default_factory=dict)
    priority_class_name: str = ""
    pod_annotations: Mapping[str, str] = field(default_factory=dict)
    pod_labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CanaryAnalysis:
    """Limits the canary's own /metrics are held to; a breach sets its weight to 0."""

    max_error_ratio: float = 0.05
    max_p99_latency_seconds: float = 0.0  # 0: not checked
    min_requests: int = 20
    interval_seconds: int = 10


@dataclass(frozen=True)
class Canary:
    weight: int
    spec: HandTrackerSpec  # the main spec with the canary's overrides: what its pods run
    analysis: CanaryAnalysis | None = None


@dataclass(frozen=True)
class HandTrackerSpec:
    image: str = DEFAULT_IMAGE
    image_pull_policy: str = "IfNotPresent"
    image_pull_secrets: tuple[str, ...] = ()
    replicas: int = 2
    suspended: bool = False
    model: Model = Model()
    ui_title: str = "HandTracker"
    log_level: str = "info"
    resources: Resources = Resources()
    admission: Admission = Admission()
    service: ServiceSpec = ServiceSpec()
    ingress: IngressSpec = IngressSpec()
    autoscaling: Autoscaling = Autoscaling()
    network_policy: NetworkPolicySpec = NetworkPolicySpec()
    service_monitor: ServiceMonitorSpec = ServiceMonitorSpec()
    http_route: HTTPRouteSpec = HTTPRouteSpec()
    placement: Placement = Placement()
    canary: Canary | None = None

    @property
    def revision(self) -> str:
        """What serves, in 10 hex digits: a hash of the image and the model settings. The
        pods report it with every answer and status shows it for each track."""
        text = json.dumps([self.image, asdict(self.model)], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:10]

    @property
    def autoscaled(self) -> bool:
        """Our HPA owns the replica count (never while suspended: an HPA cannot hold 0).
        In external mode someone else's autoscaler writes spec.replicas through the
        scale subresource, and that count is passed on like a hand-set one."""
        return self.autoscaling.mode == "cpu" and not self.suspended

    @property
    def desired_replicas(self) -> int:
        """The replica count the operator aims for (the HPA's lower bound when autoscaled)."""
        if self.suspended:
            return 0
        return self.autoscaling.min_replicas if self.autoscaled else self.replicas


def parse(raw: Mapping[str, Any] | None, default_image: str = DEFAULT_IMAGE) -> HandTrackerSpec:
    """The typed spec, or InvalidSpec naming the field the schema could not check."""
    raw = raw or {}
    spec = _parse_main(raw, default_image)
    canary = raw.get("canary")
    if canary is not None:
        spec = replace(spec, canary=_parse_canary(raw, canary, default_image))
    _check(spec)
    return spec


def _parse_canary(raw: Mapping[str, Any], canary: Mapping[str, Any],
                  default_image: str) -> Canary:
    """The canary runs the main spec with its own image, model fields, resources and
    admission limits, one
    replica by default (none while the HandTracker is suspended), never autoscaled or
    exposed but through the route."""
    own = canary.get("model") or {}
    model = {**(raw.get("model") or {}), **own}
    if ("source" in own or "complexity" in own) and "sha256" not in own:
        model.pop("sha256", None)  # the main bundle's digest pins other bytes
    overlay = {**raw, "image": canary.get("image") or raw.get("image"), "model": model,
               "resources": canary.get("resources") or raw.get("resources") or {},
               "admission": {**(raw.get("admission") or {}), **(canary.get("admission") or {})},
               "replicas": canary.get("replicas", 1),
               "autoscaling": {},
               # reached through the route only
               "service": {**(raw.get("service") or {}), "type": "ClusterIP"}}
    analysis = canary.get("analysis")
    return Canary(
        weight=int(canary.get("weight", 0)),
        spec=_parse_main(overlay, default_image),
        analysis=None if analysis is None else CanaryAnalysis(
            max_error_ratio=float(analysis.get("maxErrorRatio",
                                               CanaryAnalysis.max_error_ratio)),
            max_p99_latency_seconds=float(analysis.get(
                "maxP99LatencySeconds", CanaryAnalysis.max_p99_latency_seconds)),
            min_requests=int(analysis.get("minRequests", CanaryAnalysis.min_requests)),
            interval_seconds=int(analysis.get("intervalSeconds",
                                              CanaryAnalysis.interval_seconds)),
        ),
    )


def _parse_source(raw: Mapping[str, Any]) -> ModelSource:
    kind = raw.get("type", ModelSource.type)
    image, pvc = raw.get("image") or {}, raw.get("pvc") or {}
    if kind == "image":
        return ModelSource(kind, image=image.get("reference", ""),
                           path=image.get("path", DEFAULT_IMAGE_MODEL_PATH))
    if kind == "pvc":
        return ModelSource(kind, claim_name=pvc.get("claimName", ""),
                           path=pvc.get("path", DEFAULT_PVC_MODEL_PATH))
    return ModelSource(kind)


def _parse_main(raw: Mapping[str, Any], default_image: str) -> HandTrackerSpec:
    model = raw.get("model") or {}
    resources = raw.get("resources") or {}
    requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
    admission = raw.get("admission") or {}
    service = raw.get("service") or {}
    ingress = raw.get("ingress") or {}
    autoscaling = raw.get("autoscaling") or {}
    policy = raw.get("networkPolicy") or {}
    monitor = (raw.get("monitoring") or {}).get("serviceMonitor") or {}
    route = raw.get("httpRoute") or {}
    return HandTrackerSpec(
        image=raw.get("image") or default_image,
        image_pull_policy=raw.get("imagePullPolicy", HandTrackerSpec.image_pull_policy),
        image_pull_secrets=tuple(s["name"] for s in raw.get("imagePullSecrets") or ()),
        replicas=int(raw.get("replicas", HandTrackerSpec.replicas)),
        suspended=bool(raw.get("suspended", HandTrackerSpec.suspended)),
        model=Model(
            complexity=model.get("complexity", Model.complexity),
            max_hands=int(model.get("maxHands", Model.max_hands)),
            detection_mode=model.get("detectionMode", Model.detection_mode),
            min_detection_confidence=float(model.get("minDetectionConfidence",
                                                     Model.min_detection_confidence)),
            min_tracking_confidence=float(model.get("minTrackingConfidence",
                                                    Model.min_tracking_confidence)),
            source=_parse_source(model.get("source") or {}),
            sha256=model.get("sha256", Model.sha256),
        ),
        ui_title=(raw.get("ui") or {}).get("title", HandTrackerSpec.ui_title),
        log_level=raw.get("logLevel", HandTrackerSpec.log_level),
        resources=Resources(
            requests_cpu=str(requests.get("cpu", Resources.requests_cpu)),
            requests_memory=str(requests.get("memory", Resources.requests_memory)),
            requests_ephemeral_storage=str(requests.get(
                "ephemeral-storage", Resources.requests_ephemeral_storage)),
            limits_cpu=str(limits.get("cpu", Resources.limits_cpu)),
            limits_memory=str(limits.get("memory", Resources.limits_memory)),
            limits_ephemeral_storage=str(limits.get(
                "ephemeral-storage", Resources.limits_ephemeral_storage)),
        ),
        admission=Admission(
            max_inflight=int(admission.get("maxInflight", Admission.max_inflight)),
            max_queue=int(admission.get("maxQueue", Admission.max_queue)),
            queue_timeout_seconds=float(admission.get("queueTimeoutSeconds",
                                                      Admission.queue_timeout_seconds)),
        ),
        service=ServiceSpec(
            type=service.get("type", ServiceSpec.type),
            port=int(service.get("port", ServiceSpec.port)),
        ),
        ingress=IngressSpec(
            enabled=bool(ingress.get("enabled", IngressSpec.enabled)),
            host=ingress.get("host", IngressSpec.host),
            class_name=ingress.get("className", IngressSpec.class_name),
            path=ingress.get("path", IngressSpec.path),
            tls_secret_name=(ingress.get("tls") or {}).get("secretName",
                                                           IngressSpec.tls_secret_name),
            annotations=dict(ingress.get("annotations") or {}),
        ),
        autoscaling=Autoscaling(
            mode=autoscaling.get("mode")
            or ("cpu" if autoscaling.get("enabled", False) else Autoscaling.mode),
            min_replicas=int(autoscaling.get("minReplicas", Autoscaling.min_replicas)),
            max_replicas=int(autoscaling.get("maxReplicas", Autoscaling.max_replicas)),
            target_cpu_utilization=int(autoscaling.get("targetCPUUtilizationPercentage",
                                                   Autoscaling.target_cpu_utilization)),
        ),
        network_policy=NetworkPolicySpec(
            enabled=bool(policy.get("enabled", NetworkPolicySpec.enabled)),
            peers=tuple(policy.get("from") or ()),
            monitoring_peers=tuple(policy.get("monitoringFrom",
                                            NetworkPolicySpec.monitoring_peers)),
        ),
        service_monitor=ServiceMonitorSpec(
            enabled=bool(monitor.get("enabled", ServiceMonitorSpec.enabled)),
            interval=monitor.get("interval", ServiceMonitorSpec.interval),
            labels=dict(monitor.get("labels") or {}),
        ),
        http_route=HTTPRouteSpec(
            enabled=bool(route.get("enabled", HTTPRouteSpec.enabled)),
            parent_refs=tuple(
                ParentRef(ref["name"], ref.get("namespace", ParentRef.namespace),
                          ref.get("sectionName", ParentRef.section_name))
                for ref in route.get("parentRefs") or ()),
            hostnames=tuple(route.get("hostnames") or ()),
            path=route.get("path", HTTPRouteSpec.path),
            annotations=dict(route.get("annotations") or {}),
        ),
        placement=Placement(
            node_selector=dict(raw.get("nodeSelector") or {}),
            tolerations=tuple(raw.get("tolerations") or ()),
            affinity=dict(raw.get("affinity") or {}),
            priority_class_name=raw.get("priorityClassName", Placement.priority_class_name),
            pod_annotations=dict(raw.get("podAnnotations") or {}),
            pod_labels=dict(raw.get("podLabels") or {}),
        ),
    )


def _check(spec: HandTrackerSpec) -> None:
    """Rules the CRD schema cannot express (CEL has no quantity comparison everywhere)."""
    res = spec.resources
    for name in ("cpu", "memory", "ephemeral-storage"):
        attribute = name.replace("-", "_")
        request, limit = getattr(res, f"requests_{attribute}"), getattr(res, f"limits_{attribute}")
        for which, value in (("requests", request), ("limits", limit)):
            try:
                quantity.parse(value)
            except ValueError as exc:
                raise InvalidSpec(f"spec.resources.{which}.{name}", str(exc)) from None
        if quantity.parse(request) > quantity.parse(limit):
            raise InvalidSpec(
                f"spec.resources.requests.{name}",
                f"request {request} exceeds limit {limit}",
            )
    if quantity.parse(res.limits_cpu) <= 0:
        raise InvalidSpec("spec.resources.limits.cpu", "must be greater than 0")
    if spec.http_route.enabled and not spec.http_route.parent_refs:
        raise InvalidSpec("spec.httpRoute.parentRefs",
                          "required when spec.httpRoute.enabled is true")
    if spec.ingress.enabled and not spec.ingress.host:
        raise InvalidSpec("spec.ingress.host", "required when spec.ingress.enabled is true")
    if spec.autoscaling.min_replicas > spec.autoscaling.max_replicas:
        raise InvalidSpec(
            "spec.autoscaling.minReplicas", "must be less than or equal to maxReplicas"
        )
    for where, model in (("spec.model", spec.model),
                         ("spec.canary.model", spec.canary and spec.canary.spec.model)):
        source = model.source if model else None
        if source and source.type == "image" and not source.image:
            raise InvalidSpec(f"{where}.source.image",
                              "required when the source's type is image")
        if source and source.type == "pvc" and not source.claim_name:
            raise InvalidSpec(f"{where}.source.pvc", "required when the source's type is pvc")
    if spec.canary is not None and not spec.http_route.enabled:
        raise InvalidSpec("spec.canary", "requires spec.httpRoute.enabled: the route "
                          "splits the traffic")
