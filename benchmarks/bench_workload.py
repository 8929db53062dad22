"""Workload benchmark: each target beside its measured figure, in one run on one machine.

    make bench            (or: .venv/bin/python benchmarks/bench_workload.py [--seconds N])

  1. 640 px photo: the served /v1/landmarks (`python -m handtracker_workload`,
     gunicorn, one worker per core) at concurrency 2, 4 and 8 against the
     in-process floor (what a plain implementation does per request: decode
     the same JPEG bytes with OpenCV and detect, one detector per process, as
     many processes as cores), and beside it against the in-process pipeline
     (the route's own decode, detect, gestures and JSON, without HTTP), which
     shows what serving itself costs. Served and in-process windows alternate,
     so a shared machine's load weighs on all alike; ratios are medians over
     adjacent windows. Target: served/floor >= 0.95 at c=4 and c=8.
  2. 12 MP JPEG: /predict and /v1/annotate against the seed app, the original
     service as it was (seed_app() below: Flask + gunicorn, 2 sync workers, the
     legacy mp.solutions.hands, full decode, BGR drawing, cv2.imencode at its
     default quality 95), in alternating windows at concurrency 4. Both answer a
     4000x3000 JPEG (ours at HANDTRACKER_JPEG_QUALITY, 90). Target: >= 1.5x.
  3. Mixed load, one client, 16 keep-alive connections: test photos to
     /v1/landmarks, /v1/annotate and /v2 infer, and one request in five
     hostile (truncated, not an image, GIF, a pixel bomb, a tiny image). Target:
     >= 99 % of the valid requests answered 200, no 5xx for hostile ones.
  4. The same mix at concurrency 64: overload shed with 503 + Retry-After, p99
     of the admitted (200) requests <= 1.5 s, workers' memory bounded.
  5. An 8000x8000 JPEG: latency and the serving worker's extra memory.

The load comes from this process: keep-alive connections, one thread each, a
minimal HTTP client so that little of the machine goes to generating it.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import random
import socket
import statistics
import struct
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from procstat import cpu_seconds  # beside this script

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from handtracker_workload import bundle  # noqa: E402
from handtracker_workload.config import Settings  # noqa: E402

from tests.support.testdata import testdata_dir  # noqa: E402
from tests.support.workload import WorkloadProcess  # noqa: E402

ORDINARY = "mpsamples_hand_thumb_up.jpg"  # 640x521, one hand
CORES = len(os.sched_getaffinity(0))
SEED_JPEG_QUALITY = 95  # cv2.imencode's default
OUR_JPEG_QUALITY = Settings().jpeg_quality


# ---------------------------------------------------------------- the seed app


def seed_app():  # type: ignore[no-untyped-def]
    """The original service, as it was written: gunicorn imports this in each worker."""
    import mediapipe as mp_legacy
    from flask import Flask, Response, request

    app = Flask("seed")
    hands = mp_legacy.solutions.hands.Hands(
        static_image_mode=True, max_num_hands=2, min_detection_confidence=0.5
    )
    fingers = {(0, 255, 255): (1, 2, 3, 4), (128, 0, 128): (5, 6, 7, 8),
               (255, 255, 0): (9, 10, 11, 12), (0, 255, 0): (13, 14, 15, 16),
               (0, 0, 255): (17, 18, 19, 20)}  # fmt: skip

    @app.post("/predict")
    def predict() -> Response:
        data = request.files["image"].read()
        bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        result = hands.process(rgb)
        height, width = bgr.shape[:2]
        for landmarks in result.multi_hand_landmarks or []:
            points = [(int(p.x * width), int(p.y * height)) for p in landmarks.landmark]
            for colour, chain in fingers.items():
                for a, b in zip((0, *chain), chain, strict=False):
                    cv2.line(bgr, points[a], points[b], colour, 2)
            for point in points:
                cv2.circle(bgr, point, 3, (255, 255, 255), -1)
        ok, buf = cv2.imencode(".jpg", bgr)
        return Response(buf.tobytes(), mimetype="image/jpeg")

    return app


# ---------------------------------------------------------------- in-process


def _inference_worker(bundle_dir: str, bodies: list[bytes], full_pipeline: bool,
                      commands: mp.Queue, results: mp.Queue) -> None:  # fmt: skip
    """One process, one detector: runs a timed window on each command, reports its count.

    full_pipeline=False: the floor, a plain implementation's work per request:
    the JPEG bytes decoded by OpenCV (BGR, then RGB) and given to the detector.
    full_pipeline=True: what POST /v1/landmarks runs, without HTTP: the app's
    own pipeline (decode, detect, gestures, the JSON answer) on the JPEG bytes."""
    import orjson
    from handtracker_workload import create_app, pipeline, services
    from handtracker_workload.inference import Detector

    cv2.setNumThreads(1)
    settings = Settings(model_bundle_dir=Path(bundle_dir))
    detector = Detector(settings)
    if full_pipeline:
        shared = create_app(settings, detector=detector).extensions[services.KEY]
        stage, model = shared.stage(), shared.model_json

        def once(i: int) -> None:
            body = bodies[i % len(bodies)]
            orjson.dumps(pipeline.landmarks_json(pipeline.analyse(body, stage), model))
    else:

        def once(i: int) -> None:
            body = np.frombuffer(bodies[i % len(bodies)], np.uint8)
            detector.detect(cv2.cvtColor(cv2.imdecode(body, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB))

    for i in range(3):
        once(i)  # warm
    results.put("ready")
    while (command := commands.get()) is not None:
        start_at, seconds = command
        time.sleep(max(0.0, start_at - time.time()))
        done, deadline = 0, time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            once(done)
            done += 1
        results.put(done)


class InProcess:
    """CORES processes with a detector each, idle between windows, so that
    in-process and served windows can alternate (a shared machine's load then
    weighs on both alike)."""

    def __init__(self, bundle_dir: Path, bodies: list[bytes], full_pipeline: bool) -> None:
        ctx = mp.get_context("spawn")
        self._results = ctx.Queue()
        self._commands = [ctx.Queue() for _ in range(CORES)]
        self._processes = [
            ctx.Process(target=_inference_worker, daemon=True,
                        args=(str(bundle_dir), bodies, full_pipeline, q, self._results))
            for q in self._commands
        ]  # fmt: skip
        for process in self._processes:
            process.start()
        assert [self._results.get(timeout=120) for _ in self._processes] == ["ready"] * CORES
        self._pids = [p.pid for p in self._processes if p.pid is not None]
        self.cpu_ms_per_image = 0.0  # of the last window

    def window(self, seconds: float) -> float:
        """Images per second over all processes, started together."""
        start_at = time.time() + 0.05
        cpu = cpu_seconds(self._pids)
        for commands in self._commands:
            commands.put((start_at, seconds))
        images = sum(self._results.get(timeout=seconds + 60) for _ in self._commands)
        self.cpu_ms_per_image = (cpu_seconds(self._pids) - cpu) / max(1, images) * 1000
        return images / seconds

    def close(self) -> None:
        for commands in self._commands:
            commands.put(None)
        for process in self._processes:
            process.join(timeout=30)


@dataclass(frozen=True)
class Floor:
    rate: float  # best in-process window, img/s
    cpu_ms: float  # in-process CPU time per image, in that window
    ratio: float  # median served/floor over the rounds' adjacent windows


def alternate(floors: list[InProcess], server: Server, request: bytes, concurrency: int,
              seconds: float, rounds: int) -> tuple[list[Floor], Window]:  # fmt: skip
    """Each round runs a window of each floor, then the server's; returns each
    floor's figure and the best served window."""
    rounds_run = []
    for _ in range(rounds):
        in_process = [(floor.window(seconds), floor.cpu_ms_per_image) for floor in floors]
        served = run_window(server, [("valid", request)], concurrency, seconds)
        rounds_run.append((in_process, served))
    figures = []
    for i in range(len(floors)):
        rate, cpu_ms = max((run[0][i] for run in rounds_run), key=lambda f: f[0])
        ratio = statistics.median(served.rps / run[i][0] for run, served in rounds_run)
        figures.append(Floor(rate, cpu_ms, ratio))
    return figures, max((served for _, served in rounds_run), key=lambda w: w.rps)


