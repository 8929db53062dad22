"""MediaPipe's palm detector run on its own, on 192x192 image tiles.

The only module that imports the TFLite runtime (ai-edge-litert). The model
is the wheel's palm_detection_lite.tflite (bundle.py finds it), run without
the landmark model, so thorough mode (thorough.py) can look for palms in many
tiles for the price of one small model each, and run the landmark model only
where a palm is. On the test photos shrunk into 1080p frames the lite model
found as many small hands as the full one, or more, in 80 % of its time.

The model is an SSD: 2016 anchors on a 24x24 grid (stride 8, two per cell) and
a 12x12 grid (stride 16, six per cell), every anchor of unit size. For each
anchor it gives a score logit and 18 numbers in input pixels: the box centre's
offset from the anchor, the box's width and height, and seven keypoints
(0 the wrist, 2 the middle finger's base) as offsets from the anchor. Input is
RGB scaled to [0, 1].
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter

INPUT_SIZE = 192
# (stride, anchors per cell) of the model's two output grids, in output order.
_GRIDS = ((8, 2), (16, 6))
WRIST, MIDDLE_BASE = 0, 2
# Logits are clipped as MediaPipe's decoder does, so exp() cannot overflow.
_LOGIT_CLIP = 100.0


def anchor_centres(size: int = INPUT_SIZE) -> np.ndarray:
    """(2016, 2) anchor centres in input pixels, in the model's output order."""
    rows = []
    for stride, per_cell in _GRIDS:
        cells = size // stride
        ys, xs = np.mgrid[0:cells, 0:cells]
        centres = np.stack([(xs + 0.5) * stride, (ys + 0.5) * stride], axis=-1).reshape(-1, 1, 2)
        rows.append(np.repeat(centres, per_cell, axis=1).reshape(-1, 2))
    return np.concatenate(rows).astype(np.float32)


_ANCHORS = anchor_centres()
_ANCHORS.setflags(write=False)


@dataclass(frozen=True)
class Palm:
    """One palm, in the pixels of the image it was found in."""

    score: float
    x: float  # box centre
    y: float
    size: float  # the box's longer side
    wrist: tuple[float, float]
    middle_base: tuple[float, float]

    def iou(self, other: Palm) -> float:
        """Overlap of the two square boxes of side `size` around the centres."""
        half_a, half_b = self.size / 2, other.size / 2
        w = min(self.x + half_a, other.x + half_b) - max(self.x - half_a, other.x - half_b)
        h = min(self.y + half_a, other.y + half_b) - max(self.y - half_a, other.y - half_b)
        if w <= 0 or h <= 0:
            return 0.0
        inter = w * h
        return inter / (self.size**2 + other.size**2 - inter)

    def moved(self, dx: float, dy: float, scale: float) -> Palm:
        """This palm in an image where the tile's pixel (0, 0) is at (dx, dy) and
        one tile pixel is `scale` image pixels."""
        return Palm(
            self.score,
            dx + self.x * scale,
            dy + self.y * scale,
            self.size * scale,
            (dx + self.wrist[0] * scale, dy + self.wrist[1] * scale),
            (dx + self.middle_base[0] * scale, dy + self.middle_base[1] * scale),
        )


def decode(regressors: np.ndarray, logits: np.ndarray, min_score: float) -> list[Palm]:
    """The palms of one model output ((2016, 18) and (2016,)) scoring at least
    min_score, in input pixels, best first; overlapping ones are not merged."""
    scores = 1.0 / (1.0 + np.exp(-np.clip(logits, -_LOGIT_CLIP, _LOGIT_CLIP)))
    palms = []
    for i in np.flatnonzero(scores >= min_score):
        ax, ay = _ANCHORS[i]
        r = regressors[i]
        palms.append(
            Palm(
                score=float(scores[i]),
                x=float(ax + r[0]),
                y=float(ay + r[1]),
                size=float(max(r[2], r[3])),
                wrist=(float(ax + r[4 + 2 * WRIST]), float(ay + r[5 + 2 * WRIST])),
                middle_base=(
                    float(ax + r[4 + 2 * MIDDLE_BASE]),
                    float(ay + r[5 + 2 * MIDDLE_BASE]),
                ),
            )
        )
    return sorted(palms, key=lambda p: -p.score)


def suppress(palms: list[Palm], max_iou: float) -> list[Palm]:
    """Greedy non-maximum suppression: the best palm of each overlapping group."""
    kept: list[Palm] = []
    for palm in sorted(palms, key=lambda p: -p.score):
        if all(palm.iou(k) <= max_iou for k in kept):
            kept.append(palm)
    return kept


class PalmDetector:
    """The palm model in one interpreter, serialised by a lock (an interpreter
    runs one input at a time). One per worker process, like inference.Detector."""

    def __init__(self, model: Path, min_score: float) -> None:
        # One thread: a worker process serves one core (config.default_workers).
        self._interpreter = Interpreter(model_path=str(model), num_threads=1)
        self._interpreter.allocate_tensors()
        self._input = self._interpreter.get_input_details()[0]["index"]
        regressors, logits = self._interpreter.get_output_details()
        self._regressors, self._logits = regressors["index"], logits["index"]
        self.min_score = min_score
        self._lock = threading.Lock()

    def detect(self, tile: np.ndarray) -> list[Palm]:
        """Palms in a 192x192 RGB uint8 tile, in its pixels, best first."""
        if tile.shape != (INPUT_SIZE, INPUT_SIZE, 3):
            raise ValueError(f"a palm tile is {INPUT_SIZE}x{INPUT_SIZE}x3, not {tile.shape}")
        pixels = (tile.astype(np.float32) * (1.0 / 255.0))[np.newaxis]
        with self._lock:
            self._interpreter.set_tensor(self._input, pixels)
            self._interpreter.invoke()
            regressors = self._interpreter.get_tensor(self._regressors)[0]
            logits = self._interpreter.get_tensor(self._logits)[0, :, 0]
        return decode(regressors, logits, self.min_score)
