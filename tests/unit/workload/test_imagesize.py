"""Header parsing on images encoded here, in every decodable format."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from handtracker_workload import imagesize


def _encode(ext: str, width: int, height: int, *params: int) -> bytes:
    image = np.random.default_rng(0).integers(0, 255, (height, width, 3), np.uint8)
    ok, buf = cv2.imencode(ext, image, list(params))
    assert ok
    return buf.tobytes()


@pytest.mark.parametrize(
    ("ext", "params", "kind"),
    [
        (".jpg", (), "jpeg"),
        (".jpg", (cv2.IMWRITE_JPEG_PROGRESSIVE, 1), "jpeg"),
        (".png", (), "png"),
        (".webp", (cv2.IMWRITE_WEBP_QUALITY, 80), "webp"),  # lossy: VP8
        (".webp", (cv2.IMWRITE_WEBP_QUALITY, 101), "webp"),  # lossless: VP8L
        (".bmp", (), "bmp"),
    ],
)
@pytest.mark.parametrize(("width", "height"), [(33, 17), (640, 480), (17, 333)])
def test_reads_format_and_size(ext, params, kind, width, height):
    header = imagesize.read(_encode(ext, width, height, *params))
    assert (header.format, header.width, header.height) == (kind, width, height)


def test_webp_extended_header():
    # VP8X: canvas size in 24-bit fields, as written by tools that add metadata.
    data = b"RIFF\x00\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00\x00\x00\x00\x00"
    data += (4999).to_bytes(3, "little") + (2999).to_bytes(3, "little")
    assert imagesize.read(data) == imagesize.ImageHeader("webp", 5000, 3000)


def test_jpeg_size_comes_from_the_frame_header_not_a_thumbnail():
    body = _encode(".jpg", 300, 200)
    thumbnail = _encode(".jpg", 16, 16)
    app1 = b"\xff\xe1" + (len(thumbnail) + 2).to_bytes(2, "big") + thumbnail
    header = imagesize.read(body[:2] + app1 + body[2:])
    assert (header.width, header.height) == (300, 200)


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"GIF89a\x01\x00\x01\x00", "gif"),
        (b"II*\x00\x08\x00\x00\x00", "tiff"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00", "heif"),
        (b"hello world", None),
        (b"", None),
    ],
)
def test_sniff_recognises_formats_we_refuse(data, kind):
    assert imagesize.sniff(data) == kind


@pytest.mark.parametrize(
    "data",
    [
        b"\xff\xd8\xff\xe0\x00\x10JFIF",  # stops inside the header
        b"\x89PNG\r\n\x1a\n\x00\x00",
        b"RIFF\x00\x00\x00\x00WEBPVP8 ",
        b"BM\x00\x00",
        b"\xff\xd8\xff\xda\x00\x02",  # scan before any frame header
    ],
)
def test_cut_headers_raise(data):
    with pytest.raises(imagesize.HeaderError):
        imagesize.read(data)
