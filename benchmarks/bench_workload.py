"""Workload benchmark: the served API against the model's own speed, side by side.

    make bench            (or: .venv/bin/python benchmarks/bench_workload.py [--seconds N])

In one run on one machine it measures
  1. the floor: in-process inference only, one detector per process, as many
     processes as cores, on an ordinary photo (and over all the test photos);
  2. the real server (`python -m handtracker_workload`, gunicorn, one worker per
     core) on the same photo at concurrency 1, 2, 4, 8: req/s, p50, p99 and
     served/floor, each served window right after a floor window so that a
     shared machine's load weighs on both alike;
  3. a 4000x3000 photo (a test photo upscaled): served /v1/landmarks against a
     plain in-process pipeline (full decode + inference, same process count),
     and how far apart their landmarks are;
  4. an 8000x8000 JPEG: latency and the serving worker's extra memory.
Targets (2 cores): served >= 0.9 x floor at concurrency >= 2; 4000x3000 served
>= 2 x plain; 8000x8000 answered in <= 0.3 s with <= 50 MB extra memory.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "workload")]

from handtracker_workload import bundle  # noqa: E402
from handtracker_workload.config import Settings  # noqa: E402

from tests.fixtures.testdata import testdata_dir  # noqa: E402

ORDINARY = "mpsamples_hand_thumb_up.jpg"  # 640x521, one hand
CORES = len(os.sched_getaffinity(0))


# ---------------------------------------------------------------- in-process


def _inference_worker(bundle_dir: str, bodies: list[bytes], full_pipeline: bool,
                      commands: mp.Queue, results: mp.Queue) -> None:  # fmt: skip
    """One process, one detector: runs a timed window on each command, reports its count."""
    from handtracker_workload.inference import Detector

    cv2.setNumThreads(1)
    detector = Detector(Settings(model_bundle_dir=Path(bundle_dir)))
    decoded = [cv2.cvtColor(cv2.imdecode(np.frombuffer(b, np.uint8), 1), cv2.COLOR_BGR2RGB)
               for b in bodies]  # fmt: skip
    for rgb in decoded:
        detector.detect(rgb)  # warm
    results.put("ready")
    while (command := commands.get()) is not None:
        start_at, seconds = command
        time.sleep(max(0.0, start_at - time.time()))
        done, deadline = 0, time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            if full_pipeline:
                bgr = cv2.imdecode(np.frombuffer(bodies[done % len(bodies)], np.uint8), 1)
                detector.detect(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            else:
                detector.detect(decoded[done % len(decoded)])
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

    def window(self, seconds: float) -> float:
        """Images per second over all processes, started together."""
        start_at = time.time() + 0.05
        for commands in self._commands:
            commands.put((start_at, seconds))
        return sum(self._results.get(timeout=seconds + 60) for _ in self._commands) / seconds

    def close(self) -> None:
        for commands in self._commands:
            commands.put(None)
        for process in self._processes:
            process.join(timeout=30)


def alternate(floor: InProcess, server: Server, body: bytes, concurrency: int,
              seconds: float, rounds: int) -> tuple[float, dict[str, float], float]:  # fmt: skip
    """(best floor, best served window, median served/floor of the adjacent pairs)."""
    pairs = []
    for _ in range(rounds):
        in_process = floor.window(seconds)
        pairs.append((in_process, _window(server, body, concurrency, seconds)))
    ratio = statistics.median(served["rps"] / base for base, served in pairs)
    best = max((served for _, served in pairs), key=lambda r: r["rps"])
    return max(base for base, _ in pairs), best, ratio


# ---------------------------------------------------------------- the server


class Server:
    def __init__(self, bundle_dir: Path, **env: str) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        fd, name = tempfile.mkstemp(prefix="bench-server-", suffix=".log")
        os.close(fd)
        self.log = Path(name)
        full_env = {**os.environ, "PYTHONPATH": str(REPO / "workload"),
                    "HANDTRACKER_MODEL_BUNDLE_DIR": str(bundle_dir),
                    **env}  # fmt: skip
        with self.log.open("wb") as sink:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "handtracker_workload", "--bind", f"127.0.0.1:{self.port}"],
                env=full_env, stdout=sink, stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.time() + 60
        while len(self.workers()) < int(env.get("HANDTRACKER_WORKERS", CORES)) or not all(
            self._ready() for _ in range(20)
        ):
            if time.time() > deadline or self.process.poll() is not None:
                raise RuntimeError(self.log.read_text())
            time.sleep(0.2)

    def _ready(self) -> bool:
        try:
            return self.request("GET", "/readyz")[0] == 200
        except OSError:
            return False

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

    def workers(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(pid) for pid in children.read_text().split()]
        except OSError:
            return []

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)
        self.log.unlink()


def _window(server: Server, body: bytes, concurrency: int, seconds: float) -> dict[str, float]:
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    errors = [0] * concurrency
    start_gate = threading.Barrier(concurrency + 1)
    deadline = [0.0]

    def client(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        server.request("POST", "/v1/landmarks", body, conn)  # connect + warm
        start_gate.wait()
        while time.perf_counter() < deadline[0]:
            start = time.perf_counter()
            status, _ = server.request("POST", "/v1/landmarks", body, conn)
            latencies[index].append(time.perf_counter() - start)
            errors[index] += status != 200
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    deadline[0] = time.perf_counter() + seconds
    start_gate.wait()
    for thread in threads:
        thread.join()
    flat = sorted(x for xs in latencies for x in xs)
    return {
        "rps": len(flat) / seconds,
        "p50": flat[len(flat) // 2] * 1000,
        "p99": flat[min(len(flat) - 1, int(len(flat) * 0.99))] * 1000,
        "errors": sum(errors),
    }


def _memory(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) in kB."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def _pixels(body: bytes) -> list[np.ndarray]:
    payload = json.loads(body)
    return [np.array([(p["x"], p["y"]) for p in h["pixel"]]) for h in payload["hands"]]


# ---------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0, help="per window")
    parser.add_argument("--rounds", type=int, default=3, help="windows per figure")
    args = parser.parse_args()
    seconds, rounds = args.seconds, args.rounds
    photos_dir = testdata_dir()
    with tempfile.TemporaryDirectory(prefix="bench-models-") as tmp:
        bundle_dir = Path(tmp)
        bundle.build(bundle_dir, "full")
        return run(bundle_dir, photos_dir, seconds, rounds)


def run(bundle_dir: Path, photos_dir: Path, seconds: float, rounds: int) -> int:
    print(f"cores: {CORES}; photos: {photos_dir}")
    print(f"{rounds} windows of {seconds:g} s per figure; in-process and served windows alternate")
    ordinary = (photos_dir / ORDINARY).read_bytes()
    photo = cv2.imread(str(photos_dir / ORDINARY))
    all_photos = [p.read_bytes() for p in sorted(photos_dir.glob("*.jpg"))
                  if "3000x4000" not in p.name]  # fmt: skip
    server = Server(bundle_dir, HANDTRACKER_WORKERS=str(CORES))
    try:
        ordinary_photo(server, bundle_dir, ordinary, all_photos, seconds, rounds)
        phone_photo(server, bundle_dir, _phone_like(photo, 4000, 3000, 92), seconds, rounds)
    finally:
        server.stop()
    # 64 MP is over the default 40 MP limit, which would refuse it without decoding.
    server = Server(bundle_dir, HANDTRACKER_WORKERS="1", HANDTRACKER_MAX_PIXELS="100M")
    try:
        huge_photo(server, ordinary, _phone_like(photo, 8000, 8000, 80))
    finally:
        server.stop()
    return 0


def _phone_like(photo: np.ndarray, width: int, height: int, quality: int) -> bytes:
    """An upscaled photo with sensor-like noise, so it is as big and as slow to
    decode as a camera's JPEG of that size."""
    big = cv2.resize(photo, (width, height), interpolation=cv2.INTER_CUBIC)
    big = cv2.add(big, np.random.default_rng(0).integers(0, 16, big.shape, np.uint8))  # saturating
    return cv2.imencode(".jpg", big, [cv2.IMWRITE_JPEG_QUALITY, quality])[1].tobytes()


