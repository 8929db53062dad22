"""The image file taken straight out of a multipart/form-data body."""

from __future__ import annotations

import io

import pytest
from handtracker_workload import upload
from werkzeug.datastructures import MultiDict
from werkzeug.formparser import MultiPartParser

BOUNDARY = "b0undary-7d1f"
PHOTO = b"\xff\xd8\xff\xe0 not really a photo \r\n-- but bytes with CRLF and dashes\r\n"


def _part(name: str, content: bytes, filename: str | None = "photo.jpg") -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
    head = f"Content-Disposition: {disposition}\r\nContent-Type: image/jpeg\r\n\r\n"
    return f"--{BOUNDARY}\r\n".encode() + head.encode() + content + b"\r\n"


def _body(*parts: bytes, preamble: bytes = b"") -> bytes:
    return preamble + b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def _werkzeug(body: bytes, name: str) -> bytes | None:
    """What werkzeug's own parser finds, for comparison."""
    parser = MultiPartParser(lambda *a, **k: io.BytesIO(), cls=MultiDict)
    try:
        form, files = parser.parse(io.BytesIO(body), BOUNDARY.encode(), len(body))
    except ValueError:
        return None
    return files[name].read() if name in files else None


@pytest.mark.parametrize(
    "body",
    [
        _body(_part("image", PHOTO)),
        _body(_part("other", b"x"), _part("image", PHOTO)),
        _body(_part("image", PHOTO), _part("image", b"second")),  # the first one counts
        _body(_part("image", PHOTO), preamble=b"a preamble\r\n"),
        _body(_part("image", b"")),
        _body(_part("image", PHOTO, filename=None)),  # a form field, not a file
        _body(_part("image", b"text", filename=None), _part("image", PHOTO)),
        _body(_part("image", PHOTO, filename="")),
        _body(_part("IMAGE", PHOTO)),  # names are case-sensitive
        _body(_part("images", PHOTO)),
        _body(_part("other", PHOTO)),
        _body(),
        b"",
        _body(_part("image", PHOTO))[:-30],  # cut short: no closing delimiter
        _body(_part("image", PHOTO)).replace(b"\r\n\r\n", b"\r\n", 1),  # headers never end
        f"--{BOUNDARY}\r\n\r\n".encode() + PHOTO + f"\r\n--{BOUNDARY}--".encode(),  # no headers
        _body(_part("image", PHOTO)).replace(b"Content-Disposition", b"content-DISPOSITION"),
    ],
)
def test_finds_what_werkzeugs_parser_finds(body: bytes):
    assert upload.file_part(body, BOUNDARY, "image") == _werkzeug(body, "image")


def test_the_quoted_name_is_read_as_werkzeug_reads_it():
    part = (
        f'--{BOUNDARY}\r\ncontent-disposition: form-data; filename="a;b.jpg"; name="image"\r\n\r\n'
    ).encode() + PHOTO + b"\r\n"  # fmt: skip
    assert upload.file_part(_body(part), BOUNDARY, "image") == PHOTO


def test_no_boundary_no_field():
    assert upload.file_part(_body(_part("image", PHOTO)), "", "image") is None
