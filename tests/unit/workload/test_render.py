from __future__ import annotations

import cv2
import numpy as np
import pytest
from handtracker_workload import render
from handtracker_workload.hands import FINGERS, Hand, Point3


def _hand() -> Hand:
    # A spread hand: wrist at the bottom, five fingers fanning upwards.
    points = [Point3(0.5, 0.9, 0.0)]
    for f, _ in enumerate(FINGERS):
        x = 0.2 + 0.15 * f
        points += [Point3(x, 0.7 - 0.15 * j, 0.0) for j in range(4)]
    return Hand("Right", 0.9, tuple(points), tuple(points))


def test_fingers_have_the_rainbow_colours_of_the_conventions():
    assert render.FINGER_COLOURS == {
        "thumb": (0, 255, 255),
        "index": (128, 0, 128),
        "middle": (255, 255, 0),
        "ring": (0, 255, 0),
        "pinky": (0, 0, 255),
    }
    assert render.JOINT_COLOUR == (255, 255, 255)


@pytest.mark.parametrize(
    ("size", "width"), [((100, 100), 2), ((640, 480), 2), ((1920, 1080), 5), ((4000, 3000), 15)]
)
def test_line_width_scales_with_the_image(size, width):
    assert render.line_width(*size) == width


@pytest.mark.parametrize(("width", "height"), [(200, 150), (2000, 1500)])
def test_draw_paints_each_finger_in_its_colour(width, height):
    rgb = render.draw(np.zeros((height, width, 3), np.uint8), [_hand()])
    canvas = rgb[:, :, ::-1]  # drawn in RGB, the palette is written in BGR
    for finger, colour in render.FINGER_COLOURS.items():
        # Halfway between the last two joints: on the line, clear of the white dots.
        dip, tip = (_hand().landmarks[i] for i in FINGERS[finger][2:])
        x = round((dip.x + tip.x) / 2 * width)
        y = round((dip.y + tip.y) / 2 * height)
        assert tuple(int(c) for c in canvas[y, x]) == colour, finger
    wrist = _hand().landmarks[0]
    assert tuple(canvas[round(wrist.y * height), round(wrist.x * width)]) == (255, 255, 255)


def test_no_hands_draws_nothing():
    canvas = np.full((50, 60, 3), 7, np.uint8)
    assert (render.draw(canvas.copy(), []) == canvas).all()


@pytest.mark.parametrize("fmt", ["jpeg", "png"])
def test_encode_round_trips_in_rgb_order(fmt):
    rgb = np.zeros((40, 32, 3), np.uint8)
    rgb[:, :16] = (220, 30, 30)  # left half red
    decoded = cv2.imdecode(np.frombuffer(render.encode(rgb, fmt), np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape == rgb.shape
    assert np.abs(decoded[20, 4].astype(int) - (30, 30, 220)).max() <= 8  # BGR: red last
    assert np.abs(decoded[20, 28].astype(int)).max() <= 8


@pytest.mark.parametrize("quality", [50, 95])
def test_jpeg_quality_is_the_one_asked_for(quality):
    noise = np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)
    sizes = {q: len(render.encode(noise, "jpeg", q)) for q in (quality, quality - 20)}
    assert sizes[quality] > sizes[quality - 20]
