from __future__ import annotations

from pathlib import Path

import pytest
from handtracker_workload.config import ConfigError, Settings, cgroup_cpu_limit, parse_quantity


def test_defaults_need_no_environment():
    settings = Settings.from_env({})
    assert settings.max_hands == 2
    assert settings.model_complexity == "full"
    assert settings.detection_mode == "standard"
    assert settings.max_upload_bytes == 10 * 2**20
    assert settings.max_pixels == 40_000_000
    assert settings.port == 8080
    assert settings.workers >= 1
    assert (settings.max_inflight, settings.max_queue, settings.queue_timeout) == (4, 16, 1.0)
    assert settings.jpeg_quality == 90
    assert (settings.max_sessions, settings.session_idle_seconds) == (4, 30.0)
    assert settings.video_max_bytes == 50 * 2**20
    assert (settings.video_max_frames, settings.video_max_seconds) == (1500, 60.0)
    assert settings.video_max_frame_pixels == 1920 * 1088


@pytest.mark.parametrize(
    ("variable", "value", "field", "expected"),
    [
        ("UI_TITLE", "Hands on", "ui_title", "Hands on"),
        ("LOG_LEVEL", "DEBUG", "log_level", "debug"),
        ("MODEL_COMPLEXITY", "lite", "model_complexity", "lite"),
        ("MAX_HANDS", "4", "max_hands", 4),
        ("DETECTION_MODE", "thorough", "detection_mode", "thorough"),
        ("DETECTION_MODE", "Standard", "detection_mode", "standard"),
        ("MIN_DETECTION_CONFIDENCE", "0.3", "min_detection_confidence", 0.3),
        ("MIN_TRACKING_CONFIDENCE", "1", "min_tracking_confidence", 1.0),
        ("MAX_UPLOAD_BYTES", "5Mi", "max_upload_bytes", 5 * 2**20),
        ("MAX_UPLOAD_BYTES", "1000", "max_upload_bytes", 1000),
        ("MAX_PIXELS", "12M", "max_pixels", 12_000_000),
        ("WORKERS", "3", "workers", 3),
        ("THREADS", "4", "threads", 4),
        ("MAX_INFLIGHT", "2", "max_inflight", 2),
        ("MAX_QUEUE", "40", "max_queue", 40),
        ("MAX_QUEUE", "0", "max_queue", 0),  # no queue: 503 as soon as every slot is busy
        ("QUEUE_TIMEOUT", "0.25", "queue_timeout", 0.25),
        ("JPEG_QUALITY", "75", "jpeg_quality", 75),
        ("PORT", "9000", "port", 9000),
        ("MODEL_BUNDLE_DIR", "/opt/models", "model_bundle_dir", Path("/opt/models")),
        ("MAX_SESSIONS", "3", "max_sessions", 3),
        ("MAX_SESSIONS", "0", "max_sessions", 0),  # live tracking off
        ("SESSION_IDLE_SECONDS", "12.5", "session_idle_seconds", 12.5),
        ("VIDEO_MAX_BYTES", "700000", "video_max_bytes", 700_000),
        ("VIDEO_MAX_BYTES", "20Mi", "video_max_bytes", 20 * 2**20),
        ("VIDEO_MAX_FRAMES", "100", "video_max_frames", 100),
        ("VIDEO_MAX_SECONDS", "2.5", "video_max_seconds", 2.5),
        ("VIDEO_MAX_FRAME_PIXELS", "2M", "video_max_frame_pixels", 2_000_000),
        ("MAX_HANDS", "  ", "max_hands", 2),  # blank = unset
        ("VIDEO_MAX_FRAMES", "", "video_max_frames", 1500),
    ],
)
def test_each_variable_is_read(variable, value, field, expected):
    settings = Settings.from_env({f"HANDTRACKER_{variable}": value})
    assert getattr(settings, field) == expected


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("LOG_LEVEL", "verbose"),
        ("MODEL_COMPLEXITY", "heavy"),
        ("MAX_HANDS", "0"),
        ("MAX_HANDS", "5"),
        ("MAX_HANDS", "two"),
        ("MIN_DETECTION_CONFIDENCE", "1.5"),
        ("MIN_TRACKING_CONFIDENCE", "-0.1"),
        ("MAX_UPLOAD_BYTES", "10MB"),
        ("MAX_UPLOAD_BYTES", "0"),
        ("MAX_PIXELS", "-1"),
        ("WORKERS", "0"),
        ("THREADS", "many"),
        ("MAX_INFLIGHT", "0"),
        ("MAX_QUEUE", "-1"),
        ("QUEUE_TIMEOUT", "0"),
        ("QUEUE_TIMEOUT", "soon"),
        ("JPEG_QUALITY", "101"),
        ("PORT", "70000"),
        ("MAX_SESSIONS", "-1"),
        ("MAX_SESSIONS", "many"),
        ("SESSION_IDLE_SECONDS", "0"),
        ("SESSION_IDLE_SECONDS", "nan"),
        ("VIDEO_MAX_BYTES", "0"),
        ("VIDEO_MAX_BYTES", "50MB"),
        ("VIDEO_MAX_FRAMES", "1.5"),
        ("VIDEO_MAX_SECONDS", "-3"),
        ("VIDEO_MAX_FRAME_PIXELS", "0"),
        ("DETECTION_MODE", "fast"),
    ],
)
def test_invalid_values_name_the_variable(variable, value):
    with pytest.raises(ConfigError, match=f"HANDTRACKER_{variable}="):
        Settings.from_env({f"HANDTRACKER_{variable}": value})


