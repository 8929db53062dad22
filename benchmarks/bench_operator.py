"""How fast the operator converges N HandTrackers, and what an idle resync costs.

Needs the local control plane (`make cluster-up`). Starts the operator as a subprocess,
creates N HandTrackers in a fresh namespace, and reports the time until all are Ready,
then the reconcile count and API writes over an idle period that includes resyncs.

    python benchmarks/bench_operator.py --count 100
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--idle-seconds", type=float, default=30)
    parser.add_argument("--resync-seconds", type=float, default=10)
    args = parser.parse_args()
    # Clean up (operator process, namespace) when stopped by `timeout` too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    sys.path.insert(0, str(ROOT))
    from hack import controlplane

    cluster = controlplane.ensure_up()

    def kubectl(*a: str, input: str | None = None) -> str:
        return cluster.kubectl(*a, input=input, timeout=300).stdout

    crd = str(ROOT / "crds" / "handtrackers.yaml")
    kubectl("apply", "--server-side", "--force-conflicts", "-f", crd)
    ns = f"bench-{uuid.uuid4().hex[:6]}"
    kubectl("create", "namespace", ns)
    env = cluster.env()
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "operator")])
    health, metrics = free_port(), free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "handtracker_operator", "-n", ns,
         "--liveness", f"http://127.0.0.1:{health}/healthz", "--metrics-port", str(metrics),
         "--resync-seconds", str(args.resync_seconds)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(3)
        items = [{"apiVersion": "handtracking.dev/v1alpha1", "kind": "HandTracker",
                  "metadata": {"name": f"ht-{i}"}, "spec": {"replicas": 1, "resources": {
                      # Small requests: the fake nodes have 4 CPUs each.
                      "requests": {"cpu": "10m", "memory": "16Mi"}}}}
                 for i in range(args.count)]
        start = time.monotonic()
        kubectl("apply", "-n", ns, "-f", "-",
                input=json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
        deadline = start + 600
        while time.monotonic() < deadline:
            got = json.loads(kubectl("get", "ht", "-n", ns, "-o", "json"))["items"]
            ready = sum(1 for h in got for c in (h.get("status") or {}).get("conditions", ())
                        if c["type"] == "Ready" and c["status"] == "True")
            if ready == args.count:
                break
            time.sleep(0.5)
        converge = time.monotonic() - start
        time.sleep(3)

        def versions() -> dict[str, str]:
            out = json.loads(kubectl("get", "ht,deploy,cm,svc", "-n", ns, "-o", "json"))
            return {f"{o['kind']}/{o['metadata']['name']}": o["metadata"]["resourceVersion"]
                    for o in out["items"]}

        def reconciles() -> float:
            text = urllib.request.urlopen(f"http://127.0.0.1:{metrics}/metrics").read().decode()
            return sum(float(line.split()[-1]) for line in text.splitlines()
                       if line.startswith("handtracker_operator_reconcile_total{"))

        before, count0 = versions(), reconciles()
        time.sleep(args.idle_seconds)
        after, count1 = versions(), reconciles()
        changed = sum(1 for k in before if after.get(k) != before[k])
        print(f"HandTrackers                : {args.count}")
        print(f"all Ready after             : {converge:.1f} s "
              f"({args.count / converge:.1f} HandTrackers/s)")
        print(f"idle {args.idle_seconds:.0f} s: reconciles      : {count1 - count0:.0f}")
        print(f"idle {args.idle_seconds:.0f} s: objects written : {changed} of {len(before)}")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        kubectl("delete", "namespace", ns, "--wait=false")


if __name__ == "__main__":
    main()
