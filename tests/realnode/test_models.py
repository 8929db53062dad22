"""Model bundles on the real node: pinned by digest, from the wheel or from a model image
("model car") copied in by an init container. A wrong digest or a broken bundle fails
closed with its own reason; every answer names the bundle's digest and revision."""

from __future__ import annotations

import json
from typing import Any

import requests

from hack import images
from tests.fixtures.cluster import Kubectl
from tests.fixtures.operator import apply, get, wait_condition
from tests.realnode.helpers import pods, ready_reason, service_url, tracker, warning_reasons
from tests.support.waiting import eventually

METADATA = "/v2/models/hand-landmarker"


def _wait_degraded(kubectl: Kubectl, ns: str, name: str, reason: str) -> str:
    def degraded() -> str:
        _, why, message = ready_reason(kubectl, ns, name)
        return message if why == reason else ""

    message = eventually(degraded, timeout=180, interval=1,
                         message=f"{name} Degraded with {reason}")
    eventually(lambda: reason in warning_reasons(kubectl, ns, name), timeout=30,
               message=f"a Warning event {reason}")
    return message


def _served_model(kubectl: Kubectl, ns: str, name: str) -> dict[str, Any]:
    answer = requests.get(service_url(kubectl, ns, name) + METADATA, timeout=10)
    answer.raise_for_status()
    return answer.json()["parameters"]


def _digest(complexity: str) -> str:
    digest = images.model_sha256(images.MODEL_IMAGES[complexity])
    assert digest, f"the {complexity} model image carries no digest label"
    return digest


def test_a_wrong_digest_fails_closed_and_the_right_one_recovers(
    real_node: Any, ns: str, kubectl: Kubectl, operator: Any
) -> None:
    apply(kubectl, ns, tracker("pinned", model={"sha256": "0" * 64}))
    message = _wait_degraded(kubectl, ns, "pinned", "ModelDigestMismatch")
    assert "0" * 64 in message
    assert ready_reason(kubectl, ns, "pinned")[0] == "False"
    assert not any(cs.get("ready") for pod in pods(kubectl, ns, "pinned")
                   for cs in pod["status"].get("containerStatuses") or ())
    # The builtin bundle is built from the wheel the same way as the model images', byte
    # for byte: the full image's digest is the builtin full bundle's.
    digest = _digest("full")
    kubectl("patch", "ht", "pinned", "-n", ns, "--type=merge",
            "-p", f'{{"spec":{{"model":{{"sha256":"{digest}"}}}}}}')
    wait_condition(kubectl, ns, "pinned", timeout=180)
    served = _served_model(kubectl, ns, "pinned")
    status = (get(kubectl, ns, "ht", "pinned") or {})["status"]
    assert (served["sha256"], served["revision"]) == (digest, status["revision"])


def test_a_model_image_is_copied_in_and_a_missing_bundle_is_refused(
    real_node: Any, ns: str, kubectl: Kubectl, operator: Any
) -> None:
    car, digest = images.pinned(images.MODEL_IMAGES["lite"]), _digest("lite")
    source = {"type": "image", "image": {"reference": car}}
    apply(kubectl, ns, tracker("car", model={"source": source, "sha256": digest}))
    wait_condition(kubectl, ns, "car", timeout=180)
    assert _served_model(kubectl, ns, "car")["sha256"] == digest
    (pod,) = pods(kubectl, ns, "car")
    (copy,) = pod["status"]["initContainerStatuses"]
    assert copy["name"] == "model" and copy["state"]["terminated"]["exitCode"] == 0

    missing = {**source, "image": {"reference": car, "path": "/models/absent.task"}}
    kubectl("patch", "ht", "car", "-n", ns, "--type=merge",
            "-p", f'{{"spec":{{"model":{{"source":{json.dumps(missing)}}}}}}}')
    message = _wait_degraded(kubectl, ns, "car", "ModelInvalid")
    assert "absent.task" in message
    # The pods of the previous spec keep serving meanwhile (maxUnavailable 0).
    assert _served_model(kubectl, ns, "car")["sha256"] == digest
