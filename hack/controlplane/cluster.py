"""Bringing the local control plane up, reporting on it, and taking it down.

Everything a cluster owns lives in one state folder (by default `.cluster/` in
the checkout): credentials, etcd data, logs, the admin kubeconfig, and
state.json with the ports and the exact processes that were started. A file
lock in that folder serialises concurrent `up`/`down` calls.

Members (the real node, hack/node/) join a control plane on its way up through a
`Handle`, and leave it before its own processes stop. This module knows them only
by the `Member` protocol: they are a layer above it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import ssl
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from hack.gobuild import locked

from . import api, certs, components, kubeconfig, nodes
from .build import Binaries, ensure_built
from .components import Layout, Ports
from .network import HOST, free_ports
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
    # The members that joined it (e.g. "node" when the real node runs beside kwok's).
    joined: tuple[str, ...] = ()

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


@dataclass(frozen=True)
class Handle:
    """A control plane on its way up, as a member joining it sees it: what it may use
    and how it records processes and state, so that `down` can undo a half-done join."""

    bins: Binaries
    layout: Layout
    creds: certs.Credentials
    ports: Ports
    timeout: float
    state: dict
    records: list[ProcessRecord]

    @property
    def server(self) -> str:
        return _server(self.ports)

    def launch(self, name: str, argv: list[str]) -> None:
        self.records.append(spawn(name, argv, self.layout.logs / f"{name}.log"))
        self.state["processes"] = [r.to_json() for r in self.records]
        self.state.setdefault("argv", {})[name] = argv  # for `restart`
        self.record()  # at once, so `down` can stop a half-started cluster

    def record(self, **parts: object) -> None:
        """Adds parts to the state file and saves it."""
        self.state.update(parts)
        _save(self.layout, self.state)

    def kubectl(self, *args: str, input: str | None = None) -> str:
        return _kubectl(self.bins, self.layout, *args, input=input)

    def wait_for(self, what: str, check: Callable[[], bool]) -> None:
        wait_for(what, check, self.records, self.timeout)


class Member(Protocol):
    """Something that joins the control plane with processes of its own."""

    name: str  # its part of state.json
    process_names: tuple[str, ...]

    def join(self, handle: Handle) -> None:
        """Starts the member, recording its part of the state (`handle.record(name=...)`)
        before its first change; or says in the log why it does not join."""
        ...

    def leave(self, layout: Layout, state: dict | None, records: list[ProcessRecord],
              bin_dir: Path | None) -> list[str]:
        """Stops the member's processes and undoes what it changed; returns what ran."""
        ...


# ---------------------------------------------------------------- state file


def _state_dir(state_dir: Path | str | None) -> Path:
    """An explicit folder, else HANDTRACKER_CLUSTER_DIR, else `.cluster/` in the checkout."""
    chosen = state_dir or os.environ.get("HANDTRACKER_CLUSTER_DIR")
    return Path(chosen).resolve() if chosen else DEFAULT_STATE_DIR


def _locked(state_dir: Path) -> contextlib.AbstractContextManager[None]:
    return locked(state_dir / "lock")


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
    _wait_established(bins, layout)


def _wait_established(bins: Binaries, layout: Layout, timeout: float = 60.0) -> None:
    """kubectl wait gives up at once, instead of waiting, on a CRD whose status the API
    server has not written yet ("status.conditions accessor error"): asked again then."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            _kubectl(bins, layout, "wait", "--for=condition=Established", "crd", "--all",
                     f"--timeout={max(1, int(deadline - time.monotonic()))}s")
            return
        except ClusterError as err:
            if "accessor error" not in str(err) or time.monotonic() > deadline:
                raise
        time.sleep(0.2)


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
        joined=_joined(state),
    )


def _joined(state: dict) -> tuple[str, ...]:
    return tuple(name for name in state.get("members", ()) if name in state)


def containerd_socket(state_dir: Path | str | None = None) -> Path:
    """Where the real node's containerd of the cluster in `state_dir` listens."""
    return Layout(_state_dir(state_dir)).containerd_socket


def up(
    state_dir: Path | str | None = None,
    timeout: float = START_TIMEOUT,
    members: Sequence[Member] = (),
) -> Cluster:
    """Starts the control plane and lets each member join, or returns the cluster
    already running in `state_dir`."""
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
        _stop_all(layout, _load(layout), members)
        _wipe(layout)
        return _start(ensure_built(), layout, timeout, members)


