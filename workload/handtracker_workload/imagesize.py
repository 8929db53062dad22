"""Image format and dimensions read from the first bytes, without decoding.

This is what lets the service refuse a 100-megapixel bomb before allocating
its pixels. Only the formats we decode are parsed; others are recognised so
they can be refused as unsupported rather than as garbage.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

DECODABLE = ("jpeg", "png", "webp", "bmp")

# Recognised but refused (415): GIF, TIFF, HEIF/AVIF, JPEG 2000, ICO.
_OTHER_SIGNATURES = (
    (b"GIF87a", "gif"), (b"GIF89a", "gif"),
    (b"II*\x00", "tiff"), (b"MM\x00*", "tiff"),
    (b"\x00\x00\x00\x0cjP  ", "jpeg2000"), (b"\x00\x00\x01\x00", "ico"),
)  # fmt: skip

# JPEG start-of-frame markers (baseline, progressive, lossless, arithmetic).
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


class HeaderError(ValueError):
    """The header is cut short or inconsistent."""


@dataclass(frozen=True)
class ImageHeader:
    format: str
    width: int
    height: int
    # JPEG only: offset of the main image's start-of-scan, to tell a complete
    # file (an end-of-image marker after it) from a truncated one.
    scan_offset: int = 0
    # JPEG only: the Exif orientation (1 = as stored, 2-8 = flipped/rotated).
    orientation: int = 1

    @property
    def pixels(self) -> int:
        return self.width * self.height


def sniff(data: bytes) -> str | None:
    """The format's name from its signature, or None when unrecognised."""
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:2] == b"BM":
        return "bmp"
    if data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"mif1", b"avif", b"msf1"):
        return "heif"
    for signature, name in _OTHER_SIGNATURES:
        if data.startswith(signature):
            return name
    return None


def read(data: bytes) -> ImageHeader:
    """Format and size of a decodable image; HeaderError when cut short."""
    kind = sniff(data)
    try:
        if kind == "jpeg":
            return _jpeg(data)
        if kind == "png":
            return _checked("png", *struct.unpack(">II", data[16:24]))
        if kind == "webp":
            return _webp(data)
        if kind == "bmp":
            return _bmp(data)
    except struct.error as exc:
        raise HeaderError(f"{kind} header is cut short") from exc
    raise HeaderError(f"not a decodable format: {kind}")


def _checked(
    kind: str, width: int, height: int, scan_offset: int = 0, orientation: int = 1
) -> ImageHeader:
    if width <= 0 or height <= 0:
        raise HeaderError(f"{kind} header gives a {width}x{height} image")
    return ImageHeader(kind, width, height, scan_offset, orientation)


def _jpeg(data: bytes) -> ImageHeader:
    size: tuple[int, int] | None = None
    orientation = 1
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise HeaderError("jpeg marker expected")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # markers without a length
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if marker in _SOF:
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            size = (width, height)
        if marker == 0xE1 and data[pos + 4 : pos + 10] == b"Exif\x00\x00":
            orientation = exif_orientation(data[pos + 10 : pos + 2 + length])
        if marker == 0xDA:  # start of scan: the header is over
            if size is None:
                raise HeaderError("jpeg scan before any frame header")
            return _checked("jpeg", *size, scan_offset=pos, orientation=orientation)
        pos += 2 + length
    raise HeaderError("jpeg header is cut short")


def exif_orientation(tiff: bytes) -> int:
    """The Orientation tag (0x0112) of an Exif block's first IFD; 1 when absent or malformed."""
    order = {b"II": "<", b"MM": ">"}.get(tiff[:2])
    if order is None or len(tiff) < 8:
        return 1
    (ifd,) = struct.unpack(order + "I", tiff[4:8])
    if ifd + 2 > len(tiff):
        return 1
    (count,) = struct.unpack(order + "H", tiff[ifd : ifd + 2])
    for entry in range(ifd + 2, min(ifd + 2 + 12 * count, len(tiff) - 11), 12):
        tag, kind, _, value = struct.unpack(order + "HHIH", tiff[entry : entry + 10])
        if tag == 0x0112 and kind == 3:  # SHORT
            return value if 1 <= value <= 8 else 1
    return 1


def _webp(data: bytes) -> ImageHeader:
    chunk = data[12:16]
    if chunk == b"VP8X":
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        if len(data) < 30:
            raise HeaderError("webp header is cut short")
        return _checked("webp", width, height)
    if chunk == b"VP8 ":
        if data[23:26] != b"\x9d\x01\x2a":
            raise HeaderError("webp VP8 start code missing")
        width, height = struct.unpack("<HH", data[26:30])
        return _checked("webp", width & 0x3FFF, height & 0x3FFF)
    if chunk == b"VP8L":
        if data[20:21] != b"\x2f":
            raise HeaderError("webp VP8L signature missing")
        (bits,) = struct.unpack("<I", data[21:25])
        return _checked("webp", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    raise HeaderError("webp header is cut short or has an unknown chunk")


def _bmp(data: bytes) -> ImageHeader:
    (dib_size,) = struct.unpack("<I", data[14:18])
    if dib_size == 12:  # OS/2 BITMAPCOREHEADER
        width, height = struct.unpack("<hh", data[18:22])
    else:
        width, height = struct.unpack("<ii", data[18:26])
    return _checked("bmp", width, abs(height))  # negative height = top-down rows