def ordinary_photo(server: Server, bundle_dir: Path, ordinary: bytes, all_photos: list[bytes],
                   seconds: float, rounds: int) -> None:  # fmt: skip
    every = InProcess(bundle_dir, all_photos, full_pipeline=False)
    try:
        floor_all = max(every.window(seconds) for _ in range(rounds))
    finally:
        every.close()
    print(f"\nfloor over {len(all_photos)} test JPEGs (inference only, {CORES} processes): "
          f"{floor_all:.1f} img/s")  # fmt: skip
    print(f"served POST /v1/landmarks on {ORDINARY} (640x521), {CORES} workers, each window")
    print(f"next to an in-process floor window ({CORES} processes, inference only):")
    print("  conc  floor img/s   req/s   p50 ms   p99 ms  errors  served/floor (median)")
    floor = InProcess(bundle_dir, [ordinary], full_pipeline=False)
    try:
        for concurrency in (1, 2, 4, 8):
            base, r, ratio = alternate(floor, server, ordinary, concurrency, seconds, rounds)
            print(f"  {concurrency:4d} {base:12.1f} {r['rps']:7.1f} {r['p50']:8.1f} "
                  f"{r['p99']:8.1f} {r['errors']:7d}  {ratio:8.2f}")  # fmt: skip
    finally:
        floor.close()