# ---------------------------------------------------------------- the server


class Server(WorkloadProcess):
    """The shared launcher (tests/support/workload.py) with the benchmark's own client:
    http.client, optionally on a connection the caller keeps."""

    def __init__(self, bundle_dir: Path, command: list[str] | None = None, **env: str) -> None:
        fd, name = tempfile.mkstemp(prefix="bench-server-", suffix=".log")
        os.close(fd)
        super().__init__(bundle_dir, Path(name), {"GLOG_minloglevel": "2", **env}, command)
        self.start()

    def request(self, method: str, path: str, body: bytes = b"", conn=None) -> tuple[int, bytes]:
        own = conn is None
        conn = conn or http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Content-Type": "image/jpeg"} if body else {}
        conn.request(method, path, body=body or None, headers=headers)
        response = conn.getresponse()
        data = response.read()
        if own:
            conn.close()
        return response.status, data

    def stop(self, grace: float = 30) -> None:
        super().stop(grace)
        self.log.unlink()


@dataclass
class Reply:
    status: int
    seconds: float
    retry_after: bool
    length: int


class LoadClient:
    """One keep-alive connection sending prepared requests.

    A bare socket and a Content-Length read instead of http.client, whose
    header parsing alone costs several times more CPU per request: the load
    generator shares the machine with the server it measures. Reconnects when
    the server closes the connection, as a real client would."""

    def __init__(self, port: int) -> None:
        self._port = port
        self._sock: socket.socket | None = None
        self.connects = 0

    def call(self, request: bytes) -> Reply:
        """Sends the request, reads the whole response."""
        start = time.perf_counter()
        if self._sock is None:
            self._sock = socket.create_connection(("127.0.0.1", self._port), timeout=120)
            self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.connects += 1
        sock = self._sock
        sock.sendall(request)
        data = b""
        while (end := data.find(b"\r\n\r\n")) < 0:
            data += self._recv(sock)
        head = data[:end].decode("latin-1").lower()
        status = int(head[9:12])
        length = int(head.split("content-length:", 1)[1].split("\r\n", 1)[0])
        missing = end + 4 + length - len(data)
        while missing > 0:
            chunk = self._recv(sock)
            missing -= len(chunk)
        if "connection: close" in head:
            self.close()
        return Reply(status, time.perf_counter() - start, "retry-after:" in head, length)

    @staticmethod
    def _recv(sock: socket.socket) -> bytes:
        chunk = sock.recv(262144)
        if not chunk:
            raise ConnectionError("server closed the connection mid-response")
        return chunk

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def raw_request(path: str, body: bytes, content_type: str = "image/jpeg",
                headers: dict[str, str] | None = None) -> bytes:  # fmt: skip
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n{extra}\r\n")  # fmt: skip
    return head.encode() + body


