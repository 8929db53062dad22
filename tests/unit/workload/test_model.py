"""The model block every response carries says which bundle is served."""

from __future__ import annotations

from dataclasses import replace

import pytest
from handtracker_workload import create_app
from handtracker_workload.config import Settings
from handtracker_workload.model import MEDIAPIPE_VERSION, ModelInfo

DIGEST = "4e53be8637c6cb3cc416d000dc6691ede7675baf7f8e80fbca389d15df729b9a"
PINNED = Settings(model_sha256=DIGEST, model_revision="hands-3f2a9c1d", workers=1)


def test_model_json_names_the_bundle_digest_and_revision():
    assert ModelInfo.from_settings(replace(PINNED, model_complexity="lite")).to_json() == {
        "name": "mediapipe-hand-landmarker",
        "complexity": "lite",
        "maxHands": 2,
        "minDetectionConfidence": 0.5,
        "minTrackingConfidence": 0.5,
        "mediapipeVersion": MEDIAPIPE_VERSION,
        "sha256": DIGEST,
        "revision": "hands-3f2a9c1d",
    }


def test_an_unverified_model_says_so_with_nulls():
    info = ModelInfo.from_settings(Settings(workers=1)).to_json()
    assert (info["sha256"], info["revision"]) == (None, None)


class _NoHands:
    def run(self, rgb):
        raise AssertionError("no image is sent in these tests")


@pytest.fixture(scope="module")
def client():
    return create_app(PINNED, detector=_NoHands()).test_client()


@pytest.mark.parametrize(
    ("route", "key"),
    [("/readyz", "model"), ("/v2/models/hand-landmarker", "parameters")],
)
def test_ready_and_v2_metadata_carry_the_digest_and_revision(client, route, key):
    body = client.get(route).get_json()
    assert body[key]["sha256"] == DIGEST
    assert body[key]["revision"] == "hands-3f2a9c1d"


def test_the_v2_model_version_stays_the_routes_one(client):
    assert client.get("/v2/models/hand-landmarker").get_json()["versions"] == ["1"]
