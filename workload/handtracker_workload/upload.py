"""Multipart uploads kept in memory.

werkzeug spools a file part over 500 KB to a temporary file and reads it back;
for a phone photo that is a disk round trip of megabytes per request. An upload
here is at most MAX_CONTENT_LENGTH (HANDTRACKER_MAX_UPLOAD_BYTES plus slack, or
the video limit) and is read whole straight after, so memory holds it anyway.
"""

from __future__ import annotations

import io
from typing import IO

from flask import Request


class InMemoryUploadRequest(Request):
    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        return io.BytesIO()
