"""Reads a pod's /metrics page: the one HTTP call the operator makes outside the API."""

from __future__ import annotations

import urllib.request

from .identity import CONTAINER_PORT

TIMEOUT_SECONDS = 2.0
MAX_BYTES = 4 << 20  # a page far bigger than the workload's is not one of ours


class ScrapeFailed(Exception):
    pass


def metrics(pod_ip: str, port: int = CONTAINER_PORT) -> str:
    url = f"http://{pod_ip}:{port}/metrics"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:
            return response.read(MAX_BYTES).decode("utf-8", "replace")
    except (OSError, ValueError) as exc:
        raise ScrapeFailed(f"{url}: {exc}") from exc
