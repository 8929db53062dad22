"""Bytes in, RGB pixels out, under byte and pixel limits.

The header is read first (imagesize.py), so an oversized image is refused
before any pixel is allocated. Large JPEGs are decoded at 1/2, 1/4 or 1/8 of
their size by libjpeg's DCT scaling, which is several times cheaper than a
full decode followed by a resize. That loses nothing the detector can use:
MediaPipe sees the whole image at 192x192 for palm detection and each hand at
224x224 for landmarks, and a palm small enough to need more than
REDUCED_MIN_LONG_SIDE pixels of image would be too small to be detected at all.
Landmarks are normalised, so they map back to the original pixel grid exactly.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import cv2
import numpy as np

from . import errors, imagesize

# Reduced JPEG decoding keeps at least this many pixels on the long side.
REDUCED_MIN_LONG_SIDE = 1000
_REDUCED_FLAGS = {
    8: cv2.IMREAD_REDUCED_COLOR_8,
    4: cv2.IMREAD_REDUCED_COLOR_4,
    2: cv2.IMREAD_REDUCED_COLOR_2,
}


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_pixels: int


@dataclass(frozen=True)
class DecodedImage:
    """rgb may be smaller than width x height by `reduction` (a power of two)."""

    rgb: np.ndarray
    width: int
    height: int
    format: str
    reduction: int
    decode_seconds: float


def reduction_for(width: int, height: int) -> int:
    """The largest power-of-two scale-down that keeps REDUCED_MIN_LONG_SIDE pixels."""
    long_side = max(width, height)
    for factor in _REDUCED_FLAGS:
        if -(-long_side // factor) >= REDUCED_MIN_LONG_SIDE:
            return factor
    return 1


def to_rgb(data: bytes, limits: Limits, *, allow_reduced: bool = True) -> DecodedImage:
    """Decodes an uploaded image; raises errors.ApiError for anything unusable."""
    start = time.perf_counter()
    header = check(data, limits)
    reducible = allow_reduced and header.format == "jpeg"  # only libjpeg scales while decoding
    factor = reduction_for(header.width, header.height) if reducible else 1
    flag = _REDUCED_FLAGS.get(factor, cv2.IMREAD_COLOR)
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), flag)
    if bgr is None or bgr.size == 0:
        raise errors.undecodable(header.format)
    width, height = header.width, header.height
    decoded_h, decoded_w = bgr.shape[:2]
    if width != height and (decoded_w > decoded_h) != (width > height):
        width, height = height, width  # EXIF orientation rotated the image
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    return DecodedImage(rgb, width, height, header.format, factor, time.perf_counter() - start)


def check(data: bytes, limits: Limits) -> imagesize.ImageHeader:
    """Every check that needs no decoding: size, format, dimensions, completeness."""
    if not data:
        raise errors.empty_body()
    if len(data) > limits.max_bytes:
        raise errors.too_many_bytes(limits.max_bytes)
    kind = imagesize.sniff(data)
    if kind is None:
        raise errors.not_an_image()
    if kind not in imagesize.DECODABLE:
        raise errors.unsupported(f"image/{kind}")
    try:
        header = imagesize.read(data)
    except imagesize.HeaderError:
        raise errors.truncated(kind) from None
    if header.pixels > limits.max_pixels:
        raise errors.too_many_pixels(header.width, header.height, limits.max_pixels)
    if min(header.width, header.height) < 16:
        size = f"{header.width}x{header.height}"
        raise errors.unusable(f"the image is {size}; hands need 16x16 pixels or more")
    if not _complete(data, header):
        raise errors.truncated(kind)
    return header


def _complete(data: bytes, header: imagesize.ImageHeader) -> bool:
    # libjpeg and libpng fill a cut-off image with grey and return success, so
    # completeness is checked from the end markers instead.
    if header.format == "jpeg":
        return data.rfind(b"\xff\xd9") > header.scan_offset
    if header.format == "png":
        return data.rfind(b"IEND") > 0
    return True


def for_detection(image: DecodedImage) -> np.ndarray:
    """The pixels to run the detector on: a full-size large image is shrunk as a
    reduced decode would have done (INTER_AREA, the cheap equivalent)."""
    height, width = image.rgb.shape[:2]
    factor = reduction_for(width, height)
    if factor == 1:
        return image.rgb
    size = (-(-width // factor), -(-height // factor))
    return cv2.resize(image.rgb, size, interpolation=cv2.INTER_AREA)
