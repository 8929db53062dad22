"""GET /: the single-page UI (photo upload and live camera), and its assets.

Everything the page needs is served from here (no CDN, no web font), because
clusters running the service are often offline. Asset URLs in the page are
relative, so the UI also works behind an ingress that adds a path prefix.
"""

from __future__ import annotations

from flask import Blueprint, Response, render_template

from . import gestures, services
from .config import STANDARD, THOROUGH
from .hands import FINGER_COLOURS, FINGERS, LANDMARK_NAMES


def _css_colour(bgr: tuple[int, int, int]) -> str:
    b, g, r = bgr
    return f"rgb({r}, {g}, {b})"


bp = Blueprint(
    "ui",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/assets",
)

# What the page's script needs to draw like render.py does.
_PAGE_CONFIG = {
    "landmarkNames": list(LANDMARK_NAMES),
    "fingers": {name: list(idx) for name, idx in FINGERS.items()},
    "fingerColours": {name: _css_colour(bgr) for name, bgr in FINGER_COLOURS.items()},
    "gestures": list(gestures.LABELS),
    "modes": {"off": STANDARD, "on": THOROUGH},  # the upload's thorough switch
}


@bp.get("/")
def index() -> Response:
    settings = services.current().settings
    config = {
        **_PAGE_CONFIG,
        "maxHands": settings.max_hands,
        "thorough": settings.detection_mode == THOROUGH,
    }
    html = render_template("index.html", title=settings.ui_title, config=config)
    response = Response(html, mimetype="text/html")
    # The page only talks to its own origin; say so to the browser.
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; "
        "connect-src 'self' ws: wss:; style-src 'self'; script-src 'self'"
    )
    return response
