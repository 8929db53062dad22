"""Bringing the local control plane up, reporting on it, and taking it down.

Everything a cluster owns lives in one state folder (by default `.cluster/` in
the checkout): credentials, etcd data, logs, the admin kubeconfig, and
state.json with the ports and the exact processes that were started. A file
lock in that folder serialises concurrent `up`/`down` calls.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from . import api, certs, components, kubeconfig, nodes, realnode
from .build import Binaries, ensure_built
from .components import Layout, Ports
from .network import HOST
from .paths import CRDS_DIR, DEFAULT_STATE_DIR
from .processes import ProcessRecord, is_running, log_tail, spawn, start_ticks, stop

START_TIMEOUT = 90.0

log = logging.getLogger(__name__)


class ClusterError(RuntimeError):
    """The control plane could not be brought up (the message says which part and why)."""


@dataclass(frozen=True)
class Cluster:
    """A running control plane, as seen by its users."""

    state_dir: Path
    kubeconfig: Path
    bin_dir: Path
    server: str
    # True when this call started the processes, False when it found them running.
    started: bool = False
    # True when the real node `real-0` runs beside the kwok nodes.
    real_node: bool = False

    @property
    def containerd_socket(self) -> Path:
        """The real node's container runtime (images are loaded through it)."""
        return Layout(self.state_dir).containerd_socket

    def env(self) -> dict[str, str]:
        """Environment for tools that should talk to this cluster with the pinned kubectl."""
        env = dict(os.environ)
        env["KUBECONFIG"] = str(self.kubeconfig)
        env["PATH"] = f"{self.bin_dir}{os.pathsep}{env.get('PATH', '')}"
        return env

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """Runs the pinned kubectl against this cluster; raises CalledProcessError if check."""
        return subprocess.run(
            [str(self.bin_dir / "kubectl"), f"--kubeconfig={self.kubeconfig}", *args],
            input=input, capture_output=True, text=True, check=check, timeout=timeout,
        )


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    pid: int
    running: bool
    log: str


@dataclass(frozen=True)
class Status:
    state_dir: Path
    components: tuple[ComponentStatus, ...] = ()
    ready: bool = False
    readyz: str = ""
    problems: tuple[str, ...] = field(default_factory=tuple)

    @property
    def exists(self) -> bool:
        return bool(self.components)


# ---------------------------------------------------------------- state file


def _state_dir(state_dir: Path | str | None) -> Path:
    """An explicit folder, else HANDTRACKER_CLUSTER_DIR, else `.cluster/` in the checkout."""
    chosen = state_dir or os.environ.get("HANDTRACKER_CLUSTER_DIR")
    return Path(chosen).resolve() if chosen else DEFAULT_STATE_DIR


@contextlib.contextmanager
def _locked(state_dir: Path) -> Iterator[None]:
    state_dir.mkdir(parents=True, exist_ok=True)
    with open(state_dir / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _load(layout: Layout) -> dict | None:
    try:
        return json.loads(layout.state_file.read_text())
    except (OSError, ValueError):
        return None


def _save(layout: Layout, state: dict) -> None:
    tmp = layout.state_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2))
    tmp.replace(layout.state_file)


def _records(state: dict | None) -> list[ProcessRecord]:
    return [ProcessRecord.from_json(p) for p in (state or {}).get("processes", [])]


def _wipe(layout: Layout) -> None:
    """Removes everything but the logs (kept for post-mortems) and the lock."""
    for path in (layout.etcd_data, layout.pki):
        shutil.rmtree(path, ignore_errors=True)
    for path in (layout.kubeconfig, layout.state_file):
        path.unlink(missing_ok=True)


# ---------------------------------------------------------------- helpers


