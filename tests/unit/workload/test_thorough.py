"""Thorough mode's geometry and bookkeeping, on synthetic inputs: the tile plan,
the palm decoder, the crop around a palm, and how hands from crops are mapped
back, merged and cut to maxHands. Detection on real photos is tested in
tests/integration/workload/test_thorough.py."""

from __future__ import annotations

import numpy as np
import pytest
from handtracker_workload import palms, thorough
from handtracker_workload.hands import Detection, Hand, Point3
from handtracker_workload.palms import Palm


def test_the_anchors_are_the_models_2016_in_output_order() -> None:
    anchors = palms.anchor_centres()
    assert anchors.shape == (2016, 2)
    # 24x24 cells of stride 8, two anchors each, then 12x12 of stride 16, six each.
    assert anchors[0].tolist() == anchors[1].tolist() == [4.0, 4.0]
    assert anchors[2].tolist() == [12.0, 4.0]
    assert anchors[1152].tolist() == anchors[1157].tolist() == [8.0, 8.0]
    assert anchors[-1].tolist() == [184.0, 184.0]


def test_decode_keeps_scores_over_the_threshold_and_offsets_boxes_from_their_anchor() -> None:
    regressors = np.zeros((2016, 18), np.float32)
    logits = np.full(2016, -10.0, np.float32)
    logits[2], logits[1200] = 3.0, 0.5  # sigmoid 0.95 and 0.62
    regressors[2, :4] = (1.5, -2.0, 30.0, 24.0)
    regressors[2, 4:6] = (-5.0, 10.0)  # the wrist
    regressors[2, 8:10] = (5.0, -10.0)  # the middle finger's base
    found = palms.decode(regressors, logits, min_score=0.9)
    assert len(found) == 1
    palm = found[0]
    assert palm.score == pytest.approx(0.9526, abs=1e-4)
    assert (palm.x, palm.y, palm.size) == (13.5, 2.0, 30.0)
    assert palm.wrist == (7.0, 14.0) and palm.middle_base == (17.0, -6.0)
    assert [p.score > 0.6 for p in palms.decode(regressors, logits, min_score=0.6)] == [True] * 2


def _palm(x: float, y: float, size: float, score: float = 0.9) -> Palm:
    return Palm(score, x, y, size, (x, y + size / 2), (x, y - size / 2))


def test_suppression_keeps_the_best_of_overlapping_palms_and_every_separate_one() -> None:
    best, weaker, apart = _palm(50, 50, 20, 0.9), _palm(52, 51, 22, 0.7), _palm(150, 50, 20, 0.6)
    assert palms.suppress([weaker, apart, best], max_iou=0.3) == [best, apart]


def test_a_palm_found_in_a_tile_moves_to_image_pixels() -> None:
    moved = _palm(96, 96, 20).moved(400, 300, 2.5)
    assert (moved.x, moved.y, moved.size) == (640.0, 540.0, 50.0)
    assert moved.wrist == (640.0, 565.0)


def _covered(tiles: list[thorough.Box], width: int, height: int) -> np.ndarray:
    seen = np.zeros((height, width), bool)
    for t in tiles:
        assert t.x >= 0 and t.y >= 0 and t.x + t.width <= width and t.y + t.height <= height
        seen[t.y : t.y + t.height, t.x : t.x + t.width] = True
    return seen


@pytest.mark.parametrize(
    ("width", "height"), [(1920, 1080), (1080, 1920), (4000, 3000), (800, 800)]
)
def test_tiles_are_squares_covering_the_whole_image_with_overlap(width: int, height: int) -> None:
    tiles = thorough.tile_plan(width, height)
    assert tiles and _covered(tiles, width, height).all()
    side = round(max(width, height) / 4)
    assert {(t.width, t.height) for t in tiles} == {(side, side)}
    xs = sorted({t.x for t in tiles})
    step = side * (1 - thorough.TILE_OVERLAP)
    assert all(b - a <= step + 1 for a, b in zip(xs, xs[1:], strict=False))


def test_a_1080p_frame_gets_fifteen_tiles_and_a_small_photo_none() -> None:
    assert len(thorough.tile_plan(1920, 1080)) == 15
    # A quarter of 640 px would be upscaled: the full-frame pass already sees it all.
    assert thorough.tile_plan(640, 480) == []


def test_flat_tiles_are_recognised_and_textured_ones_are_not() -> None:
    grey = np.full((192, 192, 3), 114, np.uint8)
    assert thorough.is_flat(grey)
    noisy = grey + np.random.default_rng(0).integers(0, 3, grey.shape, np.uint8)  # JPEG-like
    assert thorough.is_flat(noisy)
    textured = grey.copy()
    textured[80:120, 80:120] = 200
    assert not thorough.is_flat(textured)


def test_the_crop_is_centred_towards_the_fingers_and_clipped_to_the_image() -> None:
    # Wrist below, fingers up: the crop's centre moves up by half a palm.
    palm = Palm(0.9, 500, 400, 20, (500, 410), (500, 390))
    box = thorough.crop_box(palm, 1920, 1080, 6.0)
    assert (box.width, box.height) == (120, 120)
    assert (box.x + box.width / 2, box.y + box.height / 2) == (500, 390)
    corner = thorough.crop_box(Palm(0.9, 5, 5, 20, (5, 15), (5, -5)), 1920, 1080, 6.0)
    assert (corner.x, corner.y) == (0, 0) and corner.width < 120


