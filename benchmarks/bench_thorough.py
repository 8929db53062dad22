"""Thorough detection mode against standard, each target beside its measured figure, in one run.

    .venv/bin/python benchmarks/bench_thorough.py [--served-seconds N]

  1. Small hands: every photo with ground truth (groundtruth.json) shrunk into a
     grey 1920x1080 frame so that its largest ground-truth hand's box (the
     longer side of the box around its labelled points) is 40, 60, 80, 120, 160
     or 240 px, at 3 placements, sent as JPEG (quality 90) and decoded as the
     service does. The whole photo must fit in the frame: one too large at a
     size (a small hand in a large photo) sits that size out, so fewer photos
     take part at the larger sizes (12, 11, 10, 9, 9 and 8 of the 12).
     That hand is found when a returned hand's pixel landmarks lie within 0.2 x
     the box of its ground-truth points (median over the labelled points).
     Recall per size, standard and thorough.
  2. Natural photos: the ground-truth hands each mode finds in the photos as
     they are (their own files, decoded as the service does), and PCK@0.2 (the
     share of labelled points within 0.2 x the box) of the found hands, overall
     and on the hands both modes find.
  3. False positives: hands reported on the photos without hands (nohand_*).
  4. Cost per 1080p frame, in process, one detector: median latency and CPU
     time (the process's, all threads) of each mode on the frames of 1 (sizes
     60-160), and on frames textured edge to edge (each hand photo scaled to
     cover 1920x1080), where no tile is skipped; with the profile of thorough's
     extra time (full-frame pass, palm search on tiles, crops).
  5. Served: POST /v1/landmarks?mode=thorough (and standard) on 1080p frames at
     concurrency 4, `python -m handtracker_workload` with one worker per core.

Targets: thorough recall >= 0.45 / 0.75 / 0.8 / 0.9 at 60 / 80 / 120 / 160 px,
+2 or more natural ground-truth hands, PCK not worse on the hands both find,
0 false positives, thorough/standard median latency and CPU <= 6x.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench_workload import CORES, Server, Target, raw_request, run_window  # noqa: E402
from handtracker_workload import bundle, decode  # noqa: E402
from handtracker_workload.config import STANDARD, THOROUGH, Settings  # noqa: E402
from handtracker_workload.hands import Hand  # noqa: E402
from handtracker_workload.inference import Detector  # noqa: E402
from handtracker_workload.thorough import ThoroughDetector, by_mode  # noqa: E402

from tests.support.testdata import testdata_dir  # noqa: E402

FRAME = (1920, 1080)
SIZES = (40, 60, 80, 120, 160, 240)
PLACEMENTS = ((0.1, 0.1), (0.45, 0.4), (0.8, 0.7))  # of the room left around the photo
RECALL_TARGETS = {60: 0.45, 80: 0.75, 120: 0.8, 160: 0.9}
COST_SIZES = (60, 80, 120, 160)
NEAR = 0.2  # of the box: a landmark this close to its ground truth counts
MAX_COST_RATIO = 6.0
GREY = 114
JPEG_QUALITY = 90
MODES = (STANDARD, THOROUGH)


@dataclass(frozen=True)
class Truth:
    points: np.ndarray  # (21, 2) pixels, NaN where not labelled

    @property
    def box(self) -> float:
        known = self.points[~np.isnan(self.points[:, 0])]
        return float((known.max(axis=0) - known.min(axis=0)).max())

    def moved(self, scale: float, dx: float, dy: float) -> Truth:
        return Truth(self.points * scale + [dx, dy])

    def errors(self, hand: Hand, width: int, height: int) -> np.ndarray:
        """Distance of each labelled point to the hand's landmark, in pixels."""
        known = ~np.isnan(self.points[:, 0])
        pixels = np.array(hand.pixels(width, height))
        return np.linalg.norm(pixels[known] - self.points[known], axis=1)

    def match(self, hands: tuple[Hand, ...], width: int, height: int) -> Hand | None:
        """The returned hand on this one (median error within NEAR x box), if any."""
        best = min(hands, key=lambda h: float(np.median(self.errors(h, width, height))),
                   default=None)  # fmt: skip
        if best is None or np.median(self.errors(best, width, height)) > NEAR * self.box:
            return None
        return best

    def pck(self, hand: Hand, width: int, height: int) -> float:
        return float((self.errors(hand, width, height) <= NEAR * self.box).mean())


