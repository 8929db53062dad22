"""Headless Chromium against the real server (`python -m handtracker_workload`).

The browser is Debian's chromium with its chromedriver, driven by Selenium.
Screenshots and measured figures go to artifacts/ (not committed). The live
view's camera is Chromium's fake capture device playing a .y4m file converted
from the test video at test time.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from tests.e2e.uiserver import serving
from tests.support.repo import REPO_ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = REPO_ROOT / "artifacts"


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serving(tmp_path_factory.mktemp("ui-server")) as url:
        yield url


@pytest.fixture(scope="session")
def fake_camera(hand_video: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test video as a .y4m file for Chromium's fake camera (made here, never committed).

    Scaled to 360 px wide and cut to 6 s to keep the raw file small; Chromium
    loops it.
    """
    ffmpeg = shutil.which("ffmpeg")
    assert ffmpeg, "ffmpeg is needed to make the fake camera's .y4m file"
    out = tmp_path_factory.mktemp("camera") / "hand.y4m"
    subprocess.run(
        [ffmpeg, "-loglevel", "error", "-y", "-i", str(hand_video), "-t", "6",
         "-vf", "scale=360:-2", "-pix_fmt", "yuv420p", str(out)],
        check=True,
        timeout=120,
    )  # fmt: skip
    return out


def _options(profile: Path, extra: list[str]) -> webdriver.ChromeOptions:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless",
        "--no-sandbox",  # the tests run as root
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
        "--window-size=1280,1000",
        f"--user-data-dir={profile}",
        *extra,
    ):
        options.add_argument(arg)
    return options


@pytest.fixture()
def browser(tmp_path: Path) -> Iterator[Callable[..., webdriver.Chrome]]:
    """A factory of fresh Chromium sessions (own profile each), quit after the test."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.fail("chromium and chromium-driver are needed (hack/system-deps.sh installs them)")
    drivers: list[webdriver.Chrome] = []

    def start(*extra: str) -> webdriver.Chrome:
        profile = tmp_path / f"profile-{len(drivers)}"
        driver = webdriver.Chrome(
            options=_options(profile, list(extra)), service=Service(str(CHROMEDRIVER))
        )
        drivers.append(driver)
        return driver

    yield start
    for driver in drivers:
        driver.quit()