def multipart_request(path: str, field_name: str, body: bytes) -> bytes:
    boundary = "benchboundary7d1f"
    payload = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field_name}\"; "
               f"filename=\"photo.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").encode()
    payload += body + f"\r\n--{boundary}--\r\n".encode()  # fmt: skip
    return raw_request(path, payload, f"multipart/form-data; boundary={boundary}")


def v2_request(body: bytes) -> bytes:
    head = json.dumps({"inputs": [{"name": "image", "datatype": "BYTES", "shape": [1],
                                   "parameters": {"binary_data_size": len(body) + 4}}],
                       "parameters": {"binary_data_output": True}}).encode()  # fmt: skip
    return raw_request("/v2/models/hand-landmarker/infer", head + struct.pack("<I", len(body))
                       + body, "application/octet-stream",
                       {"Inference-Header-Content-Length": str(len(head))})  # fmt: skip


@dataclass
class Window:
    replies: list[Reply] = field(default_factory=list)
    seconds: float = 0.0
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    kinds: list[str] = field(default_factory=list)  # "valid" / "hostile", per reply

    @property
    def rps(self) -> float:
        return sum(r.status == 200 for r in self.replies) / self.seconds

    def p(self, q: float, status: int | None = 200) -> float:
        times = sorted(r.seconds for r in self.replies if status is None or r.status == status)
        return times[min(len(times) - 1, int(len(times) * q))] * 1000 if times else float("nan")


