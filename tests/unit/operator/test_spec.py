"""spec.parse: defaults, every field read, and what the schema cannot check."""

from __future__ import annotations

import pytest
from handtracker_operator import spec
from handtracker_operator.errors import InvalidSpec


def test_empty_spec_gets_every_default() -> None:
    parsed = spec.parse({}, default_image="registry.example/ht:1.2")
    assert parsed == spec.HandTrackerSpec(image="registry.example/ht:1.2")
    assert parsed.replicas == 2 and parsed.model.complexity == "full"
    assert parsed.resources.limits_cpu == "1" and parsed.service.port == 80


def test_every_field_is_read() -> None:
    parsed = spec.parse(
        {
            "image": "img:2",
            "imagePullPolicy": "Always",
            "imagePullSecrets": [{"name": "regcred"}],
            "replicas": 4,
            "suspended": True,
            "model": {"complexity": "lite", "maxHands": 1, "minDetectionConfidence": 0.7,
                      "minTrackingConfidence": 0.2, "detectionMode": "thorough"},
            "ui": {"title": "Hands"},
            "logLevel": "debug",
            "resources": {"requests": {"cpu": "1", "memory": "1Gi"},
                          "limits": {"cpu": "2500m", "memory": "2Gi"}},
            "service": {"type": "NodePort", "port": 8000},
            "ingress": {"enabled": True, "host": "h.example", "className": "nginx",
                        "path": "/hands", "tls": {"secretName": "tls"},
                        "annotations": {"a": "b"}},
            "autoscaling": {"enabled": True, "minReplicas": 2, "maxReplicas": 9,
                            "targetCPUUtilizationPercentage": 50},
            "nodeSelector": {"pool": "cpu"},
            "tolerations": [{"key": "k", "operator": "Exists"}],
            "affinity": {"nodeAffinity": {}},
            "priorityClassName": "high",
            "podAnnotations": {"x": "y"},
            "podLabels": {"team": "vision"},
        }
    )
    assert parsed.image == "img:2" and parsed.image_pull_secrets == ("regcred",)
    assert parsed.model == spec.Model("lite", 1, 0.7, 0.2, "thorough")
    assert parsed.resources.workers == 3  # ceil(2.5 cores)
    assert parsed.ingress == spec.IngressSpec(True, "h.example", "nginx", "/hands", "tls",
                                              {"a": "b"})
    assert parsed.autoscaling == spec.Autoscaling("cpu", 2, 9, 50)
    assert parsed.placement.pod_labels == {"team": "vision"}
    assert parsed.placement.priority_class_name == "high"
    assert parsed.suspended and parsed.desired_replicas == 0 and not parsed.autoscaled


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"replicas": 3}, 3),
        ({"replicas": 3, "suspended": True}, 0),
        ({"replicas": 3, "autoscaling": {"enabled": True, "minReplicas": 2}}, 2),
        ({"autoscaling": {"enabled": True}, "suspended": True}, 0),
    ],
)
def test_desired_replicas_follow_suspension_and_autoscaling(raw: dict, expected: int) -> None:
    assert spec.parse(raw).desired_replicas == expected


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"resources": {"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}},
         "spec.resources.requests.cpu"),
        ({"resources": {"requests": {"memory": "2Gi"}, "limits": {"memory": "1Gi"}}},
         "spec.resources.requests.memory"),
        ({"resources": {"limits": {"cpu": "lots"}}}, "spec.resources.limits.cpu"),
        ({"resources": {"requests": {"cpu": "0"}, "limits": {"cpu": "0"}}},
         "spec.resources.limits.cpu"),
        ({"ingress": {"enabled": True}}, "spec.ingress.host"),
        ({"autoscaling": {"minReplicas": 6, "maxReplicas": 5}}, "spec.autoscaling.minReplicas"),
    ],
)
def test_invalid_specs_name_the_field(raw: dict, field: str) -> None:
    with pytest.raises(InvalidSpec) as err:
        spec.parse(raw)
    assert err.value.field == field
    assert str(err.value).startswith(field)


@pytest.mark.parametrize(("cpu", "workers"), [("500m", 1), ("1", 1), ("1001m", 2), (4, 4)])
def test_workers_follow_the_cpu_limit(cpu: object, workers: int) -> None:
    parsed = spec.parse({"resources": {"requests": {"cpu": "100m"}, "limits": {"cpu": cpu}}})
    assert parsed.resources.workers == workers


def test_local_disk_is_requested_and_limited_and_ordered() -> None:
    parsed = spec.parse({"resources": {"limits": {"ephemeral-storage": "4Gi"}}})
    assert (parsed.resources.requests_ephemeral_storage,
            parsed.resources.limits_ephemeral_storage) == ("256Mi", "4Gi")
    with pytest.raises(spec.InvalidSpec, match=r"spec\.resources\.requests\.ephemeral-storage"):
        spec.parse({"resources": {"requests": {"ephemeral-storage": "3Gi"}}})
