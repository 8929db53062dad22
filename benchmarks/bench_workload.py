"""Workload benchmark: the served API against the model's own speed, side by side.

    make bench            (or: .venv/bin/python benchmarks/bench_workload.py [--seconds N])

In one run on one machine it measures
  1. the floor: in-process inference only, one detector per process, as many
     processes as cores, on an ordinary photo (and over all the test photos);
  2. the real server (`python -m handtracker_workload`, gunicorn, one worker per
     core) on the same photo at concurrency 1, 2, 4, 8: req/s, p50, p99 and
     served/floor, each served window right after a floor window so that a
     shared machine's load weighs on both alike. The load comes from this
     process (keep-alive connections, one thread each, a minimal HTTP client so
     that little of the machine goes to generating it); its CPU use is printed
     next to each figure, and so is the server's CPU time per request beside
     the floor's per image, which is where the overhead of serving shows.
     --also-worker-class gthread serves the same windows from a second server
     with another gunicorn worker class, for comparison;
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
from dataclasses import dataclass
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
        self._pids = [p.pid for p in self._processes if p.pid is not None]
        self.cpu_ms_per_image = 0.0  # of the last window

    def window(self, seconds: float) -> float:
        """Images per second over all processes, started together."""
        start_at = time.time() + 0.05
        cpu = _cpu_seconds(self._pids)
        for commands in self._commands:
            commands.put((start_at, seconds))
        images = sum(self._results.get(timeout=seconds + 60) for _ in self._commands)
        self.cpu_ms_per_image = (_cpu_seconds(self._pids) - cpu) / max(1, images) * 1000
        return images / seconds

    def close(self) -> None:
        for commands in self._commands:
            commands.put(None)
        for process in self._processes:
            process.join(timeout=30)


@dataclass(frozen=True)
class Figure:
    floor: float  # best in-process window, img/s
    floor_cpu_ms: float  # in-process CPU time per image, in that window
    served: dict[str, float]  # best served window
    ratio: float  # median served/floor over adjacent pairs of windows


def alternate(floor: InProcess, servers: list[Server], body: bytes, concurrency: int,
              seconds: float, rounds: int) -> list[Figure]:  # fmt: skip
    """One Figure per server; each round runs a floor window, then each server's."""
    pairs: list[list[tuple[float, float, dict[str, float]]]] = [[] for _ in servers]
    for _ in range(rounds):
        for index, server in enumerate(servers):
            in_process = floor.window(seconds)
            cpu_ms = floor.cpu_ms_per_image
            pairs[index].append((in_process, cpu_ms, _window(server, body, concurrency, seconds)))
    figures = []
    for runs in pairs:
        ratio = statistics.median(served["rps"] / base for base, _, served in runs)
        best = max((served for _, _, served in runs), key=lambda r: r["rps"])
        base, cpu_ms, _ = max(runs, key=lambda run: run[0])
        figures.append(Figure(base, cpu_ms, best, ratio))
    return figures


# ---------------------------------------------------------------- the server


class Server:
    """`python -m handtracker_workload` on a free port; `worker_class` overrides
    the configured gunicorn worker class (through GUNICORN_CMD_ARGS)."""

    def __init__(self, bundle_dir: Path, worker_class: str | None = None, **env: str) -> None:
        self.label = worker_class or "as shipped"
        if worker_class:
            env["GUNICORN_CMD_ARGS"] = f"--worker-class {worker_class}"
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


