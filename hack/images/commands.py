"""Running the external tools (buildah, debootstrap, gcc, ctr): one place that checks they
exist, keeps each command's full output in a log file and raises with its tail."""

from __future__ import annotations

import collections
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from .paths import log_dir

# Lines of a failed command's output quoted in the error; the rest is in its log file.
TAIL_LINES = 25

# The Debian package that provides each tool (hack/system-deps.sh installs them).
PACKAGES = {
    "buildah": "buildah",
    "debootstrap": "debootstrap",
    "gcc": "gcc",
    "ctr": "containerd",
    "chroot": "coreutils",
}


class ImageBuildError(RuntimeError):
    pass


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def require(tools: Sequence[str]) -> None:
    """Fails early, naming every missing tool and the root requirement at once."""
    problems = []
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        packages = " ".join(sorted({PACKAGES.get(t, t) for t in missing}))
        problems.append(
            f"missing {', '.join(missing)} (bash hack/system-deps.sh, or: apt-get install "
            f"{packages})"
        )
    if os.geteuid() != 0:
        # buildah's storage in /var/lib/containers, debootstrap's chroot and ctr's socket
        # all need it; rootless buildah would keep a second, separate image store.
        problems.append("building and loading images needs root")
    if problems:
        raise ImageBuildError("; ".join(problems))


def run(
    cmd: Sequence[str | Path],
    *,
    log_name: str | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> str:
    """Runs cmd and returns its stdout. With log_name, stdout and stderr go to
    <logs>/<log_name>.log as they come (long builds) and stdout is not returned."""
    args = [str(c) for c in cmd]
    if log_name is None:
        result = subprocess.run(
            args, capture_output=True, text=True, env=env, cwd=cwd, check=False
        )
        if result.returncode != 0:
            raise _failed(args, result.returncode, result.stderr or result.stdout, None)
        return result.stdout
    log_file = log_dir() / f"{log_name}.log"
    tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
    with open(log_file, "w") as out:
        out.write(f"$ {shlex.join(args)}\n")
        out.flush()
        proc = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            errors="replace", env=env, cwd=cwd,
        )  # fmt: skip
        assert proc.stdout is not None
        for line in proc.stdout:
            out.write(line)
            tail.append(line)
        returncode = proc.wait()
    if returncode != 0:
        raise _failed(args, returncode, "".join(tail), log_file)
    return ""


def _failed(args: list[str], code: int, output: str, log_file: Path | None) -> ImageBuildError:
    lines = output.rstrip().splitlines()[-TAIL_LINES:]
    where = f"\n(full output: {log_file})" if log_file else ""
    return ImageBuildError(
        f"`{shlex.join(args)}` failed (exit {code}):\n" + "\n".join(lines) + where
    )


class Timer:
    """Seconds since it was made; the build, publish and pull steps report them."""

    def __init__(self) -> None:
        self.started = time.monotonic()

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started
