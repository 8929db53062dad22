"""The gunicorn configuration follows the HANDTRACKER_* settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys

PRINT_CONF = """
import json
from handtracker_workload import gunicorn_conf as c
print(json.dumps({"bind": c.bind, "workers": c.workers, "threads": c.threads,
                  "worker_class": c.worker_class, "preload": c.preload_app,
                  "loglevel": c.loglevel, "accesslog": c.accesslog}))
"""


def _conf(**env: str) -> dict:
    full_env = {**os.environ, **env}
    done = subprocess.run(
        [sys.executable, "-c", PRINT_CONF], env=full_env, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_listens_on_all_interfaces_on_the_configured_port_with_threaded_workers():
    conf = _conf(
        HANDTRACKER_PORT="9123",
        HANDTRACKER_WORKERS="3",
        HANDTRACKER_THREADS="6",
        HANDTRACKER_LOG_LEVEL="warning",
    )
    assert conf == {
        "bind": ["0.0.0.0:9123"],
        "workers": 3,
        "threads": 6,
        "worker_class": "handtracker_workload.worker.BalancedThreadWorker",
        "preload": False,  # detectors are built in each worker, after fork
        "loglevel": "warning",
        "accesslog": None,
    }