class LoadClient:
    """One keep-alive connection sending one prepared POST over and over.

    A bare socket and a Content-Length read instead of http.client, whose
    header parsing alone costs several times more CPU per request: the load
    generator shares the machine with the server it measures. Reconnects when
    the server closes the connection, as a real client would."""

    def __init__(self, port: int, path: str, body: bytes) -> None:
        self._port = port
        head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/jpeg\r\n"
                f"Content-Length: {len(body)}\r\n\r\n")  # fmt: skip
        self._request = head.encode() + body
        self._sock: socket.socket | None = None
        self.connects = 0

    def call(self) -> int:
        """Sends the request, reads the whole response, returns its status."""
        if self._sock is None:
            self._sock = socket.create_connection(("127.0.0.1", self._port), timeout=60)
            self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.connects += 1
        sock = self._sock
        sock.sendall(self._request)
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
        return status

    @staticmethod
    def _recv(sock: socket.socket) -> bytes:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection mid-response")
        return chunk

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes (all their threads) so far."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def _window(server: Server, body: bytes, concurrency: int, seconds: float) -> dict[str, float]:
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    errors = [0] * concurrency
    clients = [LoadClient(server.port, "/v1/landmarks", body) for _ in range(concurrency)]
    workers = server.workers()
    deadline, cpu_at_start = [0.0], [0.0, 0.0]

    def begin() -> None:
        # Runs once every client is connected and warm, just before they start.
        deadline[0] = time.perf_counter() + seconds
        cpu_at_start[:] = [_cpu_seconds(workers), time.process_time()]

    start_gate = threading.Barrier(concurrency, action=begin)

    def client(index: int) -> None:
        load = clients[index]
        load.call()  # connect + warm
        start_gate.wait()
        while time.perf_counter() < deadline[0]:
            start = time.perf_counter()
            status = load.call()
            latencies[index].append(time.perf_counter() - start)
            errors[index] += status != 200
        load.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    server_cpu = _cpu_seconds(workers) - cpu_at_start[0]
    client_cpu = time.process_time() - cpu_at_start[1]
    flat = sorted(x for xs in latencies for x in xs)
    return {
        "rps": len(flat) / seconds,
        "p50": flat[len(flat) // 2] * 1000,
        "p99": flat[min(len(flat) - 1, int(len(flat) * 0.99))] * 1000,
        "errors": sum(errors),
        # Percent of one core, over the window.
        "client_cpu": client_cpu / seconds * 100,
        "server_cpu_ms": server_cpu / max(1, len(flat)) * 1000,
        "reconnects": sum(c.connects for c in clients) - concurrency,
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
    parser.add_argument(
        "--also-worker-class",
        metavar="CLASS",
        help="also serve the ordinary photo from a server with this gunicorn worker class "
        "(e.g. gthread), its windows alternating with the others",
    )
    args = parser.parse_args()
    photos_dir = testdata_dir()
    with tempfile.TemporaryDirectory(prefix="bench-models-") as tmp:
        bundle_dir = Path(tmp)
        bundle.build(bundle_dir, "full")
        return run(bundle_dir, photos_dir, args.seconds, args.rounds, args.also_worker_class)


def run(bundle_dir: Path, photos_dir: Path, seconds: float, rounds: int,
        also_worker_class: str | None = None) -> int:  # fmt: skip
    print(f"cores: {CORES}; photos: {photos_dir}")
    print(f"{rounds} windows of {seconds:g} s per figure; in-process and served windows alternate")
    ordinary = (photos_dir / ORDINARY).read_bytes()
    photo = cv2.imread(str(photos_dir / ORDINARY))
    all_photos = [p.read_bytes() for p in sorted(photos_dir.glob("*.jpg"))
                  if "3000x4000" not in p.name]  # fmt: skip
    servers = [Server(bundle_dir, HANDTRACKER_WORKERS=str(CORES))]
    try:
        if also_worker_class:
            servers.append(Server(bundle_dir, also_worker_class, HANDTRACKER_WORKERS=str(CORES)))
        ordinary_photo(servers, bundle_dir, ordinary, all_photos, seconds, rounds)
        phone_photo(servers[0], bundle_dir, _phone_like(photo, 4000, 3000, 92), seconds, rounds)
    finally:
        for server in servers:
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


def ordinary_photo(servers: list[Server], bundle_dir: Path, ordinary: bytes,
                   all_photos: list[bytes], seconds: float, rounds: int) -> None:  # fmt: skip
    every = InProcess(bundle_dir, all_photos, full_pipeline=False)
    try:
        floor_all = max(every.window(seconds) for _ in range(rounds))
    finally:
        every.close()
    print(f"\nfloor over {len(all_photos)} test JPEGs (inference only, {CORES} processes): "
          f"{floor_all:.1f} img/s")  # fmt: skip
    print(f"served POST /v1/landmarks on {ORDINARY} (640x521), {CORES} workers, each window")
    print(f"next to an in-process floor window ({CORES} processes, inference only).")
    print("CPU ms/img: CPU time (all cores) per image in process, per request in the server;")
    print("client CPU: the load generator's own use, in % of one core.")
    print("  worker class  conc  floor img/s  CPU ms/img   req/s  CPU ms/req   p50 ms   p99 ms"
          "  errors  client CPU  served/floor (median)")  # fmt: skip
    floor = InProcess(bundle_dir, [ordinary], full_pipeline=False)
    try:
        for concurrency in (1, 2, 4, 8):
            figures = alternate(floor, servers, ordinary, concurrency, seconds, rounds)
            for server, f in zip(servers, figures, strict=True):
                r = f.served
                print(f"  {server.label:12s} {concurrency:5d} {f.floor:12.1f} "
                      f"{f.floor_cpu_ms:11.2f} {r['rps']:7.1f} {r['server_cpu_ms']:11.2f} "
                      f"{r['p50']:8.1f} {r['p99']:8.1f} {r['errors']:7d} {r['client_cpu']:10.1f}%"
                      f"  {f.ratio:8.2f}")  # fmt: skip
    finally:
        floor.close()


def phone_photo(server: Server, bundle_dir: Path, body: bytes, seconds: float,
                rounds: int) -> None:  # fmt: skip
    from handtracker_workload.inference import Detector

    pipeline = InProcess(bundle_dir, [body], full_pipeline=True)
    try:
        (figure,) = alternate(pipeline, [server], body, CORES, seconds, rounds)
        plain, served, ratio = figure.floor, figure.served, figure.ratio
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
