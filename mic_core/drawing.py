"""Canvas drawings in and out: streamlit-drawable-canvas JSON <-> pen trajectories.

The canvas (fabric.js freedraw, streamlit-drawable-canvas 0.13) returns ``{"objects": [...]}``
with one ``path`` object per stroke; its ``path`` is a list of commands in canvas pixels
(y pointing down): ``["M", x, y]``, then ``["Q", cx, cy, x, y]`` per pointer event (the
control point is the pointer position, the end point the midpoint to the next one), then
``["L", x, y]``. ``drawing_to_pen_trajectory`` returns the pointer positions with y up, the
form of the data set's positions; ``mic_core.data.character_sequence`` does the rest.

Several strokes: the experts learnt single-stroke letters, so by default a drawing with
several strokes is refused with a message saying so; ``join_strokes=True`` joins them in
drawing order (each pen-up jump becomes a straight line). Strokes that are single points
(a tap) are ignored.

``pen_trajectory_to_drawing`` goes the other way, rendering a data set sample as a person's
canvas drawing (random size and place, irregular point spacing, jitter): it measures how
well the experts read drawings.
"""
from __future__ import annotations

import json

import numpy as np
from PIL import Image

MAX_POINTS = 50_000  # a real drawing has hundreds; more is a mistake or an attack
MAX_JSON_BYTES = 5_000_000
_ARITY = {"M": 2, "L": 2, "Q": 4}


class DrawingError(ValueError):
    """A drawing that cannot be read as a character, with what to do about it."""


def _stroke_points(obj: dict, index: int) -> np.ndarray:
    commands = obj.get("path")
    if not isinstance(commands, list):
        raise DrawingError(f"stroke {index} has no 'path' list of drawing commands")
    points = []
    for command in commands:
        if not isinstance(command, (list, tuple)) or not command:
            raise DrawingError(f"stroke {index} holds a malformed command: {command!r:.60}")
        name, args = command[0], command[1:]
        if name not in _ARITY or len(args) != _ARITY[name]:
            raise DrawingError(f"stroke {index} holds an unsupported command {command!r:.60}; "
                               f"expected M x y, Q cx cy x y or L x y")
        try:
            values = [float(a) for a in args]
        except (TypeError, ValueError):
            raise DrawingError(f"stroke {index} holds a non-numeric coordinate in "
                               f"{command!r:.60}") from None
        points.append(values[:2])  # M/L: the point; Q: the pointer position (control point)
        if len(points) > MAX_POINTS:
            raise DrawingError(f"the drawing has more than {MAX_POINTS} points; draw one "
                               f"letter by hand")
    points = np.array(points, dtype=np.float64).reshape(-1, 2)
    if not np.all(np.isfinite(points)):
        raise DrawingError("the drawing holds NaN or infinite coordinates")
    return points


def _has_length(points: np.ndarray) -> bool:
    return len(points) > 1 and bool(np.any(points != points[0]))


def drawing_to_pen_trajectory(drawing, join_strokes: bool = False) -> np.ndarray:
    """Canvas JSON (a dict, or its text) -> pen positions (T, 2), y up.

    Raises DrawingError with a specific message for an empty drawing, a single point,
    several strokes (unless ``join_strokes``), bad JSON, NaN/inf or too many points.

    >>> drawing_to_pen_trajectory({"objects": [{"type": "path",
    ...     "path": [["M", 0, 0], ["L", 3, 4]]}]}).tolist()
    [[0.0, -0.0], [3.0, -4.0]]
    >>> drawing_to_pen_trajectory({"objects": []})
    Traceback (most recent call last):
    ...
    mic_core.drawing.DrawingError: the drawing is empty: draw a letter first
    """
    if isinstance(drawing, (str, bytes)):
        if len(drawing) > MAX_JSON_BYTES:
            raise DrawingError(f"the drawing file is larger than {MAX_JSON_BYTES} bytes")
        try:
            drawing = json.loads(drawing)
        except ValueError as exc:
            raise DrawingError(f"the drawing is not valid JSON: {exc}") from None
    if not isinstance(drawing, dict) or not isinstance(drawing.get("objects"), list):
        raise DrawingError("a drawing must be the canvas JSON: an object with an "
                           "'objects' list")
    paths = [o for o in drawing["objects"]
             if isinstance(o, dict) and str(o.get("type", "")).lower() == "path"]
    if not paths:
        raise DrawingError("the drawing is empty: draw a letter first")
    strokes = [_stroke_points(o, i) for i, o in enumerate(paths)]
    if sum(len(s) for s in strokes) > MAX_POINTS:
        raise DrawingError(f"the drawing has more than {MAX_POINTS} points; draw one letter "
                           f"by hand")
    strokes = [s for s in strokes if _has_length(s)]  # a tap is not a stroke
    if not strokes:
        raise DrawingError("the drawing is a single point: draw the letter as a line")
    if len(strokes) > 1 and not join_strokes:
        raise DrawingError(f"the drawing has {len(strokes)} strokes; the experts know "
                           f"single-stroke letters: draw it without lifting the pen")
    points = np.concatenate(strokes)
    return points * np.array([1.0, -1.0])  # canvas y points down; the data's y points up