def test_threads_cover_every_admitted_queued_and_live_request_unless_set():
    settings = Settings(max_inflight=3, max_queue=10, max_sessions=2)
    assert settings.worker_threads == 3 + 10 + 2 + Settings.SPARE_THREADS
    assert Settings(threads=6, max_queue=10).worker_threads == 6


@pytest.mark.parametrize(
    ("text", "expected"),
    [("123", 123), ("1k", 1000), ("1Ki", 1024), ("10Mi", 10 * 2**20), ("2G", 2 * 10**9)],
)
def test_byte_and_pixel_settings_take_kubernetes_quantities(text, expected):
    assert parse_quantity(text) == expected


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"cpu.max": "max 100000\n"}, None),
        ({"cpu.max": "150000 100000\n"}, 2),
        ({"cpu.max": "50000 100000\n"}, 1),
        ({"cpu/cpu.cfs_quota_us": "400000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 4),
        ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),
        ({}, None),
    ],
)
def test_cpu_limit_from_cgroup_v2_or_v1(tmp_path, files, expected):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text)
    assert cgroup_cpu_limit(tmp_path) == expected


DIGEST = "4e53be8637c6cb3cc416d000dc6691ede7675baf7f8e80fbca389d15df729b9a"


def test_model_source_defaults_to_the_builtin_bundle():
    settings = Settings.from_env({})
    assert (settings.model_path, settings.model_sha256, settings.model_revision) == (
        None, None, None,
    )  # fmt: skip
    assert settings.termination_log == Path("/dev/termination-log")


def test_model_source_variables_are_read():
    settings = Settings.from_env({
        "HANDTRACKER_MODEL_PATH": "/models/hand_landmarker.task",
        "HANDTRACKER_MODEL_SHA256": f" {DIGEST}\n",
        "HANDTRACKER_MODEL_REVISION": "hands-3f2a9c1d",
        "HANDTRACKER_TERMINATION_LOG": "/tmp/term",
    })  # fmt: skip
    assert settings.model_path == Path("/models/hand_landmarker.task")
    assert settings.model_sha256 == DIGEST
    assert settings.model_revision == "hands-3f2a9c1d"
    assert settings.termination_log == Path("/tmp/term")


@pytest.mark.parametrize(
    "value",
    [DIGEST.upper(), DIGEST[:-1], DIGEST + "0", f"sha256:{DIGEST}", DIGEST[:-1] + "g", "x"],
    ids=["uppercase", "short", "long", "prefixed", "not-hex", "junk"],
)
def test_a_malformed_sha256_is_a_config_error_naming_the_variable(value):
    with pytest.raises(ConfigError, match=r"HANDTRACKER_MODEL_SHA256=.* is invalid: .*sha256"):
        Settings.from_env({"HANDTRACKER_MODEL_SHA256": value})
