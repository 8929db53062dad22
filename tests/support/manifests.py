"""HandTracker manifests, at the API version the operator serves."""

from __future__ import annotations

from typing import Any

from handtracker_operator import identity


def handtracker(name: str, **spec: Any) -> dict[str, Any]:
    """A HandTracker named `name` with exactly this spec (the API server defaults the rest)."""
    return {"apiVersion": identity.API_VERSION, "kind": identity.KIND,
            "metadata": {"name": name}, "spec": spec}
