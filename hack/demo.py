"""`make demo`: the whole path on the local control plane, in the foreground.

1. bring the pinned local control plane up (or reuse a running one);
2. install the CRD and run the operator against it;
3. apply examples/minimal.yaml and wait until the HandTracker is Ready;
4. serve the hand-tracking workload on http://127.0.0.1:8080 with exactly the
   environment the operator wrote into the HandTracker's ConfigMap.

The local cluster's pods are simulated by kwok (there is no container runtime
here), so step 4 runs the workload as a local process standing in for the pod,
configured the same way the pod would be. Ctrl-C stops everything it started.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import yaml

from hack import controlplane

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "minimal.yaml"
UI_BIND = os.environ.get("HANDTRACKER_DEMO_BIND", "127.0.0.1:8080")


def _python_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    paths = [str(ROOT), str(ROOT / "operator"), str(ROOT / "workload")]
    env["PYTHONPATH"] = os.pathsep.join(paths + [env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.update(extra or {})
    return env


def _start(name: str, argv: list[str], env: dict[str, str], logs: Path) -> subprocess.Popen:
    logs.mkdir(parents=True, exist_ok=True)
    log = open(logs / f"{name}.log", "ab")  # noqa: SIM115 - lives as long as the process
    print(f"Started {name} (log: {logs / (name + '.log')})", flush=True)
    return subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)


def _wait_http_ok(url: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{url}: the server exited with code {proc.returncode}")
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
    kubeconfig = str(cluster.kubeconfig)
    logs = cluster.state_dir / "logs"
    print(f"Control plane ready: export KUBECONFIG={kubeconfig}")
    procs: list[subprocess.Popen] = []
    try:
        # `up` installs the CRD before the controller-manager starts; applying
        # again picks up a CRD edited since the cluster came up.
        cluster.kubectl("apply", "--server-side", "-k", str(ROOT / "crds"))
        procs.append(
            _start(
                "operator",
                [sys.executable, "-m", "handtracker_operator"],
                _python_env({"KUBECONFIG": kubeconfig}),
                logs,
            )
        )
        name = yaml.safe_load(EXAMPLE.read_text())["metadata"]["name"]
        cluster.kubectl("apply", "-n", "default", "-f", str(EXAMPLE))
        print(f"Applied {EXAMPLE.relative_to(ROOT)}; waiting for HandTracker/{name} to be Ready")
        cluster.kubectl(
            "wait", "-n", "default", "--for=condition=Ready", f"handtracker/{name}",
            "--timeout=180s",
        )  # fmt: skip
        print(cluster.kubectl("get", "handtrackers", "-n", "default", "-o", "wide").stdout)
        config = cluster.kubectl("get", "cm", f"{name}-config", "-n", "default", "-o", "json")
        workload_env = dict(json.loads(config.stdout).get("data") or {})
        print("Workload environment from the operator's ConfigMap:", json.dumps(workload_env))
        procs.append(
            _start(
                "workload",
                [sys.executable, "-m", "handtracker_workload", "--bind", UI_BIND],
                _python_env(workload_env),
                logs,
            )
        )
        _wait_http_ok(f"http://{UI_BIND}/readyz", procs[-1], timeout=120)
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


if __name__ == "__main__":
    sys.exit(main())
