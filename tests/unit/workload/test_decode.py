"""decode.to_rgb against hostile and unusual inputs (synthetic images)."""

from __future__ import annotations

import struct

import cv2
import numpy as np
import pytest
from handtracker_workload import decode
from handtracker_workload.config import Settings
from handtracker_workload.errors import ApiError

LIMITS = decode.Limits(max_bytes=2**20, max_pixels=4_000_000)


def _image(width: int, height: int) -> np.ndarray:
    bgr = np.zeros((height, width, 3), np.uint8)
    bgr[:, : width // 2] = (255, 0, 0)  # left half blue, to check channel order
    return bgr


def _encode(ext: str, bgr: np.ndarray, *params: int) -> bytes:
    return cv2.imencode(ext, bgr, list(params))[1].tobytes()


@pytest.mark.parametrize("ext", [".jpg", ".png", ".webp", ".bmp"])
def test_decodes_to_rgb(ext):
    image = decode.to_rgb(_encode(ext, _image(64, 48)), LIMITS)
    assert (image.width, image.height, image.reduction) == (64, 48, 1)
    assert image.rgb.shape == (48, 64, 3)
    assert image.rgb[24, 10, 2] > 200 and image.rgb[24, 10, 0] < 50  # blue is last in RGB


@pytest.mark.parametrize(
    ("size", "factor"),
    [((999, 999), 1), ((1998, 1000), 1), ((2000, 1000), 2), ((4000, 3000), 4), ((8000, 60), 8)],
)
def test_reduction_keeps_a_thousand_pixels_on_the_long_side(size, factor):
    assert decode.reduction_for(*size) == factor


def test_large_jpegs_decode_reduced_and_other_formats_do_not():
    limits = decode.Limits(2**24, 10**8)
    bgr = _image(2400, 1200)
    jpeg = decode.to_rgb(_encode(".jpg", bgr), limits)
    assert jpeg.reduction == 2 and jpeg.rgb.shape == (600, 1200, 3)
    assert (jpeg.width, jpeg.height) == (2400, 1200)
    full = decode.to_rgb(_encode(".jpg", bgr), limits, allow_reduced=False)
    assert full.rgb.shape == (1200, 2400, 3)
    assert decode.for_detection(full.rgb).shape == (600, 1200, 3)
    png = decode.to_rgb(_encode(".png", bgr), limits)
    assert png.reduction == 1 and png.rgb.shape == (1200, 2400, 3)


def test_exif_orientation_is_applied_and_sizes_follow_it():
    body = _encode(".jpg", _image(64, 32))
    # An APP1 Exif segment with Orientation = 6 (rotate 90 degrees clockwise).
    tiff = b"MM\x00*\x00\x00\x00\x08" + b"\x00\x01" + struct.pack(">HHIHH", 0x0112, 3, 1, 6, 0)
    tiff += b"\x00\x00\x00\x00"
    app1 = b"\xff\xe1" + struct.pack(">H", len(tiff) + 8) + b"Exif\x00\x00" + tiff
    image = decode.to_rgb(body[:2] + app1 + body[2:], LIMITS)
    assert image.rgb.shape == (64, 32, 3)
    assert (image.width, image.height) == (32, 64)


def _claiming(jpeg: bytes, width: int, height: int) -> bytes:
    sof = jpeg.index(b"\xff\xc0")
    return jpeg[: sof + 5] + struct.pack(">HH", height, width) + jpeg[sof + 9 :]


JPEG = _encode(".jpg", _image(64, 64))
PNG = _encode(".png", _image(64, 64))


def _corrupt_png() -> bytes:
    """Complete and well-formed up to its compressed data, which fails its CRC."""
    data = bytearray(PNG)
    data[data.index(b"IDAT") + 8] ^= 0xFF
    return bytes(data)


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        (b"", 400, "empty_body"),
        (b"<html></html>", 400, "not_an_image"),
        (JPEG[: len(JPEG) // 2], 400, "truncated_image"),
        (JPEG[:20], 400, "truncated_image"),
        (PNG[: len(PNG) - 20], 400, "truncated_image"),
        (_corrupt_png(), 400, "undecodable_image"),
        (b"GIF89a" + b"\x00" * 64, 415, "unsupported_media_type"),
        (b"II*\x00" + b"\x00" * 64, 415, "unsupported_media_type"),
        (JPEG + b"\x00" * 2**20, 413, "payload_too_large"),
        (_claiming(JPEG, 4000, 1001), 413, "too_many_pixels"),
        (_claiming(JPEG, 65535, 65535), 413, "too_many_pixels"),
        (_encode(".png", _image(8, 200)), 422, "unusable_image"),
    ],
    ids=lambda value: value if isinstance(value, str) and not value.isdigit() else "",
)
def test_hostile_inputs_raise_typed_errors(data, status, code):
    """Every unusable upload maps to its status and stable error code."""
    with pytest.raises(ApiError) as caught:
        decode.to_rgb(data, LIMITS)
    assert (caught.value.status, caught.value.code) == (status, code)
    assert caught.value.to_json()["error"]["code"] == code


def test_upload_limits_come_from_the_environment() -> None:
    env = {"HANDTRACKER_MAX_UPLOAD_BYTES": "2Mi", "HANDTRACKER_MAX_PIXELS": "12M"}
    assert decode.Limits.from_settings(Settings.from_env(env)) == decode.Limits(
        2 * 2**20, 12_000_000)
