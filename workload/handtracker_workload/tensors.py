"""The Open Inference Protocol (v2) body format: tensors in, tensors out. Pure, no HTTP.

A request is JSON, optionally followed by raw tensor bytes (the binary data
extension: the header `Inference-Header-Content-Length` gives the JSON's
length, and each input with `parameters.binary_data_size` takes that many of
the bytes that follow, in order). The one input, "image", is a BYTES tensor of
shape [1] holding the encoded image: in binary form a 4-byte little-endian
length and the bytes, as the v2 clients serialise BYTES; in JSON a base64
string with `parameters.content_type` "base64" (the KServe/MLServer codec).

The outputs are FP32 "landmarks" and "world_landmarks" [hands, 21, 3], BYTES
"handedness" [hands] and FP32 "scores" [hands]; each comes back as JSON data
or, when asked (`binary_data` on the output, `binary_data_output` on the
request), as raw little-endian bytes after the JSON.
"""

from __future__ import annotations

import base64
import binascii
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from . import errors
from .hands import Hand

INPUT = {"name": "image", "datatype": "BYTES", "shape": [1]}
OUTPUTS = (
    {"name": "landmarks", "datatype": "FP32", "shape": [-1, 21, 3]},
    {"name": "world_landmarks", "datatype": "FP32", "shape": [-1, 21, 3]},
    {"name": "handedness", "datatype": "BYTES", "shape": [-1]},
    {"name": "scores", "datatype": "FP32", "shape": [-1]},
)
OUTPUT_NAMES = tuple(o["name"] for o in OUTPUTS)


@dataclass(frozen=True)
class InferRequest:
    image: bytes
    id: str | None
    outputs: tuple[tuple[str, bool], ...]  # (name, as binary), in the order to return
    mode: str | None = None  # the request's parameters.mode: a detection mode


def parse(body: bytes, header_length: str | None) -> InferRequest:
    """The image and the wanted outputs of a v2 infer body; errors.bad_tensor when malformed."""
    head, binary = _split(body, header_length)
    try:
        request = orjson.loads(head)
    except orjson.JSONDecodeError as exc:
        raise errors.bad_tensor(f"the request is not JSON: {exc}") from None
    if not isinstance(request, dict) or not isinstance(request.get("inputs"), list):
        raise errors.bad_tensor("the request needs an 'inputs' list")
    inputs = request["inputs"]
    if len(inputs) != 1 or not isinstance(inputs[0], dict):
        raise errors.bad_tensor("send exactly one input, 'image'")
    image = _image(inputs[0], binary)
    request_id = request.get("id")
    mode = _parameters(request).get("mode")
    if mode is not None and not isinstance(mode, str):
        raise errors.bad_tensor("parameters.mode must be a string")
    return InferRequest(
        image=image,
        id=str(request_id) if request_id is not None else None,
        outputs=_wanted(request),
        mode=mode,
    )


def _split(body: bytes, header_length: str | None) -> tuple[bytes, bytes]:
    if header_length is None:
        return body, b""
    if not header_length.isdigit() or int(header_length) > len(body):
        raise errors.bad_tensor("Inference-Header-Content-Length does not fit the body")
    return body[: int(header_length)], body[int(header_length) :]


def _parameters(entry: dict[str, Any]) -> dict[str, Any]:
    params = entry.get("parameters") or {}
    if not isinstance(params, dict):
        raise errors.bad_tensor("'parameters' must be an object")
    return params