def phone_photo(server: Server, bundle_dir: Path, body: bytes, seconds: float,
                rounds: int) -> None:  # fmt: skip
    from handtracker_workload.inference import Detector

    pipeline = InProcess(bundle_dir, [body], full_pipeline=True)
    try:
        plain, served, ratio = alternate(pipeline, server, body, CORES, seconds, rounds)
    finally:
        pipeline.close()
    served_points = _pixels(server.request("POST", "/v1/landmarks", body)[1])
    detector = Detector(Settings(model_bundle_dir=bundle_dir))
    rgb = cv2.cvtColor(cv2.imdecode(np.frombuffer(body, np.uint8), 1), cv2.COLOR_BGR2RGB)
    plain_points = [np.array(h.pixels(4000, 3000)) for h in detector.detect(rgb)]
    detector.close()
    distances = [float(np.linalg.norm(a - b, axis=1).mean())
                 for a, b in zip(served_points, plain_points, strict=True)]  # fmt: skip
    print(f"\n4000x3000 JPEG ({len(body) / 1e6:.1f} MB), concurrency {CORES}:")
    print(f"  plain in-process full decode + inference: {plain:6.1f} img/s ({CORES} processes)")
    print(f"  served /v1/landmarks (reduced decode):   {served['rps']:6.1f} req/s "
          f"(p50 {served['p50']:.0f} ms, errors {served['errors']})")  # fmt: skip
    print(f"  served/plain (median of adjacent windows): {ratio:.2f}")
    print(f"  hands: served {len(served_points)}, plain {len(plain_points)}; mean landmark "
          f"distance {', '.join(f'{d:.1f}' for d in distances)} px "
          f"({max(distances, default=0) / 4000:.4f} of the long side)")  # fmt: skip


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
    print(f"\n8000x8000 JPEG ({len(body) / 1e6:.1f} MB), 5 sequential requests, 1 worker:")
    print(f"  latency median {statistics.median(latencies) * 1000:.0f} ms, "
          f"max {max(latencies) * 1000:.0f} ms; hands {hands}")  # fmt: skip
    print(f"  worker RSS {rss_before / 1024:.0f} MB -> {rss_after / 1024:.0f} MB; "
          f"extra at peak {(peak - rss_before) / 1024:.0f} MB")  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
