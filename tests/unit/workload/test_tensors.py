"""The v2 tensor codec (tensors.py): requests parsed, responses built (no model needed)."""

from __future__ import annotations

import base64
import json
import struct

import numpy as np
import pytest
from handtracker_workload import tensors
from handtracker_workload.errors import ApiError
from handtracker_workload.hands import Hand, Point3

IMAGE = b"\xff\xd8\xff pretend jpeg"


def _hand(side: str, offset: float) -> Hand:
    points = tuple(Point3(offset + i / 100, 0.5, -i / 1000) for i in range(21))
    return Hand(side, 0.75, points, tuple(Point3(p.x, p.y, 1.0) for p in points))


def _binary_request(payload: bytes, **extra) -> tuple[bytes, str]:
    head = json.dumps({
        "inputs": [{"name": "image", "datatype": "BYTES", "shape": [1],
                    "parameters": {"binary_data_size": len(payload) + 4}}],
        **extra,
    }).encode()  # fmt: skip
    return head + struct.pack("<I", len(payload)) + payload, str(len(head))


def test_a_binary_request_carries_the_image_and_asks_for_every_output():
    body, length = _binary_request(IMAGE, id=7)
    parsed = tensors.parse(body, length)
    assert parsed.image == IMAGE and parsed.id == "7"
    assert parsed.outputs == tuple((name, False) for name in tensors.OUTPUT_NAMES)


def test_a_base64_request_and_chosen_outputs():
    body = json.dumps({
        "inputs": [{"name": "image", "datatype": "BYTES", "shape": [1, 1],
                    "data": [[base64.b64encode(IMAGE).decode()]],
                    "parameters": {"content_type": "base64"}}],
        "parameters": {"binary_data_output": True},
        "outputs": [{"name": "scores", "parameters": {"binary_data": False}},
                    {"name": "landmarks"}],
    }).encode()  # fmt: skip
    parsed = tensors.parse(body, None)
    assert parsed.image == IMAGE and parsed.id is None
    assert parsed.outputs == (("scores", False), ("landmarks", True))


@pytest.mark.parametrize(
    ("body", "length"),
    [
        (b"[]", None),
        (b'{"inputs": [{"name": "image"}, {"name": "image"}]}', None),
        (b'{"inputs": [{"name": "img", "datatype": "BYTES", "shape": [1], "data": ["x"]}]}', None),
        (b'{"inputs": [{"name": "image", "datatype": "BYTES", "shape": [2], "data": ["a", "b"]}]}',
         None),
        (_binary_request(IMAGE)[0], "9999"),
        (_binary_request(IMAGE)[0], "x"),
        (_binary_request(IMAGE)[0][:-1], _binary_request(IMAGE)[1]),
        (b'{"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1],'
         b' "parameters": "oops"}]}', None),
    ],
    ids=["not-object", "two-inputs", "wrong-name", "two-images", "long-header", "bad-header",
         "short-binary", "bad-parameters"],
)  # fmt: skip
def test_malformed_requests_are_bad_tensors(body, length):
    with pytest.raises(ApiError) as caught:
        tensors.parse(body, length)
    assert (caught.value.status, caught.value.code) == (400, "bad_tensor")


def test_tensors_have_the_advertised_shapes_also_without_hands():
    values = tensors.tensors([_hand("Left", 0.1), _hand("Right", 0.5)])
    assert values["landmarks"].shape == (2, 21, 3) and values["landmarks"].dtype == np.float32
    assert values["world_landmarks"][1, 0, 2] == 1.0
    assert list(values["handedness"]) == [b"Left", b"Right"]
    empty = tensors.tensors([])
    assert empty["landmarks"].shape == (0, 21, 3) and empty["scores"].shape == (0,)


def test_a_response_mixes_json_and_binary_outputs():
    body, length = _binary_request(
        IMAGE, outputs=[{"name": "handedness", "parameters": {"binary_data": True}},
                        {"name": "scores"}],
    )  # fmt: skip
    answer, header_length = tensors.response(
        tensors.parse(body, length), [_hand("Left", 0.1)], "hand-landmarker", "1"
    )
    head = json.loads(answer[:header_length])
    handedness, scores = head["outputs"]
    assert handedness == {"name": "handedness", "datatype": "BYTES", "shape": [1],
                          "parameters": {"binary_data_size": 8}}  # fmt: skip
    assert answer[header_length:] == struct.pack("<I", 4) + b"Left"
    assert scores["data"] == [0.75] and scores["shape"] == [1]
    assert head["model_name"] == "hand-landmarker" and head["model_version"] == "1"


def test_an_all_json_response_has_no_binary_part():
    body = json.dumps(
        {
            "inputs": [
                {
                    "name": "image",
                    "datatype": "BYTES",
                    "shape": [1],
                    "data": ["aGk="],
                    "parameters": {"content_type": "base64"},
                }
            ]
        }
    )
    answer, header_length = tensors.response(tensors.parse(body.encode(), None), [], "m", "1")
    assert header_length is None
    outputs = {o["name"]: o for o in json.loads(answer)["outputs"]}
    assert outputs["landmarks"] == {"name": "landmarks", "datatype": "FP32", "shape": [0, 21, 3],
                                    "data": []}  # fmt: skip
