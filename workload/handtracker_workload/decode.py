"""Bytes in, RGB pixels out, under byte and pixel limits.

The header is read first (imagesize.py), so an oversized image is refused
before any pixel is allocated. JPEGs, nearly every upload, are decoded by
libjpeg-turbo through simplejpeg straight into RGB (no BGR copy to convert),
and large ones at 1/2, 1/4 or 1/8 of their size by libjpeg's DCT scaling, which
is several times cheaper than a full decode followed by a resize. That loses
nothing the detector can use: MediaPipe sees the whole image at 192x192 for
palm detection and each hand at 224x224 for landmarks, and a palm small enough
to need more than REDUCED_MIN_LONG_SIDE pixels of image would be too small to
be detected at all. Landmarks are normalised, so they map back to the original
pixel grid exactly. Other formats, and JPEGs libjpeg-turbo cannot turn into
RGB (CMYK), go through OpenCV.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import cv2
import numpy as np
import simplejpeg

from . import errors, imagesize
from .config import Settings

# Reduced JPEG decoding keeps at least this many pixels on the long side.
REDUCED_MIN_LONG_SIDE = 1000
REDUCTIONS = (8, 4, 2)

# Exif orientation -> the operations that show the image upright.
_ORIENT = {
    2: lambda a: cv2.flip(a, 1),
    3: lambda a: cv2.rotate(a, cv2.ROTATE_180),
    4: lambda a: cv2.flip(a, 0),
    5: cv2.transpose,
    6: lambda a: cv2.rotate(a, cv2.ROTATE_90_CLOCKWISE),
    7: lambda a: cv2.flip(cv2.transpose(a), -1),
    8: lambda a: cv2.rotate(a, cv2.ROTATE_90_COUNTERCLOCKWISE),
}


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_pixels: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        """An upload's limits: HANDTRACKER_MAX_UPLOAD_BYTES, HANDTRACKER_MAX_PIXELS."""
        return cls(settings.max_upload_bytes, settings.max_pixels)


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
    for factor in REDUCTIONS:
        if -(-long_side // factor) >= REDUCED_MIN_LONG_SIDE:
            return factor
    return 1


def to_rgb(
    data: bytes,
    limits: Limits,
    *,
    allow_reduced: bool = True,
    header: imagesize.ImageHeader | None = None,
    buffer: np.ndarray | None = None,
) -> DecodedImage:
    """Decodes an uploaded image; raises errors.ApiError for anything unusable.

    `header` is check()'s result when the caller already ran it. A JPEG is
    decoded into `buffer` (flat uint8, buffers.py) when one is given."""
    start = time.perf_counter()
    header = header or check(data, limits)
    reducible = allow_reduced and header.format == "jpeg"  # only libjpeg scales while decoding
    factor = reduction_for(header.width, header.height) if reducible else 1
    rgb = _jpeg(data, header, factor, buffer) if header.format == "jpeg" else None
    if rgb is None:
        rgb = _opencv(data, header, factor)
    width, height = header.width, header.height
    if header.orientation >= 5:
        width, height = height, width  # the Exif orientation turned the image
    return DecodedImage(rgb, width, height, header.format, factor, time.perf_counter() - start)


def _jpeg(
    data: bytes, header: imagesize.ImageHeader, factor: int, buffer: np.ndarray | None
) -> np.ndarray | None:
    # A large photo decoded at full size (to draw on) takes libjpeg's fast IDCT
    # and chroma upsampling: about 15 % less CPU for pixels about one level off,
    # which the detector never sees (it gets 2x2 averages, see for_detection:
    # landmarks moved < 0.05 % of the image on the test photos) and which the
    # JPEG encoding quantises away. Smaller images, given to the detector as
    # decoded, keep the accurate decode: there the same change moved landmarks
    # by up to 1 % and once changed the number of hands found.
    fast = factor == 1 and reduction_for(header.width, header.height) > 1
    try:
        # strict=False: like libjpeg under OpenCV, warnings (extraneous bytes,
        # a premature end already ruled out by check) do not fail the decode.
        rgb = simplejpeg.decode_jpeg(
            data,
            "RGB",
            fastdct=fast,
            fastupsample=fast,
            strict=False,
            # libjpeg-turbo picks the smallest DCT scaling at least this big.
            min_width=-(-header.width // factor),
            min_height=-(-header.height // factor),
            buffer=buffer,
        )
    except ValueError:
        return None  # e.g. CMYK: OpenCV converts it
    turn = _ORIENT.get(header.orientation)
    return turn(rgb) if turn else rgb


def _opencv(data: bytes, header: imagesize.ImageHeader, factor: int) -> np.ndarray:
    flag = {
        8: cv2.IMREAD_REDUCED_COLOR_8, 4: cv2.IMREAD_REDUCED_COLOR_4,
        2: cv2.IMREAD_REDUCED_COLOR_2,
    }.get(factor, cv2.IMREAD_COLOR)  # fmt: skip
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), flag)  # applies Exif orientation itself
    if bgr is None or bgr.size == 0:
        raise errors.undecodable(header.format)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB, dst=bgr)


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


def for_detection(rgb: np.ndarray) -> np.ndarray:
    """The pixels to run the detector on: a full-size large image shrunk as a
    reduced decode would have done. Each halving by INTER_LINEAR averages
    2x2 pixels exactly, so repeated halvings give INTER_AREA's box average at a
    third of its cost."""
    height, width = rgb.shape[:2]
    factor = reduction_for(width, height)
    while factor > 1:
        width, height = -(-width // 2), -(-height // 2)
        rgb = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_LINEAR)
        factor //= 2
    return rgb
