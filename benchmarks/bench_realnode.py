"""Real pods on the real node: start-up, Ready, a rollout under traffic, and memory.

Needs the local cluster with its real node (`make cluster-up` as root). Starts the
operator as a subprocess, creates a HandTracker on `real-0` in a fresh namespace, and
prints each figure beside its target:

- `up` of a cluster that already runs, and the image check + load (both warm);
- HandTracker created -> Ready, and each pod's created -> container started -> Ready;
- a model change rolled over 2 pods while a local client sends a request every 100 ms
  through the Service (bounded: at most 60 s or 600 requests): time and failed requests;
- resident memory of the node's processes (containerd, kubelet, kube-proxy,
  metrics-server, the relay, containerd shims) and of one workload pod (its cgroup);
- a canary through the bed's Gateway (Traefik): created -> first request it serves, the
  split's measured share against its weight (400 requests), and a rollback and a
  promotion under a request every 100 ms: their time and failed requests.

    python benchmarks/bench_realnode.py
"""

from __future__ import annotations

import datetime
import json
import os
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NODE_PROGRAMS = ("containerd", "kubelet", "kube-proxy", "metrics-server", "socat",
                 "containerd-shim-runc-v2")


def rss_by_program() -> dict[str, float]:
    """MiB of resident memory per program name, summed over its processes."""
    totals: dict[str, float] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv0 = Path((proc / "cmdline").read_bytes().split(b"\0")[0].decode()).name
            if argv0 not in NODE_PROGRAMS:
                continue
            rss = next(int(line.split()[1]) for line in (proc / "status").read_text().splitlines()
                       if line.startswith("VmRSS:"))
        except (OSError, StopIteration, UnicodeDecodeError):
            continue
        totals[argv0] = totals.get(argv0, 0.0) + rss / 1024
    return totals


def pod_memory_mib(uid: str) -> float:
    """Memory the pod's cgroup holds (cgroup v1 memory controller, kubelet's cgroupfs layout)."""
    for qos in ("burstable", "besteffort", ""):
        folder = Path("/sys/fs/cgroup/memory/kubepods", qos, f"pod{uid}")
        usage = folder / "memory.usage_in_bytes"
        if usage.exists():
            return int(usage.read_text()) / 2**20
    return float("nan")


def stamp(text: str) -> float:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class Prober(threading.Thread):
    """One request every 100 ms (a POST of `photo`, or a GET without), bounded in time
    and count."""

    def __init__(self, url: str, photo: bytes | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(daemon=True)
        self.url, self.photo, self.headers = url, photo, headers or {}
        self.stop = threading.Event()
        self.sent = 0
        self.failed: list[str] = []

    def run(self) -> None:
        deadline = time.monotonic() + 60
        while not self.stop.is_set() and self.sent < 600 and time.monotonic() < deadline:
            started = time.monotonic()
            request = urllib.request.Request(
                self.url, data=self.photo,
                headers={"Content-Type": "image/jpeg", "Connection": "close", **self.headers})
            try:
                with urllib.request.urlopen(request, timeout=30) as answer:
                    answer.read()
            except (urllib.error.URLError, OSError) as err:
                self.failed.append(str(err))
            self.sent += 1
            self.stop.wait(max(0.0, 0.1 - (time.monotonic() - started)))


def served_model(url: str, host: str) -> dict:
    request = urllib.request.Request(url, headers={"Host": host})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())["parameters"]


