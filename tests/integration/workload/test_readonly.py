"""The server on a read-only root filesystem with an empty /tmp, as in the container."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.net import free_port
from tests.support.repo import REPO_ROOT

pytestmark = [pytest.mark.photos, pytest.mark.slow]

# Runs inside a private mount namespace: / and every /work mount are remounted
# read-only and /tmp is a fresh tmpfs, so the model bundle must be built there. A
# checkout (or the photos) under /tmp stays visible, read-only, through the old /tmp.
SCRIPT = r"""
set -eu
mount --make-rprivate /
exec 3</tmp
mount -t tmpfs tmpfs /tmp
for keep in $KEEP; do
  mkdir -p "$keep"
  mount --no-canonicalize --bind "/proc/self/fd/3/${keep#/tmp/}" "$keep"
  mount -o remount,bind,ro "$keep"
done
exec 3<&-
mount -o remount,bind,ro /
for m in $(awk '$2 ~ "^/(work|root|home)" {print $2}' /proc/mounts); do
  mount -o remount,bind,ro "$m"
done
if touch "$REPO/.write-probe" 2>/dev/null; then echo "WRITABLE"; exit 1; fi
cd /
"$PYTHON" -m handtracker_workload --bind "127.0.0.1:$PORT" > /tmp/server.log 2>&1 &
for _ in $(seq 100); do
  sleep 0.2
  "$PYTHON" -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$PORT/readyz', timeout=2)" \
    2>/dev/null && break
done
"$PYTHON" - <<'PY'
import os, urllib.request as u
port = os.environ["PORT"]
photo = open(os.environ["PHOTO"], "rb").read()
req = u.Request(f"http://127.0.0.1:{port}/v1/landmarks", data=photo,
                headers={"Content-Type": "image/jpeg"})
print("STATUS", u.urlopen(req, timeout=30).status)
metrics = u.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
print("COUNTED", 'route="/v1/landmarks"' in metrics)
PY
ls /tmp
kill %1
wait
"""


def _under_tmp(*paths: Path) -> list[str]:
    """The top folders under /tmp that hold any of the paths (a clone in /tmp/x/...)."""
    tops = set()
    for path in paths:
        parts = path.absolute().parts
        if len(parts) > 2 and parts[:2] == ("/", "tmp"):
            tops.add(f"/tmp/{parts[2]}")
    return sorted(tops)


def _site_packages() -> list[Path]:
    return [Path(p) for p in sys.path if p.endswith("site-packages") and Path(p).is_dir()]


def _checkout_under_tmp(tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the workload and a virtualenv of its own, both under /tmp, as a
    fresh clone in /tmp has them: (checkout root, its python)."""
    root = tmp_path / "clone"
    shutil.copytree(REPO_ROOT / "workload", root / "workload",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    venv = root / ".venv"
    subprocess.run([sys._base_executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    # The packages stay those of this environment, found through a .pth file, but for the
    # workload: the clone's own folder, where an editable install of the clone points.
    site = next(venv.glob("lib/python*/site-packages"))
    paths = [root / "workload", *_site_packages()]
    (site / "environment.pth").write_text("".join(f"{p}\n" for p in paths))
    return root, venv / "bin" / "python"


needs_unshare = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None,
    reason="needs root and unshare(1) to remount / read-only in a private namespace",
)


@needs_unshare
@pytest.mark.parametrize("where", ["checkout", "clone-under-tmp"])
def test_serves_from_a_read_only_root_writing_only_to_tmp(hands_dir, tmp_path, where):
    repo, python = REPO_ROOT, Path(sys.executable)
    if where == "clone-under-tmp":
        repo, python = _checkout_under_tmp(tmp_path)
        assert str(python).startswith("/tmp/")
    env = {
        **os.environ,
        "REPO": str(repo),
        # The clone's virtualenv reads this environment's packages: kept too when they
        # live under /tmp (a checkout cloned there).
        "KEEP": " ".join(_under_tmp(repo, python, hands_dir, *_site_packages())),
        "PYTHON": str(python),
        "PORT": str(free_port()),
        "PHOTO": str(hands_dir / "openpose_hand.jpg"),
        "HANDTRACKER_WORKERS": "1",
        "HANDTRACKER_MODEL_BUNDLE_DIR": "/opt/handtracker/models",  # absent: built in /tmp
        "MPLCONFIGDIR": "/tmp/matplotlib",
    }
    done = subprocess.run(
        ["unshare", "--mount", "bash", "-c", SCRIPT],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "STATUS 200" in done.stdout and "COUNTED True" in done.stdout, done.stdout
    assert "handtracker-models" in done.stdout  # the bundle, built in /tmp
