"""`make demo`: the whole path on the local cluster, in the foreground.

1. bring the pinned local cluster up with its real node `real-0` (or reuse a running one);
2. build the images from the project's Dockerfiles (cached) and load them into the node;
3. run the operator against the cluster;
4. apply examples/minimal.yaml, placed on the real node, and wait until it is Ready;
5. forward http://127.0.0.1:8080 to the HandTracker's Service: the web UI is served
   by the workload pods.

Ctrl-C stops everything it started: the port-forward, the operator, the example,
and the cluster if this run started it.
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

from hack import controlplane, images
from hack.controlplane import realnode

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "minimal.yaml"
UI_BIND = os.environ.get("HANDTRACKER_DEMO_BIND", "127.0.0.1:8080")
NAMESPACE = os.environ.get("HANDTRACKER_DEMO_NAMESPACE", "default")


def _python_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    paths = [str(ROOT), str(ROOT / "operator"), str(ROOT / "workload")]
    env["PYTHONPATH"] = os.pathsep.join(paths + [env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.update(extra or {})
    return env


def _start(name: str, argv: list[str], env: dict[str, str], logs: Path) -> subprocess.Popen:
    logs.mkdir(parents=True, exist_ok=True)
    log = open(logs / f"demo-{name}.log", "ab")  # noqa: SIM115 - lives as long as the process
    print(f"Started {name} (log: {logs / f'demo-{name}.log'})", flush=True)
    return subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)


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


def _stop(procs: list[subprocess.Popen]) -> None:
    for proc in reversed(procs):
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in reversed(procs):
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def main() -> int:
    cluster = controlplane.ensure_up()
    if not cluster.real_node:
        print("The demo needs the real node, and this cluster runs without it "
              "(see the warning above, or run `make cluster-down` and try again).",
              file=sys.stderr)
        if cluster.started:
            controlplane.down()
        return 1
    kubeconfig = str(cluster.kubeconfig)
    logs = cluster.state_dir / "logs"
    print(f"Cluster ready: export KUBECONFIG={kubeconfig}")
    procs: list[subprocess.Popen] = []
    manifest = yaml.safe_load(EXAMPLE.read_text())
    manifest.setdefault("spec", {}).update(realnode.placement())  # its pods on real-0
    name = manifest["metadata"]["name"]
    applied = False
    try:
        # A running cluster may hold images older than the checkout: rebuild what changed.
        images.load(cluster.containerd_socket, images.ensure_built())
        # `up` installs the CRD; applying again picks up one edited since.
        cluster.kubectl("apply", "--server-side", "-k", str(ROOT / "crds"))
        procs.append(_start(
            "operator",
            [sys.executable, "-m", "handtracker_operator",
             "--default-image", images.WORKLOAD_IMAGE],
            _python_env({"KUBECONFIG": kubeconfig}),
            logs,
        ))
        cluster.kubectl("apply", "-n", NAMESPACE, "-f", "-", input=yaml.safe_dump(manifest))
        applied = True
        print(f"Applied {EXAMPLE.relative_to(ROOT)} on node {realnode.NODE_NAME}; "
              f"waiting for HandTracker/{name} to be Ready")
        cluster.kubectl(
            "wait", "-n", NAMESPACE, "--for=condition=Ready", f"handtracker/{name}",
            "--timeout=300s", timeout=320,
        )  # fmt: skip
        print(cluster.kubectl("get", "handtrackers", "-n", NAMESPACE, "-o", "wide").stdout)
        print(cluster.kubectl("get", "pods", "-n", NAMESPACE, "-o", "wide",
                              "-l", f"app.kubernetes.io/instance={name}").stdout)
        host, port = UI_BIND.rsplit(":", 1)
        procs.append(_start(
            "port-forward",
            [str(cluster.bin_dir / "kubectl"), f"--kubeconfig={kubeconfig}", "-n", NAMESPACE,
             "port-forward", f"--address={host}", f"service/{name}", f"{port}:80"],
            dict(os.environ),
            logs,
        ))
        _wait_http_ok(f"http://{UI_BIND}/readyz", procs[-1], timeout=60)
        print(f"\nHand-tracking web UI: http://{UI_BIND}/   (Ctrl-C stops the demo)", flush=True)
        while all(p.poll() is None for p in procs):
            time.sleep(1)
        failed = [p for p in procs if p.poll() is not None]
        print(f"A demo process exited (code {failed[0].returncode}); see {logs}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopping the demo")
        return 0
    except subprocess.CalledProcessError as err:
        print(f"{' '.join(err.cmd[:1] + err.cmd[2:])} failed:\n{err.stderr}", file=sys.stderr)
        return 1
    finally:
        _stop(procs)
        if cluster.started:
            controlplane.down()
        elif applied:
            cluster.kubectl("delete", "handtracker", name, "-n", NAMESPACE,
                            "--ignore-not-found", "--wait=false", check=False)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    sys.exit(main())
