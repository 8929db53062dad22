"""Where the real hand photos are read from: HANDTRACKER_TESTDATA, by default
../shared/testdata/hands next to the checkout (they are not part of the repository)."""

from __future__ import annotations

import os
from pathlib import Path

from tests.support.repo import REPO_ROOT

DEFAULT_TESTDATA = REPO_ROOT.parent / "shared" / "testdata" / "hands"


def testdata_dir() -> Path:
    return Path(os.environ.get("HANDTRACKER_TESTDATA", str(DEFAULT_TESTDATA))).resolve()
