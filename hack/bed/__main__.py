"""Command line: python -m hack.bed up|down|status|env|kubectl ..."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

from hack.gobuild import BuildError

from . import ClusterError, current, down, status, up


def _cmd_up(args: argparse.Namespace) -> int:
    started = time.monotonic()
    cluster = up(args.state_dir)
    verb = "started" if cluster.started else "already running"
    print(
        f"control plane {verb} ({time.monotonic() - started:.1f} s): {cluster.server}\n"
        f"  export KUBECONFIG={cluster.kubeconfig}\n"
        f"  kubectl: {cluster.bin_dir / 'kubectl'}  (or: python -m hack.bed kubectl ...)"
    )
    return 0


def _cmd_down(args: argparse.Namespace) -> int:
    stopped = down(args.state_dir)
    print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    st = status(args.state_dir)
    if not st.exists:
        print(f"no control plane in {st.state_dir}")
        return 3
    for comp in st.components:
        print(f"{comp.name:<24} pid {comp.pid:<8} {'running' if comp.running else 'NOT RUNNING'}")
    print(f"/readyz: {st.readyz}")
    for problem in st.problems:
        print(problem, file=sys.stderr)
    if st.ready:
        print(f"export KUBECONFIG={st.state_dir / 'kubeconfig'}")
    return 0 if st.ready else 1


def _cmd_env(args: argparse.Namespace) -> int:
    cluster = current(args.state_dir)
    if cluster is None:
        print("the control plane is not running: python -m hack.bed up", file=sys.stderr)
        return 1
    print(f"export KUBECONFIG={cluster.kubeconfig}")
    print(f"export PATH={cluster.bin_dir}:$PATH")
    return 0


def _cmd_kubectl(args: argparse.Namespace) -> int:
    cluster = current(args.state_dir)
    if cluster is None:
        print("the control plane is not running: python -m hack.bed up", file=sys.stderr)
        return 1
    kubectl = str(cluster.bin_dir / "kubectl")
    os.execve(kubectl, [kubectl, *args.kubectl_args], cluster.env())
    return 127  # not reached


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hack.bed", description=__doc__)
    parser.add_argument(
        "--state-dir", type=Path, default=None,
        help="where the cluster keeps its state (default: .cluster/ in the checkout)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="start the control plane (returns at once if it runs)")
    sub.add_parser("down", help="stop the processes `up` started and remove the state")
    sub.add_parser("status", help="show each component; exit 0 only when all is well")
    sub.add_parser("env", help="print shell exports for KUBECONFIG and the pinned kubectl")
    kubectl = sub.add_parser("kubectl", help="run the pinned kubectl against the cluster")
    kubectl.add_argument("kubectl_args", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    handlers = {
        "up": _cmd_up, "down": _cmd_down,
        "status": _cmd_status, "env": _cmd_env, "kubectl": _cmd_kubectl,
    }
    try:
        return handlers[args.command](args)
    except (BuildError, ClusterError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