def run_window(server: Server, requests: list[tuple[str, bytes]], concurrency: int,
               seconds: float, shuffle: bool = False) -> Window:  # fmt: skip
    """`concurrency` closed-loop clients cycling through `requests` (kind, raw request)."""
    result = Window(seconds=seconds)
    per_client: list[list[tuple[str, Reply]]] = [[] for _ in range(concurrency)]
    clients = [LoadClient(server.port) for _ in range(concurrency)]
    workers = server.workers()
    deadline, cpu_at_start = [0.0], [0.0, 0.0]

    def begin() -> None:
        deadline[0] = time.perf_counter() + seconds
        cpu_at_start[:] = [cpu_seconds(workers), time.process_time()]

    start_gate = threading.Barrier(concurrency, action=begin)

    def client(index: int) -> None:
        load = clients[index]
        order = list(requests)
        if shuffle:
            random.Random(index).shuffle(order)
        load.call(order[index % len(order)][1])  # connect + warm
        start_gate.wait()
        i = index
        while time.perf_counter() < deadline[0]:
            kind, raw = order[i % len(order)]
            per_client[index].append((kind, load.call(raw)))
            i += 1
        load.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.server_cpu = cpu_seconds(workers) - cpu_at_start[0]
    result.client_cpu = time.process_time() - cpu_at_start[1]
    for replies in per_client:
        for kind, reply in replies:
            result.kinds.append(kind)
            result.replies.append(reply)
    return result


def _memory(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) in kB."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


# ---------------------------------------------------------------- the sections


@dataclass
class Target:
    name: str
    goal: str
    measured: str
    met: bool


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0, help="per window")
    parser.add_argument("--rounds", type=int, default=3, help="windows per figure")
    parser.add_argument("--mixed-seconds", type=float, default=10.0, help="c=16 and c=64 windows")
    args = parser.parse_args()
    photos_dir = testdata_dir()
    with tempfile.TemporaryDirectory(prefix="bench-models-") as tmp:
        bundle_dir = Path(tmp)
        bundle.build(bundle_dir, "full")
        targets = run(bundle_dir, photos_dir, args.seconds, args.rounds, args.mixed_seconds)
    print("\ntarget                                  goal          measured        met")
    for t in targets:
        print(f"  {t.name:38s}{t.goal:14s}{t.measured:16s}{'yes' if t.met else 'NO'}")
    return 0


def run(bundle_dir: Path, photos_dir: Path, seconds: float, rounds: int,
        mixed_seconds: float) -> list[Target]:  # fmt: skip
    print(f"cores: {CORES}; photos: {photos_dir}; load average {os.getloadavg()[0]:.2f}")
    print(f"{rounds} windows of {seconds:g} s per figure; compared windows alternate")
    ordinary = (photos_dir / ORDINARY).read_bytes()
    photo = cv2.imread(str(photos_dir / ORDINARY))
    targets: list[Target] = []
    server = Server(bundle_dir, HANDTRACKER_WORKERS=str(CORES))
    try:
        targets += small_photo(server, bundle_dir, ordinary, seconds, rounds)
        seed_command = [sys.executable, "-m", "gunicorn", "--workers", "2",
                        "--pythonpath", str(REPO / "benchmarks"),
                        "bench_workload:seed_app()"]  # fmt: skip
        seed = Server(bundle_dir, seed_command, HANDTRACKER_WORKERS="2")
        try:
            targets += big_photo(server, seed, _phone_like(photo, 4000, 3000, 92), seconds, rounds)
        finally:
            seed.stop()
        targets += mixed_load(server, photos_dir, mixed_seconds)
    finally:
        server.stop()
    # 64 MP is over the default 40 MP limit, which would refuse it without decoding.
    server = Server(bundle_dir, HANDTRACKER_WORKERS="1", HANDTRACKER_MAX_PIXELS="100M")
    try:
        huge_photo(server, ordinary, _phone_like(photo, 8000, 8000, 80))
    finally:
        server.stop()
    return targets


