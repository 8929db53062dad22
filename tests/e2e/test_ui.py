"""The page in a real browser: photo upload, live camera, and its error messages."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from tests.e2e.uiserver import serving

pytestmark = [pytest.mark.browser, pytest.mark.photos, pytest.mark.slow]

FAKE_CAMERA = ("--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream")

# Pixels of the canvas in each finger colour (CSS colours from the page config).
COUNT_COLOURS = """
const canvas = document.getElementById(arguments[0]);
const cfg = JSON.parse(document.getElementById("page-config").textContent);
const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
const counts = {};
for (const [finger, css] of Object.entries(cfg.fingerColours)) {
  const [r, g, b] = css.match(/\\d+/g).map(Number);
  let n = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (Math.abs(data[i] - r) < 40 && Math.abs(data[i + 1] - g) < 40
        && Math.abs(data[i + 2] - b) < 40 && data[i + 3] > 200) n++;
  }
  counts[finger] = n;
}
return counts;
"""


def test_upload_shows_the_annotated_photo_and_the_hands_table(
    ui_server, browser, hands_dir: Path, artifacts: Path
) -> None:
    driver = browser()
    driver.get(ui_server + "/")
    assert driver.title == "HandTracker browser test"
    driver.find_element(By.ID, "file-input").send_keys(
        str(hands_dir / "mpsamples_hand_thumb_up.jpg")
    )
    wait = WebDriverWait(driver, 30)
    wait.until(ec.visibility_of_element_located((By.ID, "upload-result")))

    rows = driver.find_elements(By.CSS_SELECTOR, "#hands-table tbody tr")
    assert len(rows) == 1
    cells = [c.text for c in rows[0].find_elements(By.TAG_NAME, "td")]
    assert cells[1] in ("Left", "Right")
    assert 0.5 <= float(cells[2]) <= 1.0
    assert cells[3] == "Thumbs up"
    assert "Found 1 hand" in driver.find_element(By.ID, "upload-status").text

    # The skeleton is drawn over the photo in every finger colour.
    canvas = driver.find_element(By.ID, "annotated")
    assert int(canvas.get_attribute("width")) == 640
    counts = driver.execute_script(COUNT_COLOURS, "annotated")
    assert all(n > 50 for n in counts.values()), counts

    # The landmark coordinates appear on demand: 21 rows for the one hand.
    assert not driver.find_element(By.ID, "landmarks").is_displayed()
    driver.find_element(By.ID, "show-landmarks").click()
    coordinate_rows = driver.find_elements(By.CSS_SELECTOR, "#landmarks tbody tr")
    assert len(coordinate_rows) == 21
    assert coordinate_rows[0].find_element(By.TAG_NAME, "td").text == "WRIST"
    driver.find_element(By.ID, "show-landmarks").click()
    driver.save_screenshot(str(artifacts / "ui-upload.png"))


def test_upload_of_a_photo_without_hands_says_so(ui_server, browser, hands_dir: Path) -> None:
    driver = browser()
    driver.get(ui_server + "/")
    driver.find_element(By.ID, "file-input").send_keys(str(hands_dir / "nohand_skimage_coffee.png"))
    status = driver.find_element(By.ID, "upload-status")
    WebDriverWait(driver, 30).until(lambda d: "No hand" in status.text)
    assert driver.find_elements(By.CSS_SELECTOR, "#hands-table tbody tr") == []


def test_the_thorough_switch_sends_the_photo_again_and_finds_a_hand_standard_misses(
    ui_server, browser, hands_dir: Path
) -> None:
    driver = browser()
    driver.get(ui_server + "/")
    switch = driver.find_element(By.ID, "thorough")
    assert not switch.is_selected()  # the server's default mode is standard
    # Two people at 1280x720: their hands are too small for one full-frame pass.
    driver.find_element(By.ID, "file-input").send_keys(
        str(hands_dir / "panoptic_mpii_005880453_01.jpg")
    )
    status = driver.find_element(By.ID, "upload-status")
    WebDriverWait(driver, 30).until(lambda d: "No hand" in status.text)

    switch.click()
    WebDriverWait(driver, 30).until(lambda d: "Found" in status.text)
    rows = driver.find_elements(By.CSS_SELECTOR, "#hands-table tbody tr")
    assert len(rows) >= 1
    counts = driver.execute_script(COUNT_COLOURS, "annotated")
    assert all(n > 0 for n in counts.values()), counts


def test_live_camera_draws_landmarks_and_counts_frames(
    ui_server, browser, fake_camera: Path, artifacts: Path
) -> None:
    driver = browser(*FAKE_CAMERA, f"--use-file-for-fake-video-capture={fake_camera}")
    driver.get(ui_server + "/")
    driver.find_element(By.ID, "tab-live").click()
    driver.find_element(By.ID, "camera-start").click()

    frames = driver.find_element(By.ID, "frames")
    WebDriverWait(driver, 30).until(lambda d: int(frames.text) >= 10)
    first_frames, first_time = int(frames.text), time.monotonic()
    time.sleep(4)
    later_frames, later_time = int(frames.text), time.monotonic()
    fps_text = driver.find_element(By.ID, "fps").text
    latency_text = driver.find_element(By.ID, "latency").text
    server_text = driver.find_element(By.ID, "server-ms").text

    measured_fps = (later_frames - first_frames) / (later_time - first_time)
    assert measured_fps > 2, (first_frames, later_frames)
    assert float(fps_text) > 2
    assert latency_text.endswith(" ms") and int(latency_text.split()[0]) > 0

    # Landmarks are on the overlay and a gesture is shown for the hand.
    WebDriverWait(driver, 10).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#live-gestures li .gesture")
    )
    counts = driver.execute_script(COUNT_COLOURS, "overlay")
    assert sum(n > 20 for n in counts.values()) >= 4, counts
    assert driver.find_element(By.ID, "live-status").text.startswith("Tracking")
    driver.save_screenshot(str(artifacts / "ui-live.png"))
    (artifacts / "ui-live.json").write_text(
        json.dumps(
            {
                "framesPerSecondShown": float(fps_text),
                "framesPerSecondMeasured": round(measured_fps, 2),
                "roundTripShown": latency_text,
                "serverInferenceShown": server_text,
            },
            indent=2,
        )
    )
    print(f"live: {measured_fps:.1f} fps, round trip {latency_text}, inference {server_text}")

    driver.find_element(By.ID, "camera-stop").click()
    assert driver.find_element(By.ID, "live-status").text == "Camera stopped."


def test_denied_camera_permission_is_explained(ui_server, browser) -> None:
    driver = browser("--use-fake-device-for-media-stream", "--deny-permission-prompts")
    driver.get(ui_server + "/")
    driver.find_element(By.ID, "tab-live").click()
    driver.find_element(By.ID, "camera-start").click()
    status = driver.find_element(By.ID, "live-status")
    WebDriverWait(driver, 15).until(lambda d: "denied" in status.text)
    assert "error" in status.get_attribute("class")
    assert driver.find_element(By.ID, "camera-start").is_enabled()


def test_a_full_server_is_reported_as_busy(browser, fake_camera: Path, tmp_path: Path) -> None:
    with serving(tmp_path, HANDTRACKER_MAX_SESSIONS="0") as url:
        driver = browser(*FAKE_CAMERA, f"--use-file-for-fake-video-capture={fake_camera}")
        driver.get(url + "/")
        driver.find_element(By.ID, "tab-live").click()
        driver.find_element(By.ID, "camera-start").click()
        status = driver.find_element(By.ID, "live-status")
        WebDriverWait(driver, 20).until(lambda d: "busy" in status.text)
        assert "warn" in status.get_attribute("class")
        # The camera is released and can be started again.
        WebDriverWait(driver, 5).until(lambda d: d.find_element(By.ID, "camera-start").is_enabled())
        assert driver.find_element(By.ID, "frames").text == "0"