def _start(bins: Binaries, layout: Layout, timeout: float, members: Sequence[Member]) -> Cluster:
    layout.logs.mkdir(parents=True, exist_ok=True)
    for old in layout.logs.glob("*.log"):
        old.unlink()
    creds = certs.generate(layout.pki)
    ports = Ports(*free_ports(5))
    _write_kubeconfigs(layout, creds, _server(ports))
    state: dict = {
        "bin_dir": str(bins.bin_dir),
        "server": _server(ports),
        "ports": ports.to_json(),
        "processes": [],
        "members": [m.name for m in members],
        "ready": False,
    }
    handle = Handle(bins, layout, creds, ports, timeout, state, [])
    try:
        _start_control_plane(handle)
        for member in members:
            member.join(handle)
    except BaseException:
        _stop_all(layout, state, members)
        layout.state_file.unlink(missing_ok=True)
        raise

    shutil.copyfile(layout.component_kubeconfig("admin"), layout.kubeconfig)
    layout.kubeconfig.chmod(0o600)
    handle.record(ready=True)
    return Cluster(layout.state_dir, layout.kubeconfig, bins.bin_dir, handle.server,
                   started=True, joined=_joined(state))


def _start_control_plane(handle: Handle) -> None:
    """etcd, kube-apiserver, the project's CRDs, kwok's Nodes, the controller-manager, the
    scheduler and kwok, each waited for in turn."""
    bins, layout, ports, creds = handle.bins, handle.layout, handle.ports, handle.creds
    handle.launch("etcd", components.etcd(bins, layout, ports))
    insecure = api.insecure_context()
    handle.wait_for(
        "etcd", lambda: api.get(f"http://{HOST}:{ports.etcd_client}/health", insecure)[0] == 200
    )
    handle.launch("kube-apiserver", components.apiserver(bins, layout, ports, creds))
    handle.wait_for("kube-apiserver /readyz", lambda: _apiserver_ready(layout, ports))

    _install_crds(bins, layout)
    handle.kubectl("create", "-f", "-", input=json.dumps(nodes.manifest()))

    handle.launch("kube-controller-manager",
                  components.controller_manager(bins, layout, ports, creds))
    handle.launch("kube-scheduler", components.scheduler(bins, layout, ports))
    handle.launch("kwok", components.kwok(bins, layout))

    admin = _admin_ctx(layout)
    server = handle.server

    def answers(url: str, ctx: ssl.SSLContext) -> Callable[[], bool]:
        return lambda: api.get(url, ctx)[0] == 200

    handle.wait_for("kube-controller-manager /healthz",
                    answers(f"https://{HOST}:{ports.controller_manager}/healthz", insecure))
    handle.wait_for("kube-scheduler /healthz",
                    answers(f"https://{HOST}:{ports.scheduler}/healthz", insecure))
    handle.wait_for("kwok to mark the Nodes Ready",
                    lambda: nodes.all_ready(api.get_json(f"{server}/api/v1/nodes", admin)))
    handle.wait_for("the default ServiceAccount",
                    answers(f"{server}/api/v1/namespaces/default/serviceaccounts/default", admin))


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


def down(state_dir: Path | str | None = None, members: Sequence[Member] = ()) -> list[str]:
    """Stops exactly the processes `up` recorded and removes the state (logs stay).

    Returns the names of the components that were still running.
    """
    layout = Layout(_state_dir(state_dir))
    if not layout.state_dir.is_dir():
        return []
    with _locked(layout.state_dir):
        return _down(layout, members)


def _down(layout: Layout, members: Sequence[Member]) -> list[str]:
    stopped = _stop_all(layout, _load(layout), members)
    _wipe(layout)
    return stopped


def _stop_all(layout: Layout, state: dict | None, members: Sequence[Member]) -> list[str]:
    """Stops every recorded process, newest first, after each member has left (in its
    own order, restoring what it changed)."""
    state = state or {}
    given = {m.name for m in members}
    unknown = [name for name in _joined(state) if name not in given]
    if unknown:
        # Stopping a member's processes as plain ones would leave the machine changed.
        raise ClusterError(
            f"the cluster in {layout.state_dir} has members this call does not know "
            f"({', '.join(unknown)}): take it down with `python -m hack.bed down`"
        )
    records = _records(state)
    bin_dir = Path(state["bin_dir"]) if state.get("bin_dir") else None
    stopped: list[str] = []
    for member in members:
        mine = [r for r in records if r.name in member.process_names]
        if mine or state.get(member.name):
            stopped += member.leave(layout, state.get(member.name), mine, bin_dir)
        records = [r for r in records if r.name not in member.process_names]
    return stopped + stop(list(reversed(records)))


@contextlib.contextmanager
def shared(state_dir: Path | str | None = None,
           members: Sequence[Member] = ()) -> Iterator[Cluster]:
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
        cluster = up(layout.state_dir, members=members)
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
                _down(layout, members)


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