def _phone_like(photo: np.ndarray, width: int, height: int, quality: int) -> bytes:
    """An upscaled photo with sensor-like noise, so it is as big and as slow to
    decode as a camera's JPEG of that size."""
    big = cv2.resize(photo, (width, height), interpolation=cv2.INTER_CUBIC)
    big = cv2.add(big, np.random.default_rng(0).integers(0, 16, big.shape, np.uint8))  # saturating
    return cv2.imencode(".jpg", big, [cv2.IMWRITE_JPEG_QUALITY, quality])[1].tobytes()


def small_photo(server: Server, bundle_dir: Path, ordinary: bytes, seconds: float,
                rounds: int) -> list[Target]:  # fmt: skip
    print(f"\n1. served POST /v1/landmarks on {ORDINARY} (640x521), {CORES} workers, each window")
    print(f"   next to two in-process windows, {CORES} processes each: the floor (the JPEG bytes")
    print("   decoded by OpenCV and detected, as a plain implementation does per request) and")
    print("   the pipeline (what the route runs without HTTP: decode, detect, gestures, JSON).")
    print("   served/floor is the target; served/pipeline is what HTTP and gunicorn cost.")
    print("   CPU ms: CPU time (all cores) per image in process, per request in the server;")
    print("   client CPU: the load generator's own use, in % of one core.")
    print("         floor         pipeline          served")
    print("  conc  img/s CPU ms   img/s CPU ms   req/s CPU ms  p50 ms  p99 ms errors  client"
          "  served/floor  served/pipeline (medians)")  # fmt: skip
    floors = [InProcess(bundle_dir, [ordinary], full_pipeline=False),
              InProcess(bundle_dir, [ordinary], full_pipeline=True)]  # fmt: skip
    request = raw_request("/v1/landmarks", ordinary)
    targets = []
    try:
        for concurrency in (2, 4, 8):
            (floor, piped), w = alternate(floors, server, request, concurrency, seconds, rounds)
            errors = sum(r.status != 200 for r in w.replies)
            print(f"  {concurrency:4d} {floor.rate:6.1f} {floor.cpu_ms:6.2f} "
                  f"{piped.rate:7.1f} {piped.cpu_ms:6.2f} {w.rps:7.1f} "
                  f"{w.server_cpu / max(1, len(w.replies)) * 1000:6.2f} {w.p(0.5):7.1f} "
                  f"{w.p(0.99):7.1f} {errors:6d} {w.client_cpu / w.seconds * 100:6.1f}%"
                  f"  {floor.ratio:12.2f}  {piped.ratio:15.2f}")  # fmt: skip
            if concurrency in (4, 8):
                targets.append(Target(f"640 px served/floor, c={concurrency}", ">= 0.95",
                                      f"{floor.ratio:.2f}", floor.ratio >= 0.95))  # fmt: skip
    finally:
        for floor_processes in floors:
            floor_processes.close()
    return targets