def pen_trajectory_to_drawing(pen_trajectory: np.ndarray, rng: np.random.RandomState,
                              canvas_size: int = 400, jitter: float = 0.8) -> dict:
    """Render positions (T, 2), y up, as a freedraw canvas JSON of one stroke.

    The letter gets a random height (30-80 % of the canvas) and place, is sampled at
    irregular intervals (about one point per pointer event, unevenly), gets Gaussian
    pointer jitter of ``jitter`` pixels, and is encoded as fabric.js's M / Q / L commands.
    """
    p = np.asarray(pen_trajectory, dtype=np.float64) * np.array([1.0, -1.0])  # y down
    p = p - p.min(axis=0)
    scale = rng.uniform(0.3, 0.8) * canvas_size / max(p.max(), 1e-9)
    p = p * scale
    p = p + rng.uniform(0, 1, size=2) * (canvas_size - p.max(axis=0))
    # irregular pointer events: random gaps along the original samples
    gaps = rng.randint(1, 4, size=len(p))
    keep = np.unique(np.concatenate([[0], np.cumsum(gaps)[:-1], [len(p) - 1]]))
    keep = keep[keep < len(p)]
    p = p[keep] + rng.normal(0.0, jitter, size=(len(keep), 2))
    commands = [["M", p[0, 0], p[0, 1]]]
    for a, b in zip(p[:-1], p[1:]):
        mid = (a + b) / 2
        commands.append(["Q", a[0], a[1], mid[0], mid[1]])
    commands.append(["L", p[-1, 0], p[-1, 1]])
    rounded = [[c[0], *[round(float(v), 2) for v in c[1:]]] for c in commands]
    return {"version": "4.4.0", "objects": [{"type": "path", "path": rounded}]}


def raster_to_mnist(ink: np.ndarray) -> np.ndarray:
    """A drawn digit as MNIST shows digits: ``ink`` (H, W) in [0, 1] (e.g. the canvas's
    alpha channel) -> (28, 28) in [0, 1]: the inked box scaled to fit 20 x 20 pixels,
    keeping its aspect ratio, and placed so that its centre of mass is at the centre.
    """
    ink = np.asarray(ink, dtype=np.float64)
    if ink.ndim != 2 or not np.all(np.isfinite(ink)):
        raise DrawingError("the digit image must be a finite 2-D array")
    rows, cols = np.flatnonzero(ink.max(axis=1) > 0.05), np.flatnonzero(ink.max(axis=0) > 0.05)
    if rows.size == 0:
        raise DrawingError("the drawing is empty: draw a digit first")
    box = ink[rows[0]: rows[-1] + 1, cols[0]: cols[-1] + 1]
    scale = 20.0 / max(box.shape)
    h, w = max(1, round(box.shape[0] * scale)), max(1, round(box.shape[1] * scale))
    small = np.asarray(Image.fromarray(box.astype(np.float32), mode="F")
                       .resize((w, h), Image.Resampling.BOX), dtype=np.float64)
    out = np.zeros((28, 28))
    total = small.sum()
    cy, cx = ((np.arange(h)[:, None] * small).sum() / total,
              (np.arange(w)[None, :] * small).sum() / total)
    top = int(np.clip(round(14 - cy), 0, 28 - h))
    left = int(np.clip(round(14 - cx), 0, 28 - w))
    out[top: top + h, left: left + w] = small
    return np.clip(out, 0.0, 1.0)


# --- a target in a link: the drawn view restorable from the URL ------------------------------

MAX_LINK_CHARS = 4_000  # a link's target is a few hundred characters; more is no target


def target_to_link(target: np.ndarray) -> str:
    """A target as a short URL-safe text: a pen sequence (T, 2) as int16 (1/2048 steps of
    the standardised units, clipped to +-16), a digit image (28, 28) in [0, 1] as uint8,
    zlib-compressed, base64url. ``target_from_link`` reads it back.

    >>> x = np.linspace(-1, 1, 200).reshape(100, 2).astype(np.float32)
    >>> back = target_from_link(target_to_link(x), (100, 2))
    >>> float(np.abs(back - x).max()) <= 1 / 4096
    True
    """
    import base64
    import zlib
    target = np.asarray(target, dtype=np.float64)
    if target.shape == (28, 28):
        raw = np.round(np.clip(target, 0.0, 1.0) * 255).astype(np.uint8).tobytes()
    else:
        raw = np.round(np.clip(target, -16, 16) * 2048).astype("<i2").tobytes()
    return base64.urlsafe_b64encode(zlib.compress(raw, 9)).decode().rstrip("=")


def target_from_link(text: str, shape: tuple) -> np.ndarray:
    """The target of ``target_to_link``'s text, of ``shape`` ((T, 2) or (28, 28)), as
    float32; a text that is not one (foreign, cut short, of another data set, too long)
    raises ``DrawingError`` saying so."""
    import base64
    import binascii
    import zlib
    image = tuple(shape) == (28, 28)
    size = int(np.prod(shape)) * (1 if image else 2)
    if not isinstance(text, str) or not text or len(text) > MAX_LINK_CHARS:
        raise DrawingError("the link holds no drawing")
    try:
        packed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        inflater = zlib.decompressobj()
        raw = inflater.decompress(packed, size + 1)  # never more than one target's bytes
    except (binascii.Error, ValueError, zlib.error) as exc:
        raise DrawingError("the link's drawing cannot be read (cut short or changed?)") from exc
    if len(raw) != size or not inflater.eof:
        raise DrawingError("the link's drawing belongs to another data set or was changed")
    if image:
        return (np.frombuffer(raw, np.uint8) / 255.0).reshape(shape).astype(np.float32)
    return (np.frombuffer(raw, "<i2") / 2048.0).reshape(shape).astype(np.float32)
