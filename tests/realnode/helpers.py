"""HandTrackers placed on the real node, and ways to look at their real pods."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from hack import images, node
from hack.bed import gateway
from tests.fixtures.cluster import Kubectl, KubectlError
from tests.fixtures.operator import condition, get
from tests.support.manifests import handtracker
from tests.support.waiting import eventually

METADATA = "/v2/models/hand-landmarker"  # cheap, and names the model that answered
# Small requests, so several HandTrackers and a rollout's surge pod fit on one 2-core node.
SMALL = {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}}


def tracker(name: str, **spec: Any) -> dict[str, Any]:
    """A HandTracker running the workload image built here, by its pinned digest, on the
    real node."""
    body: dict[str, Any] = {"image": images.pinned(images.workload_image()), "replicas": 1,
                            "resources": SMALL}
    body.update(node.placement())
    body.update(spec)
    return handtracker(name, **body)


def on_real_node(manifest: dict[str, Any]) -> dict[str, Any]:
    """An example manifest with the pinned image, small requests and real-node placement."""
    manifest["spec"] = {**(manifest.get("spec") or {}),
                        "image": images.pinned(images.workload_image()),
                        "resources": SMALL, **node.placement()}
    return manifest


def pods(kubectl: Kubectl, ns: str, name: str) -> list[dict[str, Any]]:
    return kubectl.json("get", "pods", "-n", ns,
                        "-l", f"app.kubernetes.io/instance={name}")["items"]


def service_url(kubectl: Kubectl, ns: str, name: str) -> str:
    """http://<ClusterIP>:<port> once it answers: kube-proxy's rules take the host's
    traffic to the pods, and they follow the endpoints a moment after the pods are Ready."""
    svc = kubectl.json("get", "service", name, "-n", ns)
    url = f"http://{svc['spec']['clusterIP']}:{svc['spec']['ports'][0]['port']}"

    def answers() -> bool:
        try:
            return requests.get(f"{url}/readyz", timeout=5).status_code == 200
        except requests.RequestException:
            return False

    eventually(answers, timeout=30, interval=0.2, message=f"Service {ns}/{name} answers")
    return url


def ready_reason(kubectl: Kubectl, ns: str, name: str) -> tuple[str, str, str]:
    ht = get(kubectl, ns, "ht", name)
    ready, degraded = condition(ht, "Ready"), condition(ht, "Degraded")
    return ready.get("status", ""), degraded.get("reason", ""), degraded.get("message", "")


def warning_reasons(kubectl: Kubectl, ns: str, name: str) -> set[str]:
    found = kubectl.json("get", "events", "-n", ns, "--field-selector",
                         f"involvedObject.name={name},involvedObject.kind=HandTracker")["items"]
    return {e["reason"] for e in found if e["type"] == "Warning"}


def crictl(cluster: Any, *args: str) -> str:
    return subprocess.run(
        [str(Path(cluster.bin_dir) / "crictl"),
         f"--runtime-endpoint=unix://{cluster.containerd_socket}", *args],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout


def container_pid(cluster: Any, pod: dict[str, Any]) -> int:
    """The host PID of the pod's first container's main process."""
    container_id = pod["status"]["containerStatuses"][0]["containerID"].split("://", 1)[1]
    return int(json.loads(crictl(cluster, "inspect", container_id))["info"]["pid"])


@dataclass
class Prober:
    """A bounded local client: one request every `interval` seconds to `url` until
    stopped or `max_requests` were sent; records the outcome of each."""

    send: Callable[[], requests.Response]
    interval: float = 0.1
    max_requests: int = 1200
    outcomes: list[tuple[float, int | str]] = field(default_factory=list)
    # What the failed answers said (their first 200 characters), to tell who refused.
    refusals: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> Prober:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set() and len(self.outcomes) < self.max_requests:
            started = time.monotonic()
            try:
                answer = self.send()
                outcome: int | str = answer.status_code
                if outcome != 200:
                    self.refusals.append(answer.text[:200])
            except requests.RequestException as err:
                outcome = type(err).__name__
            self.outcomes.append((started, outcome))
            self._stop.wait(max(0.0, self.interval - (time.monotonic() - started)))

    @property
    def failures(self) -> list[tuple[float, int | str]]:
        return [o for o in self.outcomes if o[1] != 200]


def gone(kubectl: Kubectl, *what: str) -> bool:
    """`kubectl get <what>` says NotFound."""
    try:
        kubectl("get", *what)
    except KubectlError as err:
        return "NotFound" in str(err)
    return False


class Client:
    """Requests to the Gateway's address for one HandTracker's route. Each route has a
    host name of its own: routes of other tests (or of namespaces still being deleted)
    that match every host would otherwise compete for the same requests."""

    def __init__(self, ns: str, name: str) -> None:
        self.host = f"{name}.{ns}.handtracker.test"
        self.base = f"http://{gateway.address()}:{gateway.PORT}"

    def route(self) -> dict[str, Any]:
        return {"enabled": True, "parentRefs": [gateway.parent_ref()],
                "hostnames": [self.host]}

    def get(self, path: str = METADATA, timeout: float = 10) -> requests.Response:
        return requests.get(self.base + path, headers={"Host": self.host}, timeout=timeout)

    def post(self, path: str, data: bytes, timeout: float = 30) -> requests.Response:
        return requests.post(self.base + path, data=data, timeout=timeout,
                             headers={"Host": self.host, "Content-Type": "image/jpeg"})

    def complexity(self) -> str:
        answer = self.get()
        answer.raise_for_status()
        return answer.json()["parameters"]["complexity"]

    def shares(self, count: int) -> Counter[str]:
        return Counter(self.complexity() for _ in range(count))