def big_photo(server: Server, seed: Server, body: bytes, seconds: float,
              rounds: int) -> list[Target]:  # fmt: skip
    concurrency = 4
    print(f"\n2. 4000x3000 JPEG ({len(body) / 1e6:.1f} MB) at concurrency {concurrency}, against "
          "the seed app (gunicorn, 2 sync workers, legacy mp.solutions.hands)")  # fmt: skip
    seed_request = multipart_request("/predict", "image", body)
    routes = {"/predict": seed_request, "/v1/annotate": raw_request("/v1/annotate", body)}
    sizes = {}
    for name, who, request in (("seed", seed, seed_request),
                               ("ours", server, routes["/v1/annotate"])):  # fmt: skip
        answer = server_reply_body(who, request)
        decoded = cv2.imdecode(np.frombuffer(answer, np.uint8), cv2.IMREAD_REDUCED_GRAYSCALE_8)
        sizes[name] = (decoded.shape[1] * 8, decoded.shape[0] * 8, len(answer))
    print(f"   output: seed {sizes['seed'][0]}x{sizes['seed'][1]} JPEG q{SEED_JPEG_QUALITY} "
          f"({sizes['seed'][2] / 1e6:.1f} MB); ours {sizes['ours'][0]}x{sizes['ours'][1]} JPEG "
          f"q{OUR_JPEG_QUALITY} ({sizes['ours'][2] / 1e6:.1f} MB)")  # fmt: skip
    print("  CPU ms/req: the server's CPU time (all workers) per request, over all windows")
    print("  route          seed req/s  ours req/s  seed p50 ms  ours p50 ms  seed CPU ms/req"
          "  ours CPU ms/req  ours/seed (median)")  # fmt: skip
    targets = []
    for route, request in routes.items():
        pairs = []
        for _ in range(rounds):
            base = run_window(seed, [("valid", seed_request)], concurrency, seconds)
            ours = run_window(server, [("valid", request)], concurrency, seconds)
            pairs.append((base, ours))
        ratio = statistics.median(o.rps / b.rps for b, o in pairs)
        b, o = max(pairs, key=lambda p: p[1].rps)
        seed_cpu, ours_cpu = (_cpu_ms_per_request([p[i] for p in pairs]) for i in (0, 1))
        print(f"  {route:13s} {b.rps:11.1f} {o.rps:11.1f} {b.p(0.5):12.0f} {o.p(0.5):12.0f}"
              f" {seed_cpu:16.1f} {ours_cpu:16.1f}  {ratio:8.2f}")  # fmt: skip
        targets.append(Target(f"12 MP {route} vs seed", ">= 1.5x", f"{ratio:.2f}x",
                              ratio >= 1.5))  # fmt: skip
    return targets


def _cpu_ms_per_request(windows: list[Window]) -> float:
    return sum(w.server_cpu for w in windows) / max(1, sum(len(w.replies) for w in windows)) * 1000


def server_reply_body(server: Server, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=120) as sock:
        sock.sendall(request)
        data = b""
        while (end := data.find(b"\r\n\r\n")) < 0:
            data += sock.recv(262144)
        head = data[:end].decode("latin-1").lower()
        length = int(head.split("content-length:", 1)[1].split("\r\n", 1)[0])
        while len(data) < end + 4 + length:
            data += sock.recv(262144)
        assert head.startswith("http/1.1 200"), head
        return data[end + 4 : end + 4 + length]


def _claiming(jpeg: bytes, width: int, height: int) -> bytes:
    sof = jpeg.index(b"\xff\xc0")
    return jpeg[: sof + 5] + struct.pack(">HH", height, width) + jpeg[sof + 9 :]


