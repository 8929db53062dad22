"""Service <name>: the stable address of the pods."""

from __future__ import annotations

from typing import Any

from ..identity import Identity
from ..spec import HandTrackerSpec


def build(spec: HandTrackerSpec, ident: Identity) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": ident.metadata(ident.instance, "server"),
        "spec": {
            "type": spec.service.type,
            "selector": ident.selector,
            "ports": [
                {"name": "http", "port": spec.service.port, "targetPort": "http", "protocol": "TCP"}
            ],
        },
    }
