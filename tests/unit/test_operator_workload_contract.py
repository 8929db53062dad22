"""What the operator writes for the workload is what the workload reads: the variables of
the ConfigMap (a misspelt one would silently fall back to the workload's default), the
port, the user the image runs as, and the worker-count rule."""

from __future__ import annotations

import re
from pathlib import Path

from handtracker_operator import analysis, identity, kinds, spec
from handtracker_operator.builders import configmap, deployment
from handtracker_workload import create_app, metrics
from handtracker_workload.config import DETECTION_MODES, Settings, cgroup_cpu_limit

from tests.support.repo import REPO_ROOT
from tests.unit.operator.test_crd import schema

# Every field the ConfigMap carries, away from both sides' defaults, so that a variable
# the workload does not read shows up as a default where the spec said otherwise.
FULL = {
    "ui": {"title": "Shop floor"},
    "logLevel": "debug",
    "model": {"complexity": "lite", "maxHands": 4, "detectionMode": "thorough",
              "minDetectionConfidence": 0.65, "minTrackingConfidence": 0.25,
              "source": {"type": "pvc", "pvc": {"claimName": "models", "path": "v2.task"}},
              "sha256": "0123456789abcdef" * 4},
    "admission": {"maxInflight": 2, "maxQueue": 3, "queueTimeoutSeconds": 0.5},
    "resources": {"requests": {"cpu": "1"}, "limits": {"cpu": "2500m", "memory": "2Gi"}},
}
IDENT = identity.Identity("hands", "ns", "uid-1", 1, "1")


def _settings_field(variable: str) -> str:
    return variable.removeprefix("HANDTRACKER_").lower()


def test_every_variable_the_operator_writes_is_read_by_the_workload_with_its_value() -> None:
    data = configmap.environment(spec.parse(FULL))
    settings, defaults = Settings.from_env(data), Settings.from_env({})
    for variable, value in data.items():
        field = _settings_field(variable)
        assert hasattr(settings, field), f"{variable}: the workload reads no such variable"
        read = getattr(settings, field)
        assert str(read) == value or read == type(read)(value), (variable, value, read)
        assert read != getattr(defaults, field), f"{variable}: the workload kept its default"


def test_the_pod_template_sets_only_variables_the_workload_reads() -> None:
    template = kinds.desired(spec.parse(FULL), IDENT)["Deployment"]["spec"]["template"]
    container = template["spec"]["containers"][0]
    for env in container["env"]:
        if env["name"].startswith("HANDTRACKER_"):
            assert hasattr(Settings(), _settings_field(env["name"])), env["name"]


def test_port_and_user_match_the_workload_and_its_image() -> None:
    manifest = kinds.desired(spec.parse(FULL), IDENT)["Deployment"]
    container = manifest["spec"]["template"]["spec"]["containers"][0]
    assert container["ports"][0]["containerPort"] == Settings().port == identity.CONTAINER_PORT
    dockerfile = (REPO_ROOT / "Dockerfile.workload").read_text()
    assert re.search(rf"^USER {deployment.RUN_AS}:{deployment.RUN_AS}$", dockerfile, re.M)


def test_both_sides_count_one_worker_per_started_core_of_the_cpu_limit(tmp_path: Path) -> None:
    for limit, quota in (("1", 100_000), ("1500m", 150_000), ("2", 200_000), ("250m", 25_000)):
        (tmp_path / "cpu.max").write_text(f"{quota} 100000\n")
        operator_side = spec.parse({"resources": {"requests": {"cpu": "100m"},
                                                  "limits": {"cpu": limit}}}).resources.workers
        assert operator_side == cgroup_cpu_limit(tmp_path), limit


def test_the_crd_offers_exactly_the_detection_modes_the_workload_reads() -> None:
    model = schema()["properties"]["spec"]["properties"]["model"]["properties"]
    assert model["detectionMode"]["enum"] == list(DETECTION_MODES)
    default = model["detectionMode"]["default"]
    assert default == Settings().detection_mode == spec.Model.detection_mode
    for mode in DETECTION_MODES:
        environment = configmap.environment(spec.parse({"model": {"detectionMode": mode}}))
        assert Settings.from_env(environment).detection_mode == mode


def test_the_admission_defaults_are_the_workloads() -> None:
    defaults, ours = Settings(), spec.Admission()
    assert (ours.max_inflight, ours.max_queue, ours.queue_timeout_seconds) == (
        defaults.max_inflight, defaults.max_queue, defaults.queue_timeout)


def test_the_canary_analysis_reads_the_metrics_and_routes_the_workload_has() -> None:
    exported = (f"{metrics.HTTP_REQUESTS._name}_total", f"{metrics.HTTP_DURATION._name}_bucket")
    assert exported == (analysis.REQUESTS, analysis.BUCKETS)
    app = create_app(Settings(), detector=object())
    routes = {rule.rule for rule in app.url_map.iter_rules()}
    assert routes >= analysis.NOT_CLIENTS
