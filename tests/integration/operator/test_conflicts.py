"""Two operators without peering whose settings differ, on one HandTracker: each would
change the Deployment back to its own desired state on every event of the other's
write. They back off instead, and say so in status and in a Warning event."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.fixtures.cluster import Kubectl
from tests.fixtures.operator import OperatorProcess, apply, condition, events, example, get
from tests.support.waiting import eventually

# The measurement window, after the conflict is reported, and the most writes to the
# Deployment a minute that count as backing off (at full speed: over 1000 a minute).
WINDOW_SECONDS = 45
MAX_WRITES_PER_MINUTE = 8


def _generation(kubectl: Kubectl, namespace: str) -> int:
    return get(kubectl, namespace, "deployment", "hands")["metadata"]["generation"]


@pytest.mark.timeout(300)
def test_two_operators_with_other_settings_back_off_and_report_the_conflicting_writer(
    cluster: Any, kubectl: Kubectl, namespace: str, operator: OperatorProcess,
    start_operator: Any,
) -> None:
    operator.stop()  # the session's operator would be a third writer
    for image in ("img-a:1", "img-b:1"):
        start_operator(cluster, "--namespace", namespace, "--default-image", image)
    started = time.monotonic()
    apply(kubectl, namespace, example("minimal"))  # sets no image: each uses its default

    def reported() -> dict[str, Any] | None:
        degraded = condition(get(kubectl, namespace, "ht", "hands"), "Degraded")
        return degraded if degraded.get("reason") == "ConflictingWriter" else None

    degraded = eventually(reported, timeout=60, interval=0.5,
                          message="Degraded=True ConflictingWriter")
    detected = time.monotonic() - started
    assert degraded["status"] == "True"
    # One of the two children they fight over: the config (its revision names the image)
    # or the Deployment, whichever crossed the threshold first.
    assert ("ConfigMap hands-config" in degraded["message"]
            or "Deployment hands" in degraded["message"]), degraded["message"]
    assert "another handtracker-operator instance (" in degraded["message"]
    warnings = [e for e in events(kubectl, namespace, "hands")
                if e["reason"] == "ConflictingWriter"]
    assert warnings and warnings[0]["type"] == "Warning"

    first = _generation(kubectl, namespace)
    time.sleep(WINDOW_SECONDS)  # the measurement itself: writes over a fixed time
    per_minute = (_generation(kubectl, namespace) - first) * 60 / WINDOW_SECONDS
    print(f"conflict reported after {detected:.1f} s with the Deployment at generation "
          f"{first}; then {per_minute:.1f} writes a minute")
    assert per_minute <= MAX_WRITES_PER_MINUTE
    # Still reported while both run.
    assert reported() is not None
