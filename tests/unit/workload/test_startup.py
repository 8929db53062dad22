"""`python -m handtracker_workload` refuses a model bundle before any worker starts:
exit 3, one JSON line on stderr and the reason in the termination-message file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from handtracker_workload import bundle

WRONG = "0" * 64


def start(tmp_path: Path, **variables: str) -> tuple[subprocess.CompletedProcess[str], str]:
    """Runs the server's start-up; returns it and the termination message."""
    termination = tmp_path / "termination-log"
    termination.write_text("")  # as the kubelet does: it exists before the container starts
    env = {
        **os.environ,
        "HANDTRACKER_MODEL_BUNDLE_DIR": str(tmp_path / "models"),
        "HANDTRACKER_TERMINATION_LOG": str(termination),
        "HANDTRACKER_WORKERS": "1",
        **variables,
    }
    done = subprocess.run(
        # Should start-up wrongly go on, the server is kept off any usual port.
        [sys.executable, "-m", "handtracker_workload", "--bind", "127.0.0.1:1"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    return done, termination.read_text()


def the_one_line(stderr: str) -> dict:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    return json.loads(lines[0])


def test_a_builtin_bundle_with_another_pinned_digest_is_refused(tmp_path):
    done, message = start(tmp_path, HANDTRACKER_MODEL_SHA256=WRONG)
    path = tmp_path / "models" / "hand_landmarker_full.task"
    actual = bundle.sha256_of(path)
    assert done.returncode == 3
    assert message == f"ModelDigestMismatch: {path} has sha256 {actual}, expected {WRONG}\n"
    line = the_one_line(done.stderr)
    assert (line["level"], line["event"], line["reason"]) == (
        "error", "model_rejected", "ModelDigestMismatch",
    )  # fmt: skip
    assert line["message"] == message.strip() and line["path"] == str(path)


@pytest.mark.parametrize("content", [b"", b"garbage, not a zip", b"PK\x03\x04truncated"])
def test_a_model_path_holding_no_bundle_is_refused(tmp_path, content):
    path = tmp_path / "hand_landmarker.task"
    path.write_bytes(content)
    done, message = start(tmp_path, HANDTRACKER_MODEL_PATH=str(path))
    assert done.returncode == 3
    assert message.startswith(f"ModelInvalid: {path} is not a .task bundle")
    assert message.count("\n") == 1 and message.endswith("\n")
    assert the_one_line(done.stderr)["reason"] == "ModelInvalid"
    assert not (tmp_path / "models").exists()  # no builtin bundle built to stand in for it


def test_a_missing_model_path_is_refused_even_without_a_termination_file(tmp_path):
    missing = tmp_path / "absent" / "hand_landmarker.task"
    done, _ = start(
        tmp_path, HANDTRACKER_MODEL_PATH=str(missing),
        HANDTRACKER_TERMINATION_LOG=str(tmp_path / "no-such-dir" / "termination-log"),
    )  # fmt: skip
    assert done.returncode == 3
    assert the_one_line(done.stderr)["message"] == f"ModelInvalid: {missing} does not exist"
    assert not (tmp_path / "no-such-dir").exists()