def _hand(x0: float, y0: float, size: float, score: float = 0.9) -> Hand:
    """A hand of 21 points spread over a size x size box at (x0, y0), normalised."""
    grid = [(x0 + size * (i % 5) / 4, y0 + size * (i // 5) / 4) for i in range(21)]
    points = tuple(Point3(x, y, 0.01) for x, y in grid)
    return Hand("Left", score, points, points)


def test_a_hand_found_in_a_crop_maps_back_to_image_coordinates() -> None:
    crop = thorough.Box(400, 200, 100, 50)
    mapped = thorough.from_crop(_hand(0.0, 0.0, 1.0), crop, 1000, 500)
    xs = [p.x * 1000 for p in mapped.landmarks]
    ys = [p.y * 500 for p in mapped.landmarks]
    assert (min(xs), max(xs)) == pytest.approx((400, 500))
    assert (min(ys), max(ys)) == pytest.approx((200, 250))
    assert mapped.landmarks[0].z == pytest.approx(0.01 * 100 / 1000)  # z scales with x
    assert mapped.world_landmarks == _hand(0.0, 0.0, 1.0).world_landmarks


class _Standard:
    """A standard detector that finds `whole` in the image and `in_crop` in any crop."""

    def __init__(self, whole: list[Hand], in_crop: list[Hand], min_crop: int = 0) -> None:
        self.whole, self.in_crop, self.min_crop = whole, in_crop, min_crop
        self.crop_sides: list[int] = []

    @property
    def crops(self) -> int:
        return len(self.crop_sides)

    def run(self, rgb: np.ndarray) -> Detection:
        if rgb.shape[:2] == (1080, 1920):
            return Detection(tuple(self.whole), 0.0)
        self.crop_sides.append(rgb.shape[1])
        return Detection(tuple(self.in_crop) if rgb.shape[1] >= self.min_crop else (), 0.0)


class _Palms:
    """Reports one palm in the middle of every tile."""

    def detect(self, tile: np.ndarray) -> list[Palm]:
        return [_palm(96, 96, 8)]


def _textured_frame() -> np.ndarray:
    return np.random.default_rng(1).integers(0, 255, (1080, 1920, 3), np.uint8)


def test_hands_are_merged_once_sorted_largest_first_and_cut_to_max_hands() -> None:
    big = _hand(0.05, 0.05, 0.2)
    # Every crop "finds" the same small hand, filling its crop: at each palm a new
    # place in the image, so they are distinct hands, and the cap applies.
    standard = _Standard([big], [_hand(0.3, 0.3, 0.4)])
    detector = thorough.ThoroughDetector(standard, _Palms(), max_hands=3)
    hands = detector.run(_textured_frame()).hands
    assert len(hands) == 3 and hands[0] == big
    areas = [h.area(1920, 1080) for h in hands]
    assert areas == sorted(areas, reverse=True)
    assert standard.crops <= thorough.MAX_CANDIDATES


def test_a_palm_the_crop_does_not_confirm_adds_no_hand() -> None:
    standard = _Standard([], [])
    hands = thorough.ThoroughDetector(standard, _Palms(), max_hands=4).run(_textured_frame())
    # Each candidate is looked at in every crop size before it is given up.
    assert hands.hands == ()
    assert standard.crops == thorough.MAX_CANDIDATES * len(thorough.CROP_PALMS)


def test_the_wider_crop_is_looked_at_only_when_the_tighter_shows_no_hand() -> None:
    tight, wide = (round(n * 8 * 2.5) for n in thorough.CROP_PALMS)  # palm 8 px, x2.5 tile
    seen_wide = _Standard([], [_hand(0.3, 0.3, 0.4)], min_crop=wide)
    assert thorough.ThoroughDetector(seen_wide, _Palms(), 1).run(_textured_frame()).hands
    assert seen_wide.crop_sides[:2] == [tight, wide]
    seen_tight = _Standard([], [_hand(0.3, 0.3, 0.4)])
    thorough.ThoroughDetector(seen_tight, _Palms(), 1).run(_textured_frame())
    assert set(seen_tight.crop_sides) == {tight}


def test_palms_inside_a_hand_already_found_are_not_looked_at_again() -> None:
    whole = _hand(0.0, 0.0, 1.0)  # covers the whole frame
    standard = _Standard([whole], [_hand(0.3, 0.3, 0.4)])
    hands = thorough.ThoroughDetector(standard, _Palms(), max_hands=4).run(_textured_frame())
    assert hands.hands == (whole,) and standard.crops == 0


def test_a_flat_image_costs_only_the_full_frame_pass() -> None:
    standard = _Standard([], [_hand(0.3, 0.3, 0.4)])
    flat = np.full((1080, 1920, 3), 114, np.uint8)
    assert thorough.ThoroughDetector(standard, _Palms(), 2).run(flat).hands == ()
    assert standard.crops == 0