def until(check: Callable[[], bool], timeout: float, what: str) -> float:
    """Seconds until check() holds."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            sys.exit(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.1)
    return time.monotonic() - started


def canary_figures(kubectl: Callable[..., str], get: Callable[..., dict], ns: str,
                   gateway_url: str, parent: dict) -> list[tuple[str, str, str, bool | None]]:
    """The canary's figures on the HandTracker `bench` (full model, 2 pods): a lite
    canary at weight 25 through the Gateway, its split, a rollback and a promotion."""
    host = f"bench.{ns}.handtracker.test"
    url = f"{gateway_url}/v2/models/hand-landmarker"
    lite = {"weight": 25, "model": {"complexity": "lite"}}

    def patch(*ops: dict) -> None:
        kubectl("patch", "ht", "bench", "-n", ns, "--type=json", "-p", json.dumps(list(ops)))

    def answered_by(complexity: str) -> bool:
        try:
            return served_model(url, host)["complexity"] == complexity
        except (urllib.error.URLError, OSError, KeyError):
            return False

    def canary_gone() -> bool:
        names = {d["metadata"]["name"] for d in get("deployments", "-n", ns)["items"]}
        return "bench-canary" not in names

    patch({"op": "add", "path": "/spec/httpRoute", "value": {
        "enabled": True, "parentRefs": [parent], "hostnames": [host]}})
    until(lambda: answered_by("full"), 60, "the route through the Gateway")
    patch({"op": "add", "path": "/spec/canary", "value": lite})
    first = until(lambda: answered_by("lite"), 120, "the canary's first answer")
    split = [served_model(url, host)["complexity"] for _ in range(400)]
    share = 100 * split.count("lite") / len(split)
    figures = [("canary created -> first request it serves", f"{first:.1f} s", "<= 30 s",
                first <= 30),
               ("canary share of 400 requests (weight 25 %)", f"{share:.1f} %", "25 ± 7",
                abs(share - 25) <= 7)]
    for step, ops, complexity in (
            ("rollback", [{"op": "remove", "path": "/spec/canary"}], "full"),
            ("promote", [{"op": "replace", "path": "/spec/model/complexity", "value": "lite"},
                         {"op": "remove", "path": "/spec/canary"}], "lite")):
        if step == "promote":
            patch({"op": "add", "path": "/spec/canary", "value": lite})
            until(lambda: answered_by("lite"), 120, "the canary's first answer")
        prober = Prober(url, headers={"Host": host})
        prober.start()
        time.sleep(1)
        started = time.monotonic()
        patch(*ops)
        until(canary_gone, 180, f"the canary deleted after the {step}")
        seconds = time.monotonic() - started
        time.sleep(1)
        prober.stop.set()
        prober.join()
        everywhere = all(answered_by(complexity) for _ in range(20))
        target = "<= 60 s" if step == "promote" else "<= 15 s"
        figures += [(f"{step} -> canary gone, all on {complexity}", f"{seconds:.1f} s", target,
                     everywhere and seconds <= (60 if step == "promote" else 15)),
                    (f"failed requests of {prober.sent} during the {step}",
                     f"{len(prober.failed)}", "0", not prober.failed)]
    return figures


def row(figure: str, measured: str, target: str, ok: bool | None) -> None:
    verdict = "" if ok is None else ("ok" if ok else "MISSED")
    print(f"{figure:<52} {measured:>14}   {target:<12} {verdict}")


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.path.insert(0, str(ROOT))
    from hack import bed, images, node
    from hack.bed import gateway
    from tests.support.manifests import handtracker
    from tests.support.operator import OperatorProcess

    started = time.monotonic()
    cluster = bed.up()
    up_seconds = time.monotonic() - started
    if not node.runs_in(cluster):
        sys.exit("this cluster runs without the real node: nothing to measure")
    started = time.monotonic()
    images.ensure_built()
    bed.pull(cluster, images.node_images())
    images_seconds = time.monotonic() - started

    def kubectl(*a: str, input: str | None = None) -> str:
        return cluster.kubectl(*a, input=input, timeout=300).stdout

    def get(*a: str) -> dict:
        return json.loads(kubectl("get", *a, "-o", "json"))

    kubectl("apply", "--server-side", "--force-conflicts", "-k", str(ROOT / "crds"))
    ns = f"bench-{uuid.uuid4().hex[:6]}"
    kubectl("create", "namespace", ns)
    operator = OperatorProcess(cluster.env(), Path(os.devnull), ("-n", ns),
                               resync_seconds=120)
    operator.start()
    try:
        spec = {"image": images.workload_image(), "replicas": 2,
                "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}},
                **node.placement()}
        manifest = handtracker("bench", **spec)
        before_pods = rss_by_program()
        created = time.monotonic()
        kubectl("apply", "-n", ns, "-f", "-", input=json.dumps(manifest))

        def stable() -> bool:
            ht = get("ht", "bench", "-n", ns)
            conds = {c["type"]: c for c in (ht.get("status") or {}).get("conditions", [])}
            return (conds.get("Ready", {}).get("status") == "True"
                    and conds.get("Progressing", {}).get("reason") == "NewReplicaSetAvailable"
                    and ht["status"].get("observedGeneration") == ht["metadata"]["generation"])

        while not stable():
            if time.monotonic() - created > 300:
                sys.exit("the HandTracker was not Ready within 300 s")
            time.sleep(0.2)
        ready_seconds = time.monotonic() - created
        pods = get("pods", "-n", ns, "-l", "app.kubernetes.io/instance=bench")["items"]
        phases = []
        for pod in pods:
            conds = {c["type"]: c for c in pod["status"]["conditions"]}
            t0 = stamp(pod["metadata"]["creationTimestamp"])
            running = stamp(pod["status"]["containerStatuses"][0]["state"]["running"]["startedAt"])
            phases.append((running - t0, stamp(conds["Ready"]["lastTransitionTime"]) - t0))
        node_memory = rss_by_program()
        pod_mib = [pod_memory_mib(p["metadata"]["uid"]) for p in pods]

        svc = get("service", "bench", "-n", ns)
        url = f"http://{svc['spec']['clusterIP']}:{svc['spec']['ports'][0]['port']}/v1/landmarks"
        photo = (Path(os.environ.get("HANDTRACKER_TESTDATA", ROOT.parent / "shared" / "testdata"
                                     / "hands")) / "mpsamples_hand_thumb_up.jpg").read_bytes()
        prober = Prober(url, photo)
        prober.start()
        time.sleep(2)
        rolled = time.monotonic()
        kubectl("patch", "ht", "bench", "-n", ns, "--type=merge",
                "-p", '{"spec":{"model":{"complexity":"lite"}}}')
        time.sleep(1)
        while not stable():
            time.sleep(0.2)
        rollout_seconds = time.monotonic() - rolled
        time.sleep(2)
        prober.stop.set()
        prober.join()
        kubectl("patch", "ht", "bench", "-n", ns, "--type=merge",
                "-p", '{"spec":{"model":{"complexity":"full"}}}')
        while not stable():
            time.sleep(0.2)
        canary = canary_figures(kubectl, get, ns, f"http://{gateway.address()}:{gateway.PORT}",
                                gateway.parent_ref())
    finally:
        operator.stop()
        kubectl("delete", "namespace", ns, "--wait=false")

    print(f"\nReal node {node.NODE_NAME}: one run, 2 workload pods (1 worker each)\n")
    row("figure", "measured", "target", None)
    # Every `up` verifies each image's pin, signature and SBOM (cosign, all at once).
    row("`up` of the running cluster, images verified", f"{up_seconds:.2f} s", "<= 3 s",
        up_seconds <= 3)
    row("images checked, published, verified (no change)", f"{images_seconds:.2f} s",
        "<= 5 s", images_seconds <= 5)
    row("HandTracker created -> Ready, rollout complete", f"{ready_seconds:.1f} s", "<= 15 s",
        ready_seconds <= 15)
    for i, (running, ready) in enumerate(phases):
        row(f"pod {i}: created -> container running", f"{running:.1f} s", "", None)
        row(f"pod {i}: created -> Ready (model loaded, probed)", f"{ready:.1f} s", "<= 15 s",
            ready <= 15)
    row("model change rolled over 2 pods", f"{rollout_seconds:.1f} s", "<= 30 s",
        rollout_seconds <= 30)
    row(f"failed requests of {prober.sent} during the rollout", f"{len(prober.failed)}", "0",
        not prober.failed)
    node_total = sum(v for k, v in node_memory.items() if k != "containerd-shim-runc-v2")
    for program in NODE_PROGRAMS:
        row(f"RSS {program}", f"{node_memory.get(program, 0):.0f} MiB", "", None)
    row("RSS of the node's daemons together", f"{node_total:.0f} MiB", "<= 350 MiB",
        node_total <= 350)
    shims = node_memory.get("containerd-shim-runc-v2", 0) - before_pods.get(
        "containerd-shim-runc-v2", 0)
    row("containerd shims of the 2 new pods", f"{shims:.0f} MiB", "", None)
    for i, mib in enumerate(pod_mib):
        row(f"pod {i} memory (cgroup)", f"{mib:.0f} MiB", "<= 400 MiB", mib <= 400)
    for figure in canary:
        row(*figure)
    for reason in prober.failed[:5]:
        print("  failed:", reason)


if __name__ == "__main__":
    main()
