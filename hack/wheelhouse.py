"""A wheelhouse: every wheel `pip install .[operator]` needs, the build backend included,
so that a fresh virtualenv installs the operator with `--no-index --find-links` (the
packaging test does, without reaching PyPI).

It lives under ~/.cache/handtracker/wheelhouse/<key> (HANDTRACKER_WHEELHOUSE moves the
parent), the key a hash of the operator's and the build backend's locks: `make venv` fills
it again only when one of them changes, and checkouts that pin differently keep their own.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from hack.gobuild import cache_dir, locked

ROOT = Path(__file__).resolve().parents[1]
# The operator's whole closure and the build backend, hash-checked as they are fetched.
LOCKS = (ROOT / "requirements" / "operator.lock", ROOT / "requirements" / "build.lock")


def key() -> str:
    digest = hashlib.sha256()
    for lock in LOCKS:
        digest.update(hashlib.sha256(lock.read_bytes()).digest())
    return digest.hexdigest()[:16]


def path() -> Path:
    """The wheelhouse for the current pins (it may not be filled yet)."""
    return cache_dir("wheelhouse", "HANDTRACKER_WHEELHOUSE") / key()


def fill() -> tuple[Path, bool]:
    """(the wheelhouse, whether it was filled now). Filled in a temporary folder and then
    renamed, so a folder under its final name is always complete."""
    target = path()
    if target.is_dir():
        return target, False
    target.parent.mkdir(parents=True, exist_ok=True)
    with locked(target.parent / ".lock"):
        if target.is_dir():
            return target, False
        tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".filling-"))
        try:
            subprocess.run(
                [sys.executable, "-m", "pip", "wheel", "-q", "--require-hashes",
                 "--wheel-dir", tmp, *(arg for lock in LOCKS for arg in ("-r", lock))],
                check=True,
            )  # fmt: skip
            tmp.rename(target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return target, True


if __name__ == "__main__":
    where, filled = fill()
    print(f"{'filled' if filled else 'up to date'}: wheelhouse {where}")
