"""`handtracker-workload [--bind HOST:PORT]` (or `python -m handtracker_workload`): the
production server.

Checks the HANDTRACKER_* settings (a bad value stops here, naming the
variable, exit 2), finds the model bundle (HANDTRACKER_MODEL_PATH, else the
builtin one, built if missing) and verifies it: a bundle that is damaged or
not the pinned HANDTRACKER_MODEL_SHA256 stops here, before any worker starts,
with one JSON log line, a line in the termination-message file and exit 3.
The workers get the verified path and digest, so they load exactly that file
without hashing it again. Then it gives Prometheus a fresh multiprocess
directory under /tmp and execs gunicorn with gunicorn_conf.py.
Exec rather than run gunicorn in this process: PROMETHEUS_MULTIPROC_DIR must be
set before prometheus_client is first imported, and the server then keeps this
PID (PID 1 in a container) so it receives SIGTERM directly.
"""

from __future__ import annotations

import argparse
import logging
import logging.config
import os
import sys
import tempfile
from pathlib import Path

from . import bundle, logs
from .config import ConfigError, Settings

FALLBACK_BUNDLE_DIR = Path(tempfile.gettempdir()) / "handtracker-models"
EXIT_CONFIG_ERROR = 2
EXIT_MODEL_REJECTED = 3

log = logging.getLogger("handtracker_workload.startup")


def bundle_dir(settings: Settings) -> Path:
    """Where the model bundle is, building it (in /tmp if need be) when missing."""
    try:
        bundle.ensure(settings.model_bundle_dir, settings.model_complexity)
        return settings.model_bundle_dir
    except OSError:  # e.g. a read-only image without a prebuilt bundle
        bundle.ensure(FALLBACK_BUNDLE_DIR, settings.model_complexity)
        return FALLBACK_BUNDLE_DIR


def model_file(settings: Settings) -> Path:
    """The bundle to serve: HANDTRACKER_MODEL_PATH, else the builtin one."""
    if settings.model_path is not None:
        return settings.model_path.absolute()  # the workers need not share our cwd
    return bundle_dir(settings) / bundle.bundle_name(settings.model_complexity)


def reject(exc: bundle.ModelRejected, path: Path, termination_log: Path) -> None:
    """Says why the model was refused where both a log reader and `kubectl describe`
    look: one log line, and the container's termination message."""
    line = f"{exc.reason}: {exc}".replace("\n", " ")
    log.error(line, extra={"event": "model_rejected", "reason": exc.reason, "path": str(path)})
    try:
        # Only into a file that exists: the kubelet makes it; outside Kubernetes
        # nothing should appear in /dev.
        fd = os.open(termination_log, os.O_WRONLY | os.O_TRUNC)
        with os.fdopen(fd, "w") as out:
            out.write(line + "\n")
    except OSError:
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="handtracker-workload")
    parser.add_argument("--bind", help="HOST:PORT (default 0.0.0.0:$HANDTRACKER_PORT)")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"handtracker-workload: {exc}", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    logging.config.dictConfig(logs.config(settings.log_level))
    path = model_file(settings)
    try:
        digest = bundle.verify(path, settings.model_sha256)
    except bundle.ModelRejected as exc:
        reject(exc, path, settings.termination_log)
        return EXIT_MODEL_REJECTED
    log.info(
        "Verified model bundle",
        extra={"event": "model_verified", "path": str(path), "sha256": digest,
               "revision": settings.model_revision},
    )  # fmt: skip
    env = dict(os.environ)
    if settings.model_path is None:
        env["HANDTRACKER_MODEL_BUNDLE_DIR"] = str(path.parent)
    env["HANDTRACKER_MODEL_PATH"] = str(path)
    env["HANDTRACKER_MODEL_SHA256"] = digest
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