def _free_ports(count: int) -> list[int]:
    """Ports the kernel hands out for 127.0.0.1, all held open at once so they differ."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((HOST, 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _crashed(records: list[ProcessRecord]) -> ProcessRecord | None:
    return next((r for r in records if not is_running(r)), None)


def _crash_message(record: ProcessRecord) -> str:
    return f"{record.name} (pid {record.pid}) exited. Last lines of {record.log}:\n" + log_tail(
        record.log
    )


def wait_for(
    what: str, check: Callable[[], bool], records: list[ProcessRecord], timeout: float
) -> None:
    """Polls `check` until it returns True.

    Raises ClusterError at once, with the tail of its log, if one of `records` has
    exited, and after `timeout` seconds with the tail of every log.
    """
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return
        dead = _crashed(records)
        if dead:
            raise ClusterError(f"while waiting for {what}: {_crash_message(dead)}")
        if time.monotonic() > deadline:
            logs = "\n\n".join(f"--- {r.name}\n{log_tail(r.log, 10)}" for r in records)
            raise ClusterError(f"timed out after {timeout:.0f} s waiting for {what}\n{logs}")
        time.sleep(0.1)


def _admin_ctx(layout: Layout):
    admin = layout.pki
    return api.client_context(admin / "ca.crt", admin / "admin.crt", admin / "admin.key")


def _server(ports: Ports) -> str:
    return f"https://{HOST}:{ports.apiserver}"


def _apiserver_ready(layout: Layout, ports: Ports) -> bool:
    try:
        ctx = _admin_ctx(layout)
    except (OSError, ssl.SSLError):  # credentials not written yet, or wiped by a `down`
        return False
    status, body = api.get(f"{_server(ports)}/readyz", ctx)
    return status == 200 and body.strip() == "ok"


def _kubectl(bins: Binaries, layout: Layout, *args: str, input: str | None = None) -> str:
    result = subprocess.run(
        [str(bins.path("kubectl")), f"--kubeconfig={layout.component_kubeconfig('admin')}", *args],
        input=input, capture_output=True, text=True, timeout=120,
    )
    if result.returncode != 0:
        raise ClusterError(f"kubectl {' '.join(args)} failed:\n{result.stderr.strip()}")
    return result.stdout


def _install_crds(bins: Binaries, layout: Layout) -> None:
    """Installs crds/*.yaml before the controller-manager starts.

    The garbage collector only learns about resource types created after it
    started on a 30 s resync; installed first, owner deletion of custom
    resources cascades at once.
    """
    # crds/kustomization.yaml is kustomize's index (deploy/ builds on it), not an API object.
    files = sorted(p for p in CRDS_DIR.glob("*.yaml") if p.name != "kustomization.yaml")
    if not files:
        return
    args = ["apply", "--server-side", "--force-conflicts"]
    for path in files:
        args += ["-f", str(path)]
    _kubectl(bins, layout, *args)
    _kubectl(bins, layout, "wait", "--for=condition=Established", "crd", "--all", "--timeout=60s")


def _write_kubeconfigs(layout: Layout, creds: certs.Credentials, server: str) -> None:
    for name, (user, _groups) in certs.CLIENTS.items():
        client = creds.clients[name]
        kubeconfig.write(
            layout.component_kubeconfig(name),
            kubeconfig.render(server, creds.ca_cert, client.cert, client.key, user),
        )


# ---------------------------------------------------------------- public API


def current(state_dir: Path | str | None = None) -> Cluster | None:
    """The cluster in `state_dir` if every component runs and the apiserver is ready."""
    layout = Layout(_state_dir(state_dir))
    state = _load(layout)
    if not state or not state.get("ready"):
        return None
    records = _records(state)
    if _crashed(records) or not layout.kubeconfig.is_file():
        return None
    ports = Ports.from_json(state["ports"])
    if not _apiserver_ready(layout, ports):
        return None
    return Cluster(
        layout.state_dir, layout.kubeconfig, Path(state["bin_dir"]), _server(ports),
        real_node="node" in state,
    )


def containerd_socket(state_dir: Path | str | None = None) -> Path:
    """Where the real node's containerd of the cluster in `state_dir` listens."""
    return Layout(_state_dir(state_dir)).containerd_socket


def up(state_dir: Path | str | None = None, timeout: float = START_TIMEOUT) -> Cluster:
    """Starts the control plane, or returns the one already running in `state_dir`."""
    layout = Layout(_state_dir(state_dir))
    running = current(layout.state_dir)
    if running:
        return running
    with _locked(layout.state_dir):
        running = current(layout.state_dir)  # someone else may have won the race
        if running:
            return running
        leftovers = _records(_load(layout))
        if leftovers:
            # A half-dead cluster from before: say what died, stop the rest, start clean.
            for dead in (r for r in leftovers if not is_running(r)):
                log.warning("restarting the control plane: %s", _crash_message(dead))
        _stop_all(layout, _load(layout))
        _wipe(layout)
        bins = ensure_built()
        return _start(bins, layout, timeout)


def _start(bins: Binaries, layout: Layout, timeout: float) -> Cluster:
    layout.logs.mkdir(parents=True, exist_ok=True)
    for old in layout.logs.glob("*.log"):
        old.unlink()
    creds = certs.generate(layout.pki)
    ports = Ports(*_free_ports(5))
    server = _server(ports)
    _write_kubeconfigs(layout, creds, server)

    state: dict = {
        "bin_dir": str(bins.bin_dir),
        "server": server,
        "ports": ports.to_json(),
        "processes": [],
        "ready": False,
    }
    records: list[ProcessRecord] = []

    def launch(name: str, argv: list[str]) -> None:
        records.append(spawn(name, argv, layout.logs / f"{name}.log"))
        state["processes"] = [r.to_json() for r in records]
        state.setdefault("argv", {})[name] = argv  # for `restart`
        _save(layout, state)  # recorded at once, so `down` can stop a half-started cluster

    try:
        launch("etcd", components.etcd(bins, layout, ports))
        etcd_ctx = api.insecure_context()
        wait_for(
            "etcd",
            lambda: api.get(f"http://{HOST}:{ports.etcd_client}/health", etcd_ctx)[0] == 200,
            records, timeout,
        )

        launch("kube-apiserver", components.apiserver(bins, layout, ports, creds))
        wait_for(
            "kube-apiserver /readyz", lambda: _apiserver_ready(layout, ports), records, timeout
        )

        _install_crds(bins, layout)
        _kubectl(bins, layout, "create", "-f", "-", input=json.dumps(nodes.manifest()))

        launch(
            "kube-controller-manager",
            components.controller_manager(bins, layout, ports, creds),
        )
        launch("kube-scheduler", components.scheduler(bins, layout, ports))
        launch("kwok", components.kwok(bins, layout))

        admin = _admin_ctx(layout)
        insecure = api.insecure_context()
        checks: list[tuple[str, Callable[[], bool]]] = [
            (
                "kube-controller-manager /healthz",
                lambda: api.get(f"https://{HOST}:{ports.controller_manager}/healthz", insecure)[0]
                == 200,
            ),
            (
                "kube-scheduler /healthz",
                lambda: api.get(f"https://{HOST}:{ports.scheduler}/healthz", insecure)[0] == 200,
            ),
            (
                "kwok to mark the Nodes Ready",
                lambda: nodes.all_ready(api.get_json(f"{server}/api/v1/nodes", admin)),
            ),
            (
                "the default ServiceAccount",
                lambda: api.get(
                    f"{server}/api/v1/namespaces/default/serviceaccounts/default", admin
                )[0]
                == 200,
            ),
        ]
        for what, check in checks:
            wait_for(what, check, records, timeout)

        def save_node(node: dict) -> None:
            state["node"] = node  # recorded at once: `down` restores what it lists
            _save(layout, state)

        start_node, why_not = realnode.wanted()
        if start_node:
            save_node(realnode.start(realnode.NodeContext(
                bin_dir=bins.bin_dir,
                layout=layout,
                creds=creds,
                apiserver_port=ports.apiserver,
                launch=launch,
                save=save_node,
                kubectl=lambda *args, input=None: _kubectl(bins, layout, *args, input=input),
                wait_for=lambda what, check: wait_for(what, check, records, timeout),
                free_ports=_free_ports,
            )))
        else:
            log.warning("kwok nodes only: %s", why_not)
    except realnode.NodeError as err:
        _stop_all(layout, state)
        layout.state_file.unlink(missing_ok=True)
        raise ClusterError(str(err)) from None
    except BaseException:
        _stop_all(layout, state)
        layout.state_file.unlink(missing_ok=True)
        raise

    shutil.copyfile(layout.component_kubeconfig("admin"), layout.kubeconfig)
    layout.kubeconfig.chmod(0o600)
    state["ready"] = True
    _save(layout, state)
    return Cluster(
        layout.state_dir, layout.kubeconfig, bins.bin_dir, server, started=True,
        real_node="node" in state,
    )


# Components `restart` can stop and start again, and what says each is back.
RESTARTABLE = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")


def restart(component: str, state_dir: Path | str | None = None, kill: bool = False,
            down_for: float = 0.0, timeout: float = START_TIMEOUT) -> None:
    """Stops one component of a running cluster (SIGTERM, or SIGKILL with `kill`), keeps
    it down for `down_for` seconds, starts it again with the same command line, and
    waits until it answers: a fault for tests to inject."""
    if component not in RESTARTABLE:
        raise ValueError(f"{component!r} is not one of {', '.join(RESTARTABLE)}")
    layout = Layout(_state_dir(state_dir))
    with _locked(layout.state_dir):
        state = _load(layout)
        if not state or not state.get("ready"):
            raise ClusterError(f"no running cluster in {layout.state_dir}")
        records = _records(state)
        old = next(r for r in records if r.name == component)
        if kill:
            with contextlib.suppress(ProcessLookupError):
                os.kill(old.pid, signal.SIGKILL)
        stop([old])  # SIGTERM, or the reaping of the killed one
        time.sleep(down_for)
        new = spawn(component, state["argv"][component], Path(old.log))
        records = [new if r is old else r for r in records]
        state["processes"] = [r.to_json() for r in records]
        _save(layout, state)
    ports = Ports.from_json(state["ports"])
    if component == "etcd":
        etcd_ctx = api.insecure_context()
        wait_for("etcd", lambda: api.get(f"http://{HOST}:{ports.etcd_client}/health",
                                         etcd_ctx)[0] == 200, [new], timeout)
    elif component == "kube-apiserver":
        wait_for("kube-apiserver /readyz", lambda: _apiserver_ready(layout, ports), [new],
                 timeout)
    else:
        wait_for(component, lambda: is_running(new), [new], timeout)


def down(state_dir: Path | str | None = None) -> list[str]:
    """Stops exactly the processes `up` recorded and removes the state (logs stay).

    Returns the names of the components that were still running.
    """
    layout = Layout(_state_dir(state_dir))
    if not layout.state_dir.is_dir():
        return []
    with _locked(layout.state_dir):
        return _down(layout)


def _down(layout: Layout) -> list[str]:
    stopped = _stop_all(layout, _load(layout))
    _wipe(layout)
    return stopped


def _stop_all(layout: Layout, state: dict | None) -> list[str]:
    """Stops every recorded process, newest first; the real node's in its own order,
    with the machine restored after it."""
    records = _records(state)
    node = [r for r in records if r.name in realnode.PROCESS_NAMES]
    stopped = []
    if node or (state or {}).get("node"):
        bin_dir = Path(state["bin_dir"]) if state and state.get("bin_dir") else None
        stopped += realnode.teardown(layout, (state or {}).get("node"), node, bin_dir)
    rest = [r for r in records if r.name not in realnode.PROCESS_NAMES]
    return stopped + stop(list(reversed(rest)))


@contextlib.contextmanager
def shared(state_dir: Path | str | None = None) -> Iterator[Cluster]:
    """The cluster for the duration of the block, shared with concurrent users.

    Each user leaves a marker file (its PID and start time) in `users/`. At the
    end the cluster is taken down only if this block started it and no other
    live user is left: several test runs in one checkout can share one cluster.
    """
    layout = Layout(_state_dir(state_dir))
    users = layout.state_dir / "users"
    users.mkdir(parents=True, exist_ok=True)
    me = _this_process()
    marker = users / f"{me.pid}"
    with _locked(layout.state_dir):
        marker.write_text(json.dumps(me.to_json()))
    cluster: Cluster | None = None
    try:
        cluster = up(layout.state_dir)
        yield cluster
    finally:
        with _locked(layout.state_dir):
            marker.unlink(missing_ok=True)
            others = []
            for path in users.iterdir():
                if _marker_alive(path):
                    others.append(path)
                else:
                    path.unlink(missing_ok=True)  # left by a run that was killed
            if cluster is not None and cluster.started and not others:
                _down(layout)


def _this_process() -> ProcessRecord:
    """This process, recorded like a component (so PID reuse is detected)."""
    pid = os.getpid()
    return ProcessRecord("user", pid, start_ticks(pid) or 0, "")


def _marker_alive(path: Path) -> bool:
    try:
        return is_running(ProcessRecord.from_json(json.loads(path.read_text())))
    except (OSError, ValueError, KeyError):
        return False


def status(state_dir: Path | str | None = None) -> Status:
    layout = Layout(_state_dir(state_dir))
    state = _load(layout)
    if not state:
        return Status(layout.state_dir)
    comps = tuple(
        ComponentStatus(r.name, r.pid, is_running(r), r.log) for r in _records(state)
    )
    problems = tuple(
        f"{c.name} (pid {c.pid}) is not running. Last lines of {c.log}:\n{log_tail(c.log)}"
        for c in comps
        if not c.running
    )
    ports = Ports.from_json(state["ports"])
    code, body = (0, "")
    with contextlib.suppress(OSError, ssl.SSLError):
        code, body = api.get(f"{_server(ports)}/readyz", _admin_ctx(layout))
    readyz = body.strip() if code else "unreachable"
    if not state.get("ready") and not problems:
        problems = ("start-up did not finish",)
    ready = bool(state.get("ready")) and not problems and code == 200
    return Status(layout.state_dir, comps, ready, readyz, problems)
