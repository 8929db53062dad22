"""Multipart uploads kept in memory.

werkzeug spools a file part over 500 KB to a temporary file and reads it back;
for a phone photo that is a disk round trip of megabytes per request. An upload
here is at most MAX_CONTENT_LENGTH (HANDTRACKER_MAX_UPLOAD_BYTES plus slack, or
the video limit) and is read whole straight after, so memory holds it anyway.

The image routes go further and take their one field straight out of the body
(file_part()): werkzeug's streaming form parser spends about 3.5 ms of CPU on a
2.5 MB photo, a search for the boundary 0.2 ms.
"""

from __future__ import annotations

import io
from typing import IO

from flask import Request
from werkzeug.http import parse_options_header


class InMemoryUploadRequest(Request):
    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        return io.BytesIO()


def file_part(body: bytes, boundary: str, name: str) -> bytes | None:
    """The content of the first file part (one with a filename) named `name` of
    a multipart/form-data body (RFC 7578); None when there is none or the body
    is malformed: what request.files.get(name) would give."""
    if not boundary:
        return None
    delimiter = b"\r\n--" + boundary.encode("latin-1")
    if body.startswith(delimiter[2:]):  # the first one may open the body, without CRLF
        pos = len(delimiter) - 2
    elif (pos := body.find(delimiter)) >= 0:  # after a preamble
        pos += len(delimiter)
    else:
        return None
    while not body.startswith(b"--", pos):  # "--" after a delimiter ends the body
        line_end = body.find(b"\r\n", pos)  # the delimiter line's end
        headers_end = body.find(b"\r\n\r\n", line_end)
        if line_end < 0 or headers_end < 0:
            return None
        end = body.find(delimiter, headers_end + 4)
        if end < 0:
            return None
        if _file_name(body[line_end + 2 : headers_end]) == name:
            return body[headers_end + 4 : end]
        pos = end + len(delimiter)
    return None


def _file_name(headers: bytes) -> str | None:
    """The part's field name if it is a file; werkzeug makes the others form fields."""
    for line in headers.decode("latin-1").split("\r\n"):
        key, _, value = line.partition(":")
        if key.strip().lower() == "content-disposition":
            options = parse_options_header(value)[1]
            return options.get("name") if "filename" in options else None
    return None
