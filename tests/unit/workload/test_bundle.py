from __future__ import annotations

import hashlib
import re
import zipfile
from pathlib import Path

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


@pytest.mark.parametrize("complexity", ["full", "lite"])
def test_the_same_wheel_gives_the_same_bytes(tmp_path, complexity):
    first = bundle.build(tmp_path / "a", complexity)
    second = bundle.build(tmp_path / "b", complexity)
    assert first.read_bytes() == second.read_bytes()
    digest = hashlib.sha256(second.read_bytes()).hexdigest()
    assert bundle.verify(first) == bundle.verify(second) == digest
    with zipfile.ZipFile(second) as zf:
        infos = zf.infolist()
    assert [i.filename for i in infos] == list(bundle.MEMBERS)
    assert {(i.date_time, i.external_attr >> 16) for i in infos} == {
        ((1980, 1, 1, 0, 0, 0), 0o100644)
    }


def test_the_two_complexities_differ(tmp_path):
    assert bundle.verify(bundle.build(tmp_path, "full")) != bundle.verify(
        bundle.build(tmp_path, "lite")
    )


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Path:
    return bundle.build(tmp_path_factory.mktemp("bundle"), "lite")


def test_verify_accepts_a_bundle_with_its_pinned_digest(good):
    digest = hashlib.sha256(good.read_bytes()).hexdigest()
    assert bundle.verify(good, digest) == digest
    assert bundle.verify(good, None) == digest


def test_verify_refuses_another_digest_naming_both_and_the_path(good):
    actual = hashlib.sha256(good.read_bytes()).hexdigest()
    with pytest.raises(bundle.ModelDigestMismatch) as caught:
        bundle.verify(good, "0" * 64)
    assert caught.value.reason == "ModelDigestMismatch"
    assert str(good) in str(caught.value)
    assert actual in str(caught.value) and "0" * 64 in str(caught.value)


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _truncated(good: Path, path: Path) -> Path:
    path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    return path


def _damaged(good: Path, path: Path) -> Path:
    data = bytearray(good.read_bytes())
    data[len(data) // 2] ^= 0xFF  # inside a model: the zip's directory is intact
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda good, p: p, "does not exist"),
        (lambda good, p: (p.mkdir(), p)[1], "is a directory"),
        (lambda good, p: (p.write_bytes(b"not a zip at all"), p)[1], "is not a .task bundle"),
        (lambda good, p: (p.write_bytes(b""), p)[1], "is not a .task bundle"),
        (_truncated, "is not a .task bundle"),
        (_damaged, "fails its CRC check"),
        (lambda good, p: _zip(p, {bundle.DETECTOR: b"x"}), f"no {bundle.LANDMARKS}"),
        (lambda good, p: _zip(p, {"other.tflite": b"x"}),
         f"no {bundle.DETECTOR}, {bundle.LANDMARKS}"),
    ],
    ids=["missing", "directory", "garbage", "empty", "truncated", "damaged",
         "no-landmarks-model", "no-models"],
)  # fmt: skip
def test_verify_refuses_what_is_not_a_bundle(good, tmp_path, make, says):
    path = make(good, tmp_path / "model.task")
    with pytest.raises(bundle.ModelInvalid, match=re.escape(says)) as caught:
        bundle.verify(path)
    assert caught.value.reason == "ModelInvalid"
    assert str(path) in str(caught.value)
    # A pinned digest does not turn a broken file into a mere mismatch.
    with pytest.raises(bundle.ModelInvalid):
        bundle.verify(path, "0" * 64)


def test_verify_refuses_a_path_it_cannot_open(tmp_path):
    (tmp_path / "a-file").write_bytes(b"")
    path = tmp_path / "a-file" / "model.task"  # ENOTDIR, whoever runs the test
    with pytest.raises(bundle.ModelInvalid, match="cannot be read"):
        bundle.verify(path)
