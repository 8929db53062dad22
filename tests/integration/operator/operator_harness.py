"""The operator subprocess and kubectl helpers shared by the operator integration tests."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from tests.fixtures.cluster import Kubectl, KubectlError, eventually

ROOT = Path(__file__).resolve().parents[3]
CRD = ROOT / "crds" / "handtrackers.yaml"
EXAMPLES = ROOT / "examples"
KINDS = ("configmap", "deployment", "service", "ingress", "horizontalpodautoscaler",
         "poddisruptionbudget")
RESYNC_SECONDS = 10  # short, so quiet-period tests also cover the periodic resync


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OperatorProcess:
    """`python -m handtracker_operator` in a subprocess, restartable."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.health_port = free_port()
        self.metrics_port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        args = [sys.executable, "-m", "handtracker_operator",
                "--liveness", f"http://127.0.0.1:{self.health_port}/healthz",
                "--metrics-port", str(self.metrics_port),
                "--resync-seconds", str(RESYNC_SECONDS)]
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(args, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                         cwd=ROOT)
        eventually(self.healthy, timeout=60, interval=0.5, message="operator liveness")

    def healthy(self) -> bool:
        assert self.proc is not None and self.proc.poll() is None, self.tail()
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{self.health_port}/healthz", timeout=2
            ) as r:
                return r.status == 200
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def metrics(self) -> str:
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.read().decode()

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


# -- helpers ------------------------------------------------------------------------------

def example(name: str) -> dict[str, Any]:
    return yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text())


def apply(kubectl: Kubectl, namespace: str, manifest: dict[str, Any]) -> str:
    return kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(manifest))


def get(kubectl: Kubectl, namespace: str, kind: str, name: str) -> dict[str, Any] | None:
    try:
        return kubectl.json("get", kind, name, "-n", namespace)
    except KubectlError as err:
        if "NotFound" in str(err):
            return None
        raise


def condition(obj: dict[str, Any] | None, type_: str) -> dict[str, Any]:
    for cond in ((obj or {}).get("status") or {}).get("conditions") or ():
        if cond["type"] == type_:
            return cond
    return {}


def wait_condition(kubectl: Kubectl, namespace: str, name: str, status: str = "True",
                   reason: str | None = None, timeout: float = 60) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        ht = get(kubectl, namespace, "ht", name)
        ready = condition(ht, "Ready")
        ok = ready.get("status") == status and (reason is None or ready.get("reason") == reason)
        current = ht and (ht.get("status") or {}).get("observedGeneration") == (
            ht["metadata"]["generation"])
        return ht if ok and current else None

    return eventually(check, timeout=timeout, interval=0.5,
                      message=f"HandTracker {namespace}/{name} Ready={status} {reason or ''}")


def children(kubectl: Kubectl, namespace: str, name: str) -> dict[str, dict[str, Any]]:
    """kind -> child object of the HandTracker (by the instance label)."""
    found = kubectl.json("get", ",".join(KINDS), "-n", namespace,
                         "-l", f"app.kubernetes.io/instance={name}")["items"]
    return {item["kind"]: item for item in found}


def events(kubectl: Kubectl, namespace: str, name: str) -> list[dict[str, Any]]:
    return kubectl.json("get", "events", "-n", namespace,
                        "--field-selector", f"involvedObject.name={name},"
                        "involvedObject.kind=HandTracker")["items"]


def wait_stable(kubectl: Kubectl, namespace: str, name: str) -> dict[str, Any]:
    """Waits until the Deployment finished rolling out and the HandTracker says so."""
    def done() -> dict[str, Any] | None:
        ht = get(kubectl, namespace, "ht", name)
        prog = condition(ht, "Progressing")
        ready = condition(ht, "Ready")
        current = ht and (ht.get("status") or {}).get("observedGeneration") == (
            ht["metadata"]["generation"])
        settled = prog.get("reason") == "NewReplicaSetAvailable" and ready.get("status") == "True"
        return ht if current and settled else None

    return eventually(done, timeout=90, interval=0.5, message=f"{name} rolled out")
