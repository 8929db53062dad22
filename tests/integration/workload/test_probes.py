"""Probes, metrics and the OpenAPI document of the in-process app."""

from __future__ import annotations

import re
import threading
from dataclasses import replace

from handtracker_workload import create_app, services
from handtracker_workload.hands import LANDMARK_NAMES
from handtracker_workload.inference import Detector
from handtracker_workload.readiness import Readiness
from handtracker_workload.thorough import by_mode
from openapi_spec_validator import validate


def test_healthz_and_readyz(client):
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json["model"]["complexity"] == "full"
    assert ready.json["model"]["mediapipeVersion"] == "0.10.21"


def test_not_ready_until_the_model_is_loaded_then_not_ready_when_draining(settings, hands_dir):
    release = threading.Event()

    def slow_load() -> dict:
        release.wait(30)
        return by_mode(Detector(settings), settings)

    app = create_app(settings, detector=Detector(settings, warm_up=False))
    # A loader we control, to observe the window before the model is ready.
    readiness = Readiness(load=slow_load)
    app.extensions[services.KEY] = replace(app.extensions[services.KEY], readiness=readiness)
    client = app.test_client()
    photo = (hands_dir / "openpose_hand.jpg").read_bytes()

    starting = client.get("/readyz")
    assert starting.status_code == 503 and starting.headers["Retry-After"]
    assert starting.json["error"]["code"] == "not_ready"
    early = client.post("/v1/landmarks", data=photo, content_type="image/jpeg")
    assert early.status_code == 503 and early.json["error"]["code"] == "not_ready"
    assert client.get("/healthz").status_code == 200  # alive while loading

    release.set()
    assert readiness.wait_loaded(30)
    assert client.get("/readyz").status_code == 200
    assert client.post("/v1/landmarks", data=photo, content_type="image/jpeg").status_code == 200

    readiness.begin_drain()
    assert client.get("/readyz").status_code == 503
    # Requests already on their way are still answered while draining.
    assert client.post("/v1/landmarks", data=photo, content_type="image/jpeg").status_code == 200


def test_a_model_that_fails_to_load_fails_liveness(settings, tmp_path):
    unwritable = tmp_path / "file"
    unwritable.write_text("not a directory")
    app = create_app(replace(settings, model_bundle_dir=unwritable / "models"))
    readiness = app.extensions[services.KEY].readiness
    assert readiness.wait_loaded(30)
    client = app.test_client()
    assert client.get("/healthz").status_code == 503
    assert client.get("/healthz").json["error"]["code"] == "model_load_failed"
    assert client.get("/readyz").status_code == 503


def test_metrics_count_requests_by_route_and_code(client, hands_dir):
    photo = (hands_dir / "openpose_hand.jpg").read_bytes()
    client.post("/v1/landmarks", data=photo, content_type="image/jpeg")
    client.post("/v1/landmarks", data=b"", content_type="image/jpeg")
    client.get("/no/such/page")
    text = client.get("/metrics").data.decode()
    assert 'handtracker_http_requests_total{code="200",method="POST",route="/v1/landmarks"}' in text
    assert 'handtracker_http_requests_total{code="400",method="POST",route="/v1/landmarks"}' in text
    assert 'route="unmatched"' in text and "/no/such/page" not in text
    assert 'handtracker_rejected_requests_total{reason="empty_body"}' in text
    for name in (
        "handtracker_http_request_duration_seconds_bucket",
        "handtracker_inference_duration_seconds_bucket",
        "handtracker_image_decode_duration_seconds_bucket",
        "handtracker_hands_detected_bucket",
        "handtracker_inflight_requests",
        "handtracker_queue_depth",
        "handtracker_queue_wait_seconds_bucket",
    ):
        assert name in text


def test_unknown_routes_and_methods_are_json_errors(client):
    missing = client.get("/nope")
    assert missing.status_code == 404 and missing.json["error"]["code"] == "not_found"
    wrong = client.get("/v1/landmarks")
    assert wrong.status_code == 405 and wrong.json["error"]["code"] == "method_not_allowed"


def test_openapi_describes_the_api(client):
    spec = client.get("/openapi.json").json
    assert spec["openapi"].startswith("3.")
    for path in ("/v1/landmarks", "/v1/annotate", "/predict", "/healthz", "/readyz", "/metrics"):
        assert path in spec["paths"]
    hand = spec["components"]["schemas"]["Hand"]["properties"]
    assert hand["landmarks"]["items"]["properties"]["name"]["enum"] == list(LANDMARK_NAMES)
    assert {"400", "413", "415", "422", "503"} <= set(
        spec["paths"]["/v1/landmarks"]["post"]["responses"]
    )


def _routes(app) -> set[tuple[str, str]]:
    """(OpenAPI path, method) of every route the app serves, bar static files."""
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.endswith(".static"):
            continue
        path = re.sub(r"<(?:[^<>:]+:)?([^<>]+)>", r"{\1}", rule.rule)
        routes |= {(path, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    return routes


def test_openapi_describes_every_route_and_nothing_else(app, client):
    spec = client.get("/openapi.json").json
    described = {(path, method) for path, item in spec["paths"].items() for method in item}
    served = _routes(app)
    assert ("/v1/stream", "get") in served and ("/v1/video", "post") in served
    assert served - described == set(), "routes missing from /openapi.json"
    assert described - served == set(), "/openapi.json describes routes nobody serves"


def test_openapi_document_is_valid(client):
    validate(client.get("/openapi.json").json)


def test_openapi_describes_video_and_stream(client):
    paths = client.get("/openapi.json").json["paths"]
    video = paths["/v1/video"]["post"]
    assert set(video["requestBody"]["content"]) == {
        "multipart/form-data", "video/mp4", "video/quicktime", "video/webm", "video/x-matroska",
    }  # fmt: skip
    assert {"200", "400", "413", "415", "422", "503"} <= set(video["responses"])
    stream = paths["/v1/stream"]["get"]
    assert {"101", "400"} <= set(stream["responses"])
    assert {p["name"] for p in stream["parameters"]} >= {"maxHands", "Upgrade"}
    for message in ('"type": "ready"', '"type": "result"', '"type": "error"', "1013", "busy"):
        assert message in stream["description"]
