"""`make demo`: the whole path on the local cluster, in the foreground.

1. bring the pinned local cluster up with its real node `real-0` (or reuse a running one)
   and load the images into the node (`make demo` builds them first: `make images`);
2. run the operator against the cluster;
3. apply examples/minimal.yaml, placed on the real node, and wait until it is Ready;
4. forward http://127.0.0.1:8080 to the HandTracker's Service: the web UI is served
   by the workload pods.

Ctrl-C (or SIGTERM) stops everything it started: the port-forward and the operator,
the example (its deletion finishes in the background) and the cluster if this run
started it. The operator and the port-forward run in process groups of their own, so a
terminal's Ctrl-C reaches the demo alone, which stops them in its own order; they die
with the demo even when it is killed (hack/children.py).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import yaml

from hack import bed, children, images, node

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "minimal.yaml"


def _start(name: str, argv: list[str], env: dict[str, str], logs: Path) -> subprocess.Popen:
    logs.mkdir(parents=True, exist_ok=True)
    with open(logs / f"demo-{name}.log", "ab") as log:
        proc = children.start(argv, env=env, stdin=subprocess.DEVNULL, stdout=log,
                              stderr=subprocess.STDOUT, cwd=ROOT)
    print(f"Started {name}, pid {proc.pid} (log: {logs / f'demo-{name}.log'})", flush=True)
    return proc


def _wait_http_ok(url: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{url}: the port-forward exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"{url} was not ready after {timeout:.0f} s")


class _Stopwatch:
    """Where the demo's stop spends its time, printed when it is done."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.steps: list[str] = []

    def step(self, what: str, since: float) -> None:
        self.steps.append(f"{what} {time.monotonic() - since:.1f} s")

    def report(self) -> str:
        return (f"Stopped the demo in {time.monotonic() - self.started:.1f} s "
                f"({', '.join(self.steps) or 'nothing was running'})")


def _stop_children(procs: dict[str, subprocess.Popen], watch: _Stopwatch) -> None:
    """The port-forward and the operator stop together: SIGTERM, SIGKILL after 5 s."""
    took = children.stop(list(procs.values()))
    for name, proc in procs.items():
        watch.steps.append(f"{name} {took[proc.pid]:.1f} s")


def main() -> int:
    ui_bind = os.environ.get("HANDTRACKER_DEMO_BIND", "127.0.0.1:8080")
    namespace = os.environ.get("HANDTRACKER_DEMO_NAMESPACE", "default")
    try:
        cluster = bed.up()
    except KeyboardInterrupt:
        print("\nStopping the demo (the cluster had not finished starting)", flush=True)
        return 0
    if not node.runs_in(cluster):
        print("The demo needs the real node, and this cluster runs without it "
              "(see the warning above, or run `make cluster-down` and try again).",
              file=sys.stderr)
        if cluster.started:
            bed.down()
        return 1
    kubeconfig = str(cluster.kubeconfig)
    logs = cluster.state_dir / "logs"
    print(f"Cluster ready: export KUBECONFIG={kubeconfig}")
    procs: dict[str, subprocess.Popen] = {}
    manifest = yaml.safe_load(EXAMPLE.read_text())
    manifest.setdefault("spec", {}).update(node.placement())  # its pods on real-0
    name = manifest["metadata"]["name"]
    applied = False
    try:
        # `up` installs the CRD; applying again picks up one edited since.
        cluster.kubectl("apply", "--server-side", "-k", str(ROOT / "crds"))
        procs["operator"] = _start(
            "operator",
            [sys.executable, "-m", "handtracker_operator",
             "--default-image", images.pinned(images.workload_image())],
            {**os.environ, "KUBECONFIG": kubeconfig},
            logs,
        )
        cluster.kubectl("apply", "-n", namespace, "-f", "-", input=yaml.safe_dump(manifest))
        applied = True
        print(f"Applied {EXAMPLE.relative_to(ROOT)} on node {node.NODE_NAME}; "
              f"waiting for HandTracker/{name} to be Ready")
        cluster.kubectl(
            "wait", "-n", namespace, "--for=condition=Ready", f"handtracker/{name}",
            "--timeout=300s", timeout=320,
        )  # fmt: skip
        print(cluster.kubectl("get", "handtrackers", "-n", namespace, "-o", "wide").stdout)
        print(cluster.kubectl("get", "pods", "-n", namespace, "-o", "wide",
                              "-l", f"app.kubernetes.io/instance={name}").stdout)
        host, port = ui_bind.rsplit(":", 1)
        procs["port-forward"] = _start(
            "port-forward",
            [str(cluster.bin_dir / "kubectl"), f"--kubeconfig={kubeconfig}", "-n", namespace,
             "port-forward", f"--address={host}", f"service/{name}", f"{port}:80"],
            dict(os.environ),
            logs,
        )
        _wait_http_ok(f"http://{ui_bind}/readyz", procs["port-forward"], timeout=60)
        print(f"\nHand-tracking web UI: http://{ui_bind}/   (Ctrl-C stops the demo)", flush=True)
        while all(p.poll() is None for p in procs.values()):
            time.sleep(1)
        failed = next(n for n, p in procs.items() if p.returncode is not None)
        print(f"The demo's {failed} exited (code {procs[failed].returncode}); see "
              f"{logs / f'demo-{failed}.log'}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopping the demo", flush=True)
        return 0
    except subprocess.CalledProcessError as err:
        print(f"{' '.join(err.cmd[:1] + err.cmd[2:])} failed:\n{err.stderr}", file=sys.stderr)
        return 1
    finally:
        # A second Ctrl-C must not cut the stop short and leave something behind; the
        # stop is bounded (children get 5 s before SIGKILL).
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        watch = _Stopwatch()
        _stop_children(procs, watch)
        if cluster.started:
            since = time.monotonic()
            bed.down()
            watch.step("cluster", since)
        elif applied:
            since = time.monotonic()
            cluster.kubectl("delete", "handtracker", name, "-n", namespace,
                            "--ignore-not-found", "--wait=false", check=False, timeout=15)
            watch.step(f"deleting HandTracker/{name}", since)
        print(watch.report(), flush=True)


if __name__ == "__main__":
    # SIGTERM stops the demo as Ctrl-C does.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    sys.exit(main())