def load_truths(photos: Path) -> dict[str, list[Truth]]:
    images = json.loads((photos / "groundtruth.json").read_text())["images"]
    return {
        name: [Truth(np.array([p if p is not None else (np.nan, np.nan) for p in hand["points"]],
                              float)) for hand in hands]  # fmt: skip
        for name, hands in images.items()
    }


def read_rgb(path: Path) -> np.ndarray:
    return np.ascontiguousarray(cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB))


def decoded(data: bytes) -> np.ndarray:
    """An upload's pixels as the service decodes them for detection."""
    return decode.for_detection(decode.to_rgb(data, decode.Limits.from_settings(Settings())).rgb)


def as_served(rgb: np.ndarray) -> tuple[bytes, np.ndarray]:
    """A made frame as JPEG bytes, and decoded from them as the service does."""
    jpeg = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                        [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])[1].tobytes()  # fmt: skip
    return jpeg, decoded(jpeg)


@dataclass(frozen=True)
class Trial:
    name: str
    size: int
    jpeg: bytes
    rgb: np.ndarray
    truth: Truth


def small_hand_frames(photos: Path, truths: dict[str, list[Truth]], size: int) -> Iterator[Trial]:
    width, height = FRAME
    for name, hands in truths.items():
        largest = max(hands, key=lambda t: t.box)
        scale = size / largest.box
        photo = read_rgb(photos / name)
        cw, ch = round(photo.shape[1] * scale), round(photo.shape[0] * scale)
        if cw > width or ch > height:
            continue  # the photo does not fit in the frame at this size
        small = cv2.resize(photo, (cw, ch),
                           interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
        for fx, fy in PLACEMENTS:
            x0, y0 = int(fx * (width - cw)), int(fy * (height - ch))
            frame = np.full((height, width, 3), GREY, np.uint8)
            frame[y0 : y0 + ch, x0 : x0 + cw] = small
            jpeg, rgb = as_served(frame)
            yield Trial(name, size, jpeg, rgb, largest.moved(scale, x0, y0))


def textured_frames(photos: Path, names: list[str]) -> Iterator[np.ndarray]:
    """Each photo scaled to cover the 1080p frame and cropped to it: nothing to skip."""
    width, height = FRAME
    for name in names:
        photo = read_rgb(photos / name)
        scale = max(width / photo.shape[1], height / photo.shape[0])
        big = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
        y0, x0 = (big.shape[0] - height) // 2, (big.shape[1] - width) // 2
        yield as_served(np.ascontiguousarray(big[y0 : y0 + height, x0 : x0 + width]))[1]


@dataclass
class Timed:
    seconds: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def run(self, call: Callable[[], object]) -> object:
        wall, cpu = time.perf_counter(), time.process_time()
        result = call()
        self.cpu.append(time.process_time() - cpu)
        self.seconds.append(time.perf_counter() - wall)
        return result

    def median_ms(self) -> tuple[float, float]:
        return statistics.median(self.seconds) * 1000, statistics.median(self.cpu) * 1000


def small_hands(detectors: dict, photos: Path, truths: dict[str, list[Truth]],
                timing: dict[str, Timed]) -> tuple[list[Target], list[np.ndarray]]:  # fmt: skip
    print("\n1. small hands: each GT photo's largest hand at a box of N px in a 1920x1080 frame,")
    print(f"   {len(PLACEMENTS)} placements; found = median landmark error <= {NEAR} x box")
    print("   size  trials   standard          thorough          target")
    targets, cost_frames = [], []
    width, height = FRAME
    per_photo: dict[str, int] = {}  # thorough's finds at all sizes, of the photos tried
    for size in SIZES:
        found = dict.fromkeys(MODES, 0)
        trials = 0
        for trial in small_hand_frames(photos, truths, size):
            trials += 1
            for mode in MODES:
                if size in COST_SIZES:
                    hands = timing[mode].run(lambda m=mode, t=trial: detectors[m].run(t.rgb).hands)
                else:
                    hands = detectors[mode].run(trial.rgb).hands
                hit = trial.truth.match(hands, width, height) is not None  # type: ignore[arg-type]
                found[mode] += hit
                per_photo[trial.name] = per_photo.get(trial.name, 0) + (hit and mode == THOROUGH)
            if size in COST_SIZES:
                cost_frames.append(trial.rgb)
        recall = {m: found[m] / trials if trials else 0.0 for m in MODES}
        goal = RECALL_TARGETS.get(size)
        print(f"  {size:5d}  {trials:6d}   {found[STANDARD]:3d} ({recall[STANDARD]:.2f})"
              f"        {found[THOROUGH]:3d} ({recall[THOROUGH]:.2f})"
              f"        {f'>= {goal:.2f}' if goal else '-'}")  # fmt: skip
        if goal is not None:
            targets.append(Target(f"recall at {size} px, thorough", f">= {goal:.2f}",
                                  f"{recall[THOROUGH]:.2f}", recall[THOROUGH] >= goal))  # fmt: skip
    def described(names: list[str]) -> str:
        return ", ".join(f"{name} (largest hand {max(t.box for t in truths[name]):.0f} px)"
                         for name in names) or "none"

    print("   photos thorough finds at no size: "
          f"{described([n for n, count in per_photo.items() if count == 0])}")
    print("   photos too large for the frame at every size: "
          f"{described([n for n in truths if n not in per_photo])}")
    return targets, cost_frames


def natural(detectors: dict, photos: Path, truths: dict[str, list[Truth]]) -> list[Target]:
    print("\n2. natural photos with ground truth, as they are")
    found: dict[str, list[tuple[str, int, float]]] = {m: [] for m in MODES}
    total, unmatched = 0, dict.fromkeys(MODES, 0)
    for name, hands in truths.items():
        rgb = decoded((photos / name).read_bytes())
        height, width = rgb.shape[:2]
        total += len(hands)
        for mode in MODES:
            returned = detectors[mode].run(rgb).hands
            matched = set()
            for i, truth in enumerate(hands):
                hand = truth.match(returned, width, height)
                if hand is not None:
                    found[mode].append((name, i, truth.pck(hand, width, height)))
                    matched.add(id(hand))
            unmatched[mode] += sum(id(h) not in matched for h in returned)
    both = {(n, i) for n, i, _ in found[STANDARD]} & {(n, i) for n, i, _ in found[THOROUGH]}
    pck = {m: statistics.mean(p for _, _, p in found[m]) if found[m] else float("nan")
           for m in MODES}  # fmt: skip
    pck_both = {m: statistics.mean(p for n, i, p in found[m] if (n, i) in both) if both
                else float("nan") for m in MODES}  # fmt: skip
    print(f"   GT hands: {total}; found: standard {len(found[STANDARD])}, "
          f"thorough {len(found[THOROUGH])} (target +2 or more)")
    print(f"   PCK@{NEAR} of found hands: standard {pck[STANDARD]:.3f}, "
          f"thorough {pck[THOROUGH]:.3f}")
    print(f"   PCK@{NEAR} on the {len(both)} hands both find: standard {pck_both[STANDARD]:.3f}, "
          f"thorough {pck_both[THOROUGH]:.3f}")
    print(f"   hands on no GT hand (GT does not cover every hand): standard "
          f"{unmatched[STANDARD]}, thorough {unmatched[THOROUGH]}")
    gained = len(found[THOROUGH]) - len(found[STANDARD])
    return [
        Target("natural GT hands, thorough - standard", ">= +2", f"{gained:+d}", gained >= 2),
        Target("PCK@0.2 on hands both find, th - std", ">= 0",
               f"{pck_both[THOROUGH] - pck_both[STANDARD]:+.3f}",
               pck_both[THOROUGH] >= pck_both[STANDARD]),
    ]  # fmt: skip


def false_positives(detectors: dict, photos: Path) -> list[Target]:
    print("\n3. photos without hands")
    counts = dict.fromkeys(MODES, 0)
    names = sorted(p.name for p in photos.glob("nohand_*"))
    for name in names:
        rgb = decoded((photos / name).read_bytes())
        for mode in MODES:
            counts[mode] += len(detectors[mode].run(rgb).hands)
    print(f"   {len(names)} photos; hands reported: standard {counts[STANDARD]}, "
          f"thorough {counts[THOROUGH]}")
    return [Target("hands on no-hand photos, thorough", "0", str(counts[THOROUGH]),
                   counts[THOROUGH] == 0)]  # fmt: skip


def cost(detectors: dict, timing: dict[str, Timed], photos: Path,
         frames: list[np.ndarray]) -> list[Target]:  # fmt: skip
    print("\n4. cost per 1080p frame, in process (one detector, medians)")
    print("   frames                          mode       latency ms   CPU ms   ratio lat / CPU")
    targets = []
    names = sorted(p.name for p in photos.iterdir() if p.suffix in (".jpg", ".png")
                   and not p.name.startswith("nohand_"))  # fmt: skip
    textured = {m: Timed() for m in MODES}
    for rgb in textured_frames(photos, names):
        for mode in MODES:
            textured[mode].run(lambda m=mode, f=rgb: detectors[m].run(f))
    for label, timed in ((f"1.'s frames, {COST_SIZES[0]}-{COST_SIZES[-1]} px", timing),
                         (f"textured edge to edge ({len(names)})", textured)):  # fmt: skip
        base = timed[STANDARD].median_ms()
        for mode in MODES:
            wall, cpu = timed[mode].median_ms()
            print(f"   {label:32s}{mode:10s}{wall:10.1f}{cpu:10.1f}"
                  f"   {wall / base[0]:5.2f} / {cpu / base[1]:4.2f}")
        wall, cpu = timed[THOROUGH].median_ms()
        ratio = max(wall / base[0], cpu / base[1])
        targets.append(Target(f"thorough/standard, {label.split(',')[0].split(' (')[0]}",
                              f"<= {MAX_COST_RATIO:g}x", f"{ratio:.2f}x",
                              ratio <= MAX_COST_RATIO))  # fmt: skip
    profile(detectors, frames, "1.'s frames")
    profile(detectors, list(textured_frames(photos, names)), "textured frames")
    return targets


def profile(detectors: dict, frames: list[np.ndarray], label: str) -> None:
    """Where thorough's time goes: the full-frame pass, the palm search, the crops."""
    thorough: ThoroughDetector = detectors[THOROUGH]
    full, search, whole, candidates = [], [], [], []
    for rgb in frames:
        start = time.perf_counter()
        hands = list(detectors[STANDARD].run(rgb).hands)
        full.append(time.perf_counter() - start)
        start = time.perf_counter()
        candidates.append(len(thorough.candidates(rgb, hands)))
        search.append(time.perf_counter() - start)
        start = time.perf_counter()
        thorough.run(rgb)
        whole.append(time.perf_counter() - start)
    ms = [statistics.mean(x) * 1000 for x in (full, search, whole)]
    print(f"   profile of thorough on {label} (means): full-frame pass {ms[0]:.1f} ms, palm "
          f"search on tiles {ms[1]:.1f} ms, crops {ms[2] - ms[0] - ms[1]:.1f} ms "
          f"({statistics.mean(candidates):.1f} candidate palms per frame)")


def served(bundle_dir: Path, frames: list[bytes], seconds: float) -> list[Target]:
    print(f"\n5. served POST /v1/landmarks on {len(frames)} 1080p frames of 1., {CORES} workers,"
          " concurrency 4")
    print("   mode        req/s   p50 ms   p99 ms   CPU ms/req  errors")
    server = Server(bundle_dir, HANDTRACKER_WORKERS=str(CORES))
    rates = {}
    try:
        for mode in MODES:
            requests = [("valid", raw_request(f"/v1/landmarks?mode={mode}", body))
                        for body in frames]  # fmt: skip
            window = run_window(server, requests, 4, seconds)
            errors = sum(r.status != 200 for r in window.replies)
            cpu_ms = window.server_cpu / max(1, len(window.replies)) * 1000
            rates[mode] = window.rps
            print(f"   {mode:10s}{window.rps:7.1f}{window.p(0.5):9.1f}{window.p(0.99):9.1f}"
                  f"{cpu_ms:12.1f}{errors:8d}")  # fmt: skip
    finally:
        server.stop()
    print(f"   thorough serves {rates[THOROUGH] / rates[STANDARD]:.2f}x standard's rate")
    return []


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--served-seconds", type=float, default=8.0)
    args = parser.parse_args()
    photos = testdata_dir()
    truths = load_truths(photos)
    cv2.setNumThreads(1)
    print(f"cores: {CORES}; photos: {photos}; load average {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="bench-models-") as tmp:
        bundle_dir = Path(tmp)
        bundle.build(bundle_dir, "full")
        settings = Settings(model_bundle_dir=bundle_dir)
        detectors = by_mode(Detector(settings), settings)
        timing = {m: Timed() for m in MODES}
        targets, cost_frames = small_hands(detectors, photos, truths, timing)
        targets += natural(detectors, photos, truths)
        targets += false_positives(detectors, photos)
        targets += cost(detectors, timing, photos, cost_frames)
        sample = [t.jpeg for size in (60, 120) for t in small_hand_frames(photos, truths, size)]
        targets += served(bundle_dir, sample, args.served_seconds)
    print("\ntarget                                       goal       measured   met")
    for t in targets:
        print(f"  {t.name:43s}{t.goal:11s}{t.measured:11s}{'yes' if t.met else 'NO'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
