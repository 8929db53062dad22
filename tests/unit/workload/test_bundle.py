from __future__ import annotations

import zipfile

import pytest
from handtracker_workload import bundle


@pytest.mark.parametrize("complexity", ["full", "lite"])
def test_bundle_holds_the_wheel_models_uncompressed(tmp_path, complexity):
    path = bundle.build(tmp_path, complexity)
    assert path.name == f"hand_landmarker_{complexity}.task"
    with zipfile.ZipFile(path) as zf:
        infos = {i.filename: i for i in zf.infolist()}
    assert set(infos) == {"hand_detector.tflite", "hand_landmarks_detector.tflite"}
    assert all(i.compress_type == zipfile.ZIP_STORED for i in infos.values())
    models = bundle.mediapipe_root() / "modules"
    landmark = models / "hand_landmark" / f"hand_landmark_{complexity}.tflite"
    assert infos["hand_landmarks_detector.tflite"].file_size == landmark.stat().st_size
    palm = models / "palm_detection" / "palm_detection_full.tflite"
    assert infos["hand_detector.tflite"].file_size == palm.stat().st_size
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_ensure_reuses_an_existing_bundle(tmp_path):
    first = bundle.ensure(tmp_path, "full")
    mtime = first.stat().st_mtime_ns
    assert bundle.ensure(tmp_path, "full").stat().st_mtime_ns == mtime


def test_unknown_complexity_is_refused(tmp_path):
    with pytest.raises(ValueError):
        bundle.build(tmp_path, "heavy")