def mixed_requests(photos_dir: Path) -> list[tuple[str, bytes]]:
    """Four valid requests in five, on the test photos, over every image route; the
    fifth hostile, in turn each of the refused kinds."""
    photos = [p.read_bytes() for p in sorted(photos_dir.glob("*.jpg")) if "3000x4000" not in p.name]
    small = cv2.imencode(".jpg", np.full((64, 64, 3), 127, np.uint8))[1].tobytes()
    hostile = [
        raw_request("/v1/landmarks", photos[0][: len(photos[0]) // 2]),  # truncated
        raw_request("/v1/landmarks", b"this is not a picture at all"),
        raw_request("/v1/annotate", b"GIF89a" + b"\0" * 64),
        raw_request("/v1/landmarks", _claiming(small, 20000, 20000)),  # pixel bomb
        v2_request(small[:40]),  # truncated, through /v2
        raw_request("/v1/landmarks", cv2.imencode(".jpg", np.zeros((8, 8, 3), np.uint8))[1]
                    .tobytes()),  # too small  # fmt: skip
    ]
    valid = []
    for i, body in enumerate(photos):
        route = i % 4
        if route == 0:
            valid.append(raw_request("/v1/landmarks", body))
        elif route == 1:
            valid.append(raw_request("/v1/annotate", body))
        elif route == 2:
            valid.append(v2_request(body))
        else:
            valid.append(multipart_request("/v1/landmarks", "image", body))
    mix: list[tuple[str, bytes]] = []
    for i, request in enumerate(valid):
        mix.append(("valid", request))
        if i % 4 == 3:
            mix.append(("hostile", hostile[(i // 4) % len(hostile)]))
    return mix


def _rss_mb(server: Server) -> tuple[float, float]:
    """(current RSS, peak RSS) summed over the workers, MB."""
    now, peak = zip(*(_memory(pid) for pid in server.workers()), strict=True)
    return sum(now) / 1024, sum(peak) / 1024


def mixed_load(server: Server, photos_dir: Path, seconds: float) -> list[Target]:
    mix = mixed_requests(photos_dir)
    hostile_share = sum(k == "hostile" for k, _ in mix) / len(mix)
    print(f"\n3./4. mixed load: {len(mix)} requests in turn, {hostile_share:.0%} hostile "
          "(/v1/landmarks, /v1/annotate, multipart, /v2 infer)")  # fmt: skip
    print("  conc  valid  valid 200  valid 503  other  hostile 4xx  hostile 5xx"
          "  503 w/o Retry-After  p50 ms  p99 ms (200)  req/s  worker RSS MB (peak)")  # fmt: skip
    targets = []
    for concurrency in (16, 64):
        w = run_window(server, mix, concurrency, seconds, shuffle=True)
        pairs = list(zip(w.kinds, w.replies, strict=True))
        valid = [r for k, r in pairs if k == "valid"]
        hostile = [r for k, r in pairs if k == "hostile"]
        ok = sum(r.status == 200 for r in valid)
        shed = sum(r.status == 503 for r in valid)
        other = len(valid) - ok - shed
        h4 = sum(400 <= r.status < 500 for r in hostile)
        h5 = sum(r.status >= 500 for r in hostile)
        no_retry = sum(r.status == 503 and not r.retry_after for r in w.replies)
        rss, peak = _rss_mb(server)
        print(f"  {concurrency:4d} {len(valid):6d} {ok:10d} {shed:10d} {other:6d} {h4:12d} {h5:12d}"
              f" {no_retry:20d} {w.p(0.5):7.0f} {w.p(0.99):13.0f} {w.rps:6.1f}  {rss:.0f} "
              f"({peak:.0f})")  # fmt: skip
        if concurrency == 16:
            rate = ok / max(1, len(valid))
            targets.append(Target("c=16 mixed: valid answered 200", ">= 99 %",
                                  f"{rate:.1%}", rate >= 0.99 and h5 == 0))  # fmt: skip
        else:
            p99 = w.p(0.99)
            targets.append(Target("c=64: p99 of admitted", "<= 1500 ms", f"{p99:.0f} ms",
                                  p99 <= 1500))  # fmt: skip
            targets.append(Target("c=64: shed as 503 + Retry-After", "> 0, all R-A",
                                  f"{shed / max(1, len(valid)):.0%} shed",
                                  shed > 0 and no_retry == 0))  # fmt: skip
            targets.append(Target("c=64: workers' peak RSS", "< 2 GB", f"{peak:.0f} MB",
                                  peak < 2048))  # fmt: skip
    return targets


def huge_photo(server: Server, ordinary: bytes, body: bytes) -> None:
    (pid,) = server.workers()
    server.request("POST", "/v1/landmarks", ordinary)
    rss_before, _ = _memory(pid)
    latencies, hands = [], 0
    for _ in range(5):
        start = time.perf_counter()
        status, answer = server.request("POST", "/v1/landmarks", body)
        latencies.append(time.perf_counter() - start)
        assert status == 200, answer
        hands = len(json.loads(answer)["hands"])
    rss_after, peak = _memory(pid)
    print(f"\n5. 8000x8000 JPEG ({len(body) / 1e6:.1f} MB), 5 sequential requests, 1 worker:")
    print(f"  latency median {statistics.median(latencies) * 1000:.0f} ms, "
          f"max {max(latencies) * 1000:.0f} ms; hands {hands}")  # fmt: skip
    print(f"  worker RSS {rss_before / 1024:.0f} MB -> {rss_after / 1024:.0f} MB; "
          f"extra at peak {(peak - rss_before) / 1024:.0f} MB")  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
