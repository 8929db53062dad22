"""The operator as a real process against the local control plane, shared by the tests.

One clusterwide operator runs for the whole session (each test works in its own
namespace); tests that need it stopped or restarted do so through `operator`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from operator_harness import CRD, ROOT, OperatorProcess

from tests.fixtures.cluster import Kubectl


@pytest.fixture(scope="session")
def crd(cluster: Any) -> None:
    kc = Kubectl(cluster)
    kc("apply", "--server-side", "--force-conflicts", "-f", str(CRD))
    kc("wait", "--for=condition=Established", "crd/handtrackers.handtracking.dev",
       "--timeout=60s")


@pytest.fixture(scope="session")
def operator_process(cluster: Any, crd: None, tmp_path_factory: pytest.TempPathFactory
                     ) -> Iterator[OperatorProcess]:
    env = cluster.env()
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "operator")])
    env["HANDTRACKER_DEFAULT_IMAGE"] = "ghcr.io/handtracking-dev/handtracker-workload:0.1.0"
    process = OperatorProcess(env, tmp_path_factory.mktemp("operator") / "operator.log")
    process.start()
    yield process
    process.stop()


@pytest.fixture
def operator(operator_process: OperatorProcess) -> Iterator[OperatorProcess]:
    """The shared operator, running at the start and (re)started at the end of the test."""
    if operator_process.proc is None or operator_process.proc.poll() is not None:
        operator_process.start()
    yield operator_process
    if operator_process.proc is None or operator_process.proc.poll() is not None:
        operator_process.start()