def _image(entry: dict[str, Any], binary: bytes) -> bytes:
    if entry.get("name") != INPUT["name"] or entry.get("datatype") != "BYTES":
        raise errors.bad_tensor("the input must be 'image', datatype BYTES")
    if entry.get("shape") not in ([1], [1, 1]):
        raise errors.bad_tensor("the 'image' tensor holds one image: shape [1]")
    params = _parameters(entry)
    size = params.get("binary_data_size")
    if size is not None:
        if not isinstance(size, int) or size != len(binary):
            raise errors.bad_tensor("binary_data_size does not match the bytes after the JSON")
        return _one_bytes_element(binary)
    if binary:
        raise errors.bad_tensor("binary data follows the JSON but no input declares it")
    data = entry.get("data")
    if isinstance(data, list) and len(data) == 1 and isinstance(data[0], list):
        data = data[0]  # [[...]] for shape [1, 1]
    if not (isinstance(data, list) and len(data) == 1 and isinstance(data[0], str)):
        raise errors.bad_tensor("'image' needs one element of data, or binary data")
    if params.get("content_type") != "base64":
        raise errors.bad_tensor(
            "send the image as binary data, or in JSON as base64 with "
            "parameters.content_type 'base64'"
        )
    try:
        return base64.b64decode(data[0], validate=True)
    except binascii.Error:
        raise errors.bad_tensor("the 'image' element is not valid base64") from None


def _one_bytes_element(binary: bytes) -> bytes:
    if len(binary) < 4:
        raise errors.bad_tensor("a BYTES element starts with its 4-byte length")
    (length,) = struct.unpack_from("<I", binary)
    if length != len(binary) - 4:
        raise errors.bad_tensor("the 'image' tensor must hold exactly one element")
    return binary[4:]


def _wanted(request: dict[str, Any]) -> tuple[tuple[str, bool], ...]:
    default_binary = bool(_parameters(request).get("binary_data_output", False))
    outputs = request.get("outputs")
    if outputs is None:
        return tuple((name, default_binary) for name in OUTPUT_NAMES)
    if not isinstance(outputs, list) or not all(isinstance(o, dict) for o in outputs):
        raise errors.bad_tensor("'outputs' must be a list of objects")
    wanted = []
    for output in outputs:
        name = output.get("name")
        if name not in OUTPUT_NAMES:
            raise errors.bad_tensor(f"unknown output {name!r}; outputs: {', '.join(OUTPUT_NAMES)}")
        wanted.append((name, bool(_parameters(output).get("binary_data", default_binary))))
    return tuple(wanted)


def tensors(hands: Sequence[Hand]) -> dict[str, np.ndarray]:
    """Every output tensor of one detection."""
    return {
        "landmarks": np.array(
            [[(p.x, p.y, p.z) for p in h.landmarks] for h in hands], np.float32
        ).reshape(-1, 21, 3),
        "world_landmarks": np.array(
            [[(p.x, p.y, p.z) for p in h.world_landmarks] for h in hands], np.float32
        ).reshape(-1, 21, 3),
        "handedness": np.array([h.handedness.encode() for h in hands], np.object_),
        "scores": np.array([h.score for h in hands], np.float32),
    }


def response(
    request: InferRequest, hands: Sequence[Hand], model: str, version: str
) -> tuple[bytes, int | None]:
    """The response body, and the JSON header's length when binary data follows it."""
    values = tensors(hands)
    datatypes = {o["name"]: o["datatype"] for o in OUTPUTS}
    outputs, chunks = [], []
    for name, binary in request.outputs:
        array = values[name]
        entry: dict[str, Any] = {
            "name": name,
            "datatype": datatypes[name],
            "shape": list(array.shape),
        }
        if binary:
            raw = _raw(array)
            entry["parameters"] = {"binary_data_size": len(raw)}
            chunks.append(raw)
        elif array.dtype == np.object_:
            entry["data"] = [item.decode() for item in array.ravel()]
        else:
            entry["data"] = array.ravel().tolist()
        outputs.append(entry)
    body: dict[str, Any] = {"model_name": model, "model_version": version}
    if request.id is not None:
        body["id"] = request.id
    body["outputs"] = outputs
    head = orjson.dumps(body)
    if not chunks:
        return head, None
    return head + b"".join(chunks), len(head)


def _raw(array: np.ndarray) -> bytes:
    if array.dtype == np.object_:
        return b"".join(struct.pack("<I", len(item)) + item for item in array.ravel())
    return array.astype("<f4").tobytes()
