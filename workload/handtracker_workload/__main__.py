"""`python -m handtracker_workload [--bind HOST:PORT]`: the production server.

Checks the HANDTRACKER_* settings (a bad value stops here, naming the
variable), makes sure the model bundle exists, gives Prometheus a fresh
multiprocess directory under /tmp, then execs gunicorn with gunicorn_conf.py.
Exec rather than run gunicorn in this process: PROMETHEUS_MULTIPROC_DIR must be
set before prometheus_client is first imported, and the server then keeps this
PID (PID 1 in a container) so it receives SIGTERM directly.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from . import bundle
from .config import ConfigError, Settings

FALLBACK_BUNDLE_DIR = Path(tempfile.gettempdir()) / "handtracker-models"


def bundle_dir(settings: Settings) -> Path:
    """Where the model bundle is, building it (in /tmp if need be) when missing."""
    try:
        bundle.ensure(settings.model_bundle_dir, settings.model_complexity)
        return settings.model_bundle_dir
    except OSError:  # e.g. a read-only image without a prebuilt bundle
        bundle.ensure(FALLBACK_BUNDLE_DIR, settings.model_complexity)
        return FALLBACK_BUNDLE_DIR


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m handtracker_workload")
    parser.add_argument("--bind", help="HOST:PORT (default 0.0.0.0:$HANDTRACKER_PORT)")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"handtracker-workload: {exc}", file=sys.stderr)
        return 2
    env = dict(os.environ)
    env["HANDTRACKER_MODEL_BUNDLE_DIR"] = str(bundle_dir(settings))
    # The exec'd interpreter must find this package however it was found here.
    package_parent = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_parent, env.get("PYTHONPATH")]))
    # MediaPipe's native INFO/WARNING lines are not JSON and say nothing actionable.
    env.setdefault("GLOG_minloglevel", "2")
    env["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="handtracker-metrics-")
    command = [sys.executable, "-m", "gunicorn", "--config",
               "python:handtracker_workload.gunicorn_conf"]  # fmt: skip
    if args.bind:
        command += ["--bind", args.bind]
    os.execve(sys.executable, command, env)
    return 0  # not reached


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
