"""Plotly figures of MIC Studio: records and experts in, figures out (no Streamlit here).

The arena (``arena_spec``) holds every linked view of one classification — the race, the
live error heat map, every expert's reconstruction, the selected expert's reconstruction and
mixture weights — as compact data for the arena player (``arena_player.html``), which draws
each position with plotly.js in the browser: one playback clock, no frames built here.
"""
from __future__ import annotations

import base64
import html
import io
from functools import lru_cache
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from mic_core import InversionRecord

__all__ = ["true_shape", "shapes_svg", "types_card_figure", "arena_spec", "arena_layout", "arena_html", "colour_key", "shapes_figure", "training_curve_figure", "matrix_figure",
           "iterations_figure"]

LEADER, TRUE, OTHER, SELECTED = "#e4572e", "#2e86ab", "#b8c4cc", "#f3a712"
TARGET = "rgba(40, 40, 40, 0.35)"
HEAT = "Viridis_r"  # low error = bright (plotly.js: "Viridis" with reversescale)
FRAME_MS = 150  # plotly animations of other systems' figures: about 6.7 frames per second


def _is_image(record: InversionRecord) -> bool:
    return record.targets.shape[1:] == (28, 28)


def _grid(n_experts: int):
    """(columns, rows) of the small multiples: at most three rows."""
    cols = int(np.ceil(n_experts / 3)) if n_experts > 10 else int(np.ceil(n_experts / 2))
    return cols, int(np.ceil(n_experts / cols))


def _shape_trace(sequence, image: bool, line=None, customdata=None, **common):
    """A pen trajectory (T, 2) as a line, or a digit (28, 28) as an image (no line style)."""
    if image:
        return go.Heatmap(z=sequence[::-1], colorscale="gray_r", showscale=False, zmin=0, zmax=1,
                          **common)
    return go.Scatter(x=sequence[:, 0], y=sequence[:, 1], mode="lines", line=line,
                      customdata=customdata, **common)


def true_shape(sequence, scale=None):
    """A standardised pen trajectory (T, 2) with its true proportions back: x and y times
    ``scale`` (the data set's per-axis standard deviations; the experts see each axis
    standardised on its own, so drawn as is on equal axes a letter looks too narrow or too
    wide). Images and ``scale=None`` are returned as they are."""
    if sequence is None or scale is None:
        return sequence
    sequence = np.asarray(sequence)
    if sequence.shape[-2:] == (28, 28) or sequence.shape[-1] != len(scale):
        return sequence
    return sequence * np.asarray(scale, dtype=np.float64)


def shapes_figure(sequences, titles, height: int = 220, target=None,
                  scale=None) -> go.Figure:
    """Small multiples of pen trajectories (T, 2) or digit images (28, 28); ``target``: one
    pen trajectory drawn faintly under every subplot, or a list of them, one per subplot;
    ``scale``: the per-axis standard deviations that give the letters their true
    proportions (``true_shape``)."""
    sequences = [true_shape(s, scale) for s in sequences]
    targets = (target if isinstance(target, (list, tuple)) or
               (target is not None and np.ndim(target) == 3) else [target] * len(sequences))
    targets = [true_shape(t, scale) for t in targets]
    fig = make_subplots(rows=1, cols=len(sequences), subplot_titles=titles,
                        horizontal_spacing=0.03)
    for i, s in enumerate(sequences):
        image = np.asarray(s).shape == (28, 28)
        under = targets[i]
        if under is not None and not image:
            fig.add_trace(go.Scatter(x=under[:, 0], y=under[:, 1], mode="lines",
                                     line=dict(color=TARGET, width=5)), row=1, col=i + 1)
        fig.add_trace(_shape_trace(np.asarray(s), image, line=dict(color=TRUE, width=3)),
                      row=1, col=i + 1)
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False)
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False)
    for i in range(len(sequences)):  # letters keep their proportions
        suffix = "" if i == 0 else str(i + 1)
        fig.layout[f"yaxis{suffix}"].scaleanchor = f"x{suffix}"
        fig.layout[f"yaxis{suffix}"].constrain = "domain"
        fig.layout[f"xaxis{suffix}"].constrain = "domain"
    fig.update_layout(height=height, showlegend=False, margin=dict(l=5, r=5, t=30, b=5),
                      plot_bgcolor="white")
    return fig


def shapes_svg(sequences, titles, height: int = 130, width: int = 560, scale=None) -> str:
    """Small multiples of pen trajectories (T, 2) or digit images (28, 28), side by side, as
    one SVG (``width`` x ``height``; a page shows it as an image, ``st.image``): the static
    view of ``shapes_figure`` where a page shows it on every verdict. A plotly chart there made
    every visitor's browser load Streamlit's plotly bundle (4.6 MB) at its first verdict and
    redraw the chart at each one (issue 16: a class's browsers share the server's cores).
    Each trajectory keeps its proportions (``scale``: ``true_shape``), y up; ``titles`` are
    escaped (a taught class may have any name)."""
    n = len(sequences)
    title_h, pad = 20.0, 6.0
    panel = width / max(n, 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" role="img" '
             f'aria-label="{html.escape("; ".join(titles))}">']
    for i, (sequence, title) in enumerate(zip(sequences, titles)):
        x0, y0 = i * panel + pad, title_h + pad
        w, h = panel - 2 * pad, height - title_h - 2 * pad
        parts.append(f'<text x="{i * panel + panel / 2:.1f}" y="14" text-anchor="middle" '
                     f'font-family="sans-serif" font-size="12" fill="#262730">'
                     f'{html.escape(str(title))}</text>')
        sequence = np.asarray(true_shape(sequence, scale), dtype=np.float64)
        if sequence.shape == (28, 28):  # a digit: a grey-scale PNG, ink dark on white
            side = min(w, h)
            parts.append(f'<image x="{x0 + (w - side) / 2:.1f}" y="{y0 + (h - side) / 2:.1f}" '
                         f'width="{side:.1f}" height="{side:.1f}" '
                         f'style="image-rendering:pixelated" href="{_digit_png(sequence)}"/>')
            continue
        lo, hi = sequence.min(axis=0), sequence.max(axis=0)
        unit = min(w / max(hi[0] - lo[0], 1e-9), h / max(hi[1] - lo[1], 1e-9))
        cx, cy = x0 + w / 2, y0 + h / 2  # centred in its panel, one unit for x and y
        mid = (lo + hi) / 2
        points = " ".join(f"{cx + (x - mid[0]) * unit:.1f},{cy - (y - mid[1]) * unit:.1f}"
                          for x, y in sequence)
        parts.append(f'<polyline points="{points}" fill="none" stroke="{TRUE}" '
                     f'stroke-width="2.5" stroke-linejoin="round" stroke-linecap="round"/>')
    parts.append("</svg>")
    return "".join(parts)


def _digit_png(image: np.ndarray) -> str:
    """A digit (28, 28) in [0, 1] as a data URL of a grey-scale PNG (dark ink on white)."""
    from PIL import Image
    pixels = np.round((1 - np.clip(image, 0, 1)) * 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels, mode="L").save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def types_card_figure(types: np.ndarray, names, classes_per_row: int = 5,
                      height: int | None = None, scale=None) -> go.Figure:
    """A reference card: how the data set writes each class, as the experts' types
    ``types`` (E, K, T, 2) pen trajectories or (E, K, 28, 28) images, K per class side by
    side, ``classes_per_row`` classes per row, on one square-scaled axis (fast to draw);
    ``scale``: true proportions (``true_shape``)."""
    types = np.asarray(true_shape(np.asarray(types, dtype=np.float64), scale))
    E, K = types.shape[:2]
    image = types.shape[2:] == (28, 28)
    rows = int(np.ceil(E / classes_per_row))
    width = K + 0.6  # a class: its K types and a gap
    fig = go.Figure()
    annotations = []
    if image:
        cell = _DIGIT_CELL
        z = np.full((rows * (cell + 10), classes_per_row * (K * cell + 12)), np.nan)
        for e in range(E):
            r0, c0 = (e // classes_per_row) * (cell + 10) + 10, \
                (e % classes_per_row) * (K * cell + 12)
            for k in range(K):
                z[r0: r0 + 28, c0 + k * cell: c0 + k * cell + 28] = types[e, k]
            annotations.append(dict(x=c0, y=r0 - 1, text=f"<b>{names[e]}</b>",
                                    showarrow=False, xanchor="left", yanchor="bottom"))
        fig.add_trace(go.Heatmap(z=z, colorscale="gray_r", zmin=0, zmax=1, showscale=False,
                                 hoverinfo="skip"))
        fig.update_yaxes(autorange="reversed")
    else:
        scale = 0.45 / max(np.abs(types).max(), 1e-9)
        xs, ys, starts_x, starts_y = [], [], [], []
        for e in range(E):
            col, row = e % classes_per_row, e // classes_per_row
            for k in range(K):
                x0, y0 = col * width + k + 0.5, -row * 1.35 - 0.6
                xs += list(types[e, k, :, 0] * scale + x0) + [None]
                ys += list(types[e, k, :, 1] * scale + y0) + [None]
                starts_x.append(types[e, k, 0, 0] * scale + x0)
                starts_y.append(types[e, k, 0, 1] * scale + y0)
            annotations.append(dict(x=col * width + 0.05, y=-row * 1.35 - 0.02,
                                    text=f"<b>{names[e]}</b>", showarrow=False,
                                    xanchor="left", yanchor="bottom"))
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", hoverinfo="skip",
                                 line=dict(color=TRUE, width=2)))
        # where the pen starts: the experts learnt each letter in its writers' direction
        fig.add_trace(go.Scatter(x=starts_x, y=starts_y, mode="markers", hoverinfo="skip",
                                 marker=dict(color=LEADER, size=6), name="start"))
    fig.update_xaxes(visible=False, constrain="domain")
    fig.update_yaxes(visible=False, scaleanchor="x", scaleratio=1, constrain="domain")
    fig.update_layout(height=height or 90 * rows + 20, showlegend=False, annotations=annotations,
                      margin=dict(l=4, r=4, t=4, b=4), plot_bgcolor="white", dragmode=False)
    return fig


def training_curve_figure(curve: np.ndarray, names, every: int = 50) -> go.Figure:
    """Training loss of every expert (curve: (n_records, E))."""
    steps = np.arange(1, len(curve) + 1) * every
    fig = go.Figure([go.Scatter(x=steps, y=curve[:, e], mode="lines", name=name)
                     for e, name in enumerate(names)])
    fig.update_layout(height=300, yaxis_type="log", xaxis_title="training step",
                      yaxis_title="loss (MSE)", margin=dict(l=10, r=10, t=10, b=10))
    return fig


def matrix_figure(matrix: np.ndarray, rows, columns, row_title: str, column_title: str,
                  colorscale: str = HEAT, text_format: str = ".2f", log_color: bool = False,
                  mark_column_minimum: bool = False, height: int = 520) -> go.Figure:
    """A labelled heat map (loss heat map, confusion matrix); numbers in the cells up to 10
    rows (hover shows them always); ``log_color`` colours by log10 of the value; optionally
    a ring on each column's lowest cell, so that a reader sees where the diagonal loses."""
    matrix = np.asarray(matrix, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        color = np.log10(matrix) if log_color else matrix
    fig = go.Figure(go.Heatmap(
        z=color, x=list(columns), y=list(rows), customdata=matrix, colorscale=colorscale,
        colorbar=dict(title="log₁₀" if log_color else None),
        texttemplate=f"%{{customdata:{text_format}}}" if len(rows) <= 10 else None,
        hovertemplate=f"{row_title} %{{y}}<br>{column_title} %{{x}}"
                      f"<br>%{{customdata:{text_format}}}<extra></extra>"))
    if mark_column_minimum:
        seen = np.flatnonzero(~np.all(np.isnan(matrix), axis=0))
        lowest = np.nanargmin(matrix[:, seen], axis=0)
        own = lowest == seen
        fig.add_trace(go.Scatter(
            x=[columns[j] for j in seen], y=[rows[i] for i in lowest], mode="markers",
            hoverinfo="skip",
            marker=dict(symbol="circle-open", size=22, line=dict(width=3),
                        color=[TRUE if o else LEADER for o in own])))
    # dtick 1: every class named (plotly skips every second label of 20 by default)
    fig.update_yaxes(autorange="reversed", title=row_title, type="category", dtick=1)
    fig.update_xaxes(title=column_title, type="category", side="top", dtick=1)
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=40, b=10), showlegend=False,
                      plot_bgcolor="white")
    return fig


def iterations_figure(frame) -> go.Figure:
    """Accuracy after 0 and after 50 inversion steps, per setting (frame from
    ``reports.iterations_table``, base noise)."""
    labels = [f"{d}, {s}" for d, s in zip(frame["dataset"], frame["selection"])]
    fig = go.Figure([
        go.Bar(name="0 steps (uniform vector)", x=labels, y=frame["accuracy_0"],
               marker_color=OTHER),
        go.Bar(name="50 steps (inversion)", x=labels, y=frame["accuracy_50"],
               marker_color=TRUE),
        go.Scatter(name="paper, 0 steps", x=labels, y=frame["paper_accuracy_0"],
                   mode="markers", marker=dict(symbol="line-ew-open", size=30, color="#555")),
        go.Scatter(name="paper, 50 steps", x=labels, y=frame["paper_accuracy_50"],
                   mode="markers", marker=dict(symbol="line-ew-open", size=30, color=LEADER)),
    ])
    fig.update_layout(barmode="group", height=330, yaxis=dict(title="accuracy", range=[0, 1]),
                      margin=dict(l=10, r=10, t=10, b=10), legend=dict(orientation="h"))
    return fig


# --- the arena player: compact data for one playback clock in the browser -------------------

PLAYER_HTML = Path(__file__).resolve().parent / "arena_player.html"
STYLE = {"leader": LEADER, "true": TRUE, "other": OTHER, "selected": SELECTED,
         "target": "rgba(40, 40, 40, 0.30)", "heat": "Viridis"}  # reversed in the player
NORMAL_HEIGHT, PRESENTATION_HEIGHT = 500, 500
NORMAL_FONT, PRESENTATION_FONT = 12, 18  # figure text in px (presentation: >= 16)
GRID_COLUMNS = 10
_DIGIT_CELL = 29  # a digit image (28 px) and one pixel of gap in the small multiples


def _quantise(values: np.ndarray, image: bool) -> dict:
    """Float arrays -> base64 integers (uint8 for digit images in [0, 1], int16 otherwise)
    with the scale and offset that restore them: a fifth of the size of JSON numbers."""
    values = np.asarray(values, dtype=np.float64)
    if image:
        q = np.round(np.clip(values, 0.0, 1.0) * 255).astype(np.uint8)
        scale, offset, dtype = 1 / 255, 0.0, "uint8"
    else:
        lo, hi = float(values.min()), float(values.max())
        offset, scale = (hi + lo) / 2, max(hi - lo, 1e-9) / 65000
        q = np.round((values - offset) / scale).astype("<i2")
        dtype = "int16"
    return {"b64": base64.b64encode(q.tobytes()).decode(), "scale": scale, "offset": offset,
            "dtype": dtype, "shape": list(values.shape)}


def _panel_title(x: float, y: float, size: int, text: str = "") -> dict:
    return dict(text=text, x=x, y=y, xref="paper", yref="paper", xanchor="left",
                yanchor="bottom", showarrow=False, font=dict(size=size))


def colour_key(presentation: bool = False, image: bool = False) -> str:
    """The figure's colour key (an annotation inside the figure)."""
    def swatch(color, mark="■"):
        return f"<span style='color:{color}'>{mark}</span>"
    drawing = "" if image else f"   {swatch('rgba(40,40,40,0.55)', '━')} the drawing"
    return (f"{swatch(LEADER)} leader; at the end, the winner   {swatch(TRUE)} true class   "
            f"{swatch(SELECTED, '□')} selected expert{drawing}")


def start_corners(n_types: int) -> np.ndarray:
    """(K, 2) where the restarts view puts each type's corner of the simplex: a regular
    polygon (a square for four types: type 1 top left, then clockwise), so that mixture
    weights w map to the point ``w @ start_corners(K)`` (the uniform vector: the centre).

    >>> start_corners(4).round(3).tolist()
    [[-0.707, 0.707], [0.707, 0.707], [0.707, -0.707], [-0.707, -0.707]]
    """
    angles = 3 * np.pi / 4 - 2 * np.pi * np.arange(n_types) / n_types
    return np.stack([np.cos(angles), np.sin(angles)], axis=1)


@lru_cache(maxsize=32)
def arena_layout(names: tuple, n_iterations: int, image: bool, presentation: bool,
                 n_types: int = 4, n_starts: int = 1) -> dict:
    """The player's plotly layout for E experts (cached: it depends on the shape only).

    Axes: x/y the race, x2/y2 the error heat map, x3/y3 the selected expert (square: pen
    paths keep their proportions, digit images their square pixels), x4/y4 its mixture
    weights, x5/y5 every expert's reconstruction. With several starts (``n_starts`` > 1)
    x4/y4 shows the selected expert's starts' paths over the mixture weights (the simplex,
    ``start_corners``) and x6/y6 each start's error by iteration. Presentation mode keeps
    the race and the selected expert, with figure text of ``PRESENTATION_FONT`` px.
    """
    E, I = len(names), n_iterations
    font = PRESENTATION_FONT if presentation else NORMAL_FONT
    hidden = dict(showticklabels=False, showgrid=False, zeroline=False, fixedrange=True)
    square = dict(hidden, scaleanchor=None, constrain="domain")
    layout = dict(
        height=PRESENTATION_HEIGHT if presentation else NORMAL_HEIGHT,
        margin=dict(l=8, r=8, t=30, b=22), showlegend=False, plot_bgcolor="white",
        paper_bgcolor="white", font=dict(size=font), bargap=0.18, dragmode=False,
        hoverlabel=dict(font=dict(size=font)), uirevision="arena",
        xaxis=dict(domain=[0, 0.44] if presentation else [0, 0.27], showticklabels=False,
                   showgrid=True, gridcolor="#eef1f4", zeroline=False, fixedrange=True,
                   type="log"),
        yaxis=dict(domain=[0, 0.92], range=[-E + 0.4, 0.6], **hidden),
        xaxis3=dict(square, domain=[0.54, 1] if presentation else [0.32, 0.6]),
        yaxis3=dict(square, domain=[0, 0.92] if presentation else [0.42, 0.92],
                    scaleanchor="x3", scaleratio=1),
        annotations=[_panel_title(0, 1.0, font, colour_key(presentation, image))],
    )
    top = 0.925
    titles = {"race": _panel_title(0, top, font),
              "selected": _panel_title(0.54 if presentation else 0.32, top, font)}
    if image:  # rows from the top: a reversed range (with autorange the image fell outside
        #   the axis until the figure was laid out again, at the decision)
        layout["xaxis3"]["range"], layout["yaxis3"]["range"] = [-0.5, 27.5], [27.5, -0.5]
    if not presentation:
        small = font - 1
        layout.update(
            xaxis2=dict(domain=[0.7, 1], range=[-0.5, I - 0.5], showgrid=False,
                        zeroline=False, fixedrange=True, tickfont=dict(size=small), nticks=6,
                        ticks="outside", ticklen=3),
            yaxis2=dict(domain=[0.5, 0.92], range=[-0.5, E - 0.5], tickvals=list(range(E)),
                        ticktext=list(names), showgrid=False, zeroline=False,
                        fixedrange=True, tickfont=dict(size=small if E <= 10 else 9)),
            xaxis4=dict(domain=[0.32, 0.6], fixedrange=True, tickfont=dict(size=small),
                        range=[-0.5, n_types - 0.5], tickvals=list(range(n_types)),
                        ticktext=[f"type {k + 1}" for k in range(n_types)], showgrid=False,
                        zeroline=False),
            yaxis4=dict(domain=[0, 0.26], range=[0, 1], fixedrange=True, nticks=3,
                        tickfont=dict(size=small)),
            xaxis5=dict(square, domain=[0.67, 1]),
            yaxis5=dict(square, domain=[0, 0.36], scaleanchor="x5", scaleratio=1),
        )
        cols, rows = _grid(E)
        if image:
            layout["xaxis5"]["range"] = [-0.5, cols * _DIGIT_CELL - 0.5]
            layout["yaxis5"]["range"] = [rows * _DIGIT_CELL - 0.5, -0.5]
            labels = [dict(x=(e % cols) * _DIGIT_CELL + 1, y=(e // cols) * _DIGIT_CELL + 1,
                           xref="x5", yref="y5", text=n, showarrow=False, xanchor="left",
                           yanchor="top", font=dict(size=small, color="#6b7280"))
                      for e, n in enumerate(names)]
        else:
            layout["xaxis5"]["range"] = [0, cols]
            layout["yaxis5"]["range"] = [-rows, 0]
            labels = [dict(x=e % cols + 0.06, y=-(e // cols) - 0.04, xref="x5", yref="y5",
                           text=n, showarrow=False, xanchor="left", yanchor="top",
                           font=dict(size=small, color="#6b7280"))
                      for e, n in enumerate(names)]
        layout["annotations"] += [
            _panel_title(0.67, top, font, "error heat map (bright: low)"),
            _panel_title(0.67, 0.37, font, "every expert (click one)")] + labels
        if n_starts > 1:
            _restarts_layout(layout, titles, n_iterations, n_types, small)
        else:
            layout["annotations"].append(_panel_title(0.32, 0.27, font, "its mixture weights"))
    for axis in [k for k in layout if k[1:5] == "axis"]:  # each x axis on its own y axis
        other = ("y" if axis[0] == "x" else "x") + axis[5:]
        layout[axis]["anchor"] = other
    return {"layout": layout, "titles": titles}


STARTS_HEIGHT = 800  # the player's height with the restarts view (shown on request)
STARTS_ROW = 0.34  # the restarts view's row: the figure's bottom third; the rest above it


def _restarts_layout(layout: dict, titles: dict, n_iterations: int, n_types: int,
                     small: int) -> None:
    """Several starts, shown on request, in a row of their own below the other panels (the
    player grows to ``STARTS_HEIGHT``, the other panels keep their size in pixels): the
    selected expert's starts' paths over the simplex of mixture weights (x4/y4, square, the
    types' corners and the uniform centre labelled) and every start's error by iteration
    (x6/y6, log scale, axes titled; its range is the record's, set by ``arena_spec``)."""
    hidden = dict(showticklabels=False, showgrid=False, zeroline=False, fixedrange=True)
    layout["height"] = STARTS_HEIGHT
    layout["yaxis3"] = dict(layout["yaxis3"], domain=[0.04, 0.92])  # the selected expert:
    #   the room of its mixture weights' bars too (they are the kept start's path's end)

    def above(y: float) -> float:  # the other panels' paper coordinates, moved up
        return STARTS_ROW + y * (1 - STARTS_ROW)
    for name in [k for k in layout if k.startswith("yaxis") and "domain" in layout[k]]:
        layout[name] = dict(layout[name], domain=[above(d) for d in layout[name]["domain"]])
    layout["annotations"] = [dict(a, y=above(a["y"])) if a.get("yref") == "paper" and
                             a["y"] < 1 else a for a in layout["annotations"]]
    for key, title in titles.items():
        titles[key] = dict(title, y=above(title["y"]))
    layout["xaxis4"] = dict(hidden, domain=[0.0, 0.3], range=[-1.45, 1.45],
                            constrain="domain")
    layout["yaxis4"] = dict(hidden, domain=[0.0, 0.27], range=[-1.45, 1.45],
                            scaleanchor="x4", scaleratio=1, constrain="domain")
    layout["xaxis6"] = dict(domain=[0.4, 1.0], range=[0, n_iterations - 1],
                            fixedrange=True, showgrid=False, zeroline=False, nticks=6,
                            tickfont=dict(size=small), ticks="outside", ticklen=3,
                            title=dict(text="iteration", font=dict(size=small), standoff=4))
    layout["yaxis6"] = dict(domain=[0.05, 0.27], type="log", fixedrange=True, nticks=4,
                            showgrid=True, gridcolor="#eef1f4", zeroline=False,
                            tickfont=dict(size=small), exponentformat="power",
                            title=dict(text="error (log)", font=dict(size=small), standoff=4))
    for k, (x, y) in enumerate(start_corners(n_types)):
        layout["annotations"].append(dict(
            x=x * 1.1, y=y * 1.1 + (0.12 if y > 0 else -0.12), xref="x4", yref="y4",
            text=f"type {k + 1}", showarrow=False, font=dict(size=small, color="#6b7280")))
    layout["annotations"].append(dict(x=0, y=-0.14, xref="x4", yref="y4", text="uniform",
                                      showarrow=False, yanchor="top",
                                      font=dict(size=small - 1, color="#6b7280")))
    titles["starts"] = _panel_title(0.0, 0.285, small + 1)


def _starts_spec(record: InversionRecord, n: int) -> dict:
    """Every start's path of target ``n`` for the restarts view: where its mixture weights
    lie on the simplex (``start_corners``), its errors, and which start each expert kept."""
    from mic_core.inversion import start_names
    errors = np.maximum(record.start_errors[n].astype(np.float64), 1e-6)  # (E, S, I): on
    #   the log axis, with the 6 decimals kept below
    weights = record.start_mixture_weights[n].astype(np.float64)  # (E, S, I, K)
    points = weights @ start_corners(weights.shape[-1])  # (E, S, I, 2)
    log_errors = np.log10(errors)
    names = start_names(errors.shape[1])
    return dict(S=errors.shape[1], names=names, kept=record.start_index[n].tolist(),
                xy=np.round(points, 4).tolist(), errors=np.round(errors, 6).tolist(),
                weights=np.round(weights[:, :, -1], 3).tolist(),
                corners=np.round(start_corners(weights.shape[-1]), 4).tolist(),
                lo=float(log_errors.min()), hi=float(log_errors.max()))


def _crop_words(crop) -> str:
    """Which part of an expert's reconstruction the free-ends decision compared, in plain
    words (``crop``: the (start, end) fractions of the pen path left out).

    >>> _crop_words((0.05, 0.0)), _crop_words((0.0, 0.1)), _crop_words((0.05, 0.25))
    ('compared without its first 5 %', 'compared without its last 10 %', \
'compared without its first 5 % and last 25 %')
    >>> _crop_words(None), _crop_words((0.0, 0.0))
    ('compared whole', 'compared whole')
    """
    if crop is None:
        return "compared whole"
    start, end = (int(round(100 * float(c))) for c in crop)
    parts = ([f"first {start} %"] if start else []) + ([f"last {end} %"] if end else [])
    return "compared without its " + " and ".join(parts) if parts else "compared whole"


# the race's title at the decision, by rule: plain words (the teacher test: "free ends" was
# jargon); free ends may leave out a letter's connecting strokes at either end
DECIDING_WORDS = {"free ends": "error, loose ends left out", "plain": "final error"}


def arena_spec(classification, n: int = 0, *, true_index: int | None = None,
               selected: int | None = None, start: int = 0, autoplay: bool = False,
               presentation: bool = False, fps: int = 8, loop: bool = False,
               token: str = "", scale=None, reveal: bool = False,
               starts_view: bool = True) -> dict:
    """Everything the arena player needs for target ``n`` of a classification record:
    the layout (``arena_layout``) and compact data (errors, mixture weights, quantised
    reconstructions, the deciding errors and, with free ends, the part of each final
    reconstruction that was compared; with several starts, outside presentation mode,
    ``starts``: every start's path, ``_starts_spec``). Positions 0..I-1 are the inversion's
    iterations; position I is the decision (the race ordered by the deciding errors).

    ``scale``: the data set's per-axis standard deviations, so that the drawing and the
    reconstructions keep their true proportions (``true_shape``). ``reveal``: the page
    names the winner only once the player reaches the decision (presentation mode: the
    class sees the race first), so the player reports reaching it, also while looping.
    ``starts_view``: with several starts, the restarts view and its data (``starts``, about a
    sixth of the spec) are included; without, the player shows the kept start's mixture
    weights, as with one start (Compete shows the view on request: it costs every frame).
    """
    record = classification.inversion
    names = tuple(classification.class_names)
    E, I = record.errors.shape[1], record.errors.shape[2]
    errors = record.errors[n].astype(np.float64)
    deciding = np.asarray(classification.deciding_errors[n], dtype=np.float64)
    image = _is_image(record)
    recon = true_shape(record.reconstructions[n], None if image else scale)
    winner = int(classification.winners[n])
    selected = winner if selected is None or not 0 <= selected < E else int(selected)
    several = (record.start_errors is not None and not presentation  # the restarts view
               and starts_view)
    cached = arena_layout(names, I, image, presentation, record.mixture_weights.shape[-1],
                          record.start_errors.shape[2] if several else 1)
    log_errors = np.log10(np.maximum(errors, 1e-6))
    crops = getattr(classification, "deciding_crops", None)
    free_ends = classification.rule.name == "free ends" and not image
    spec = dict(
        token=token, names=list(names), E=E, I=I, image=image,
        true_index=-1 if true_index is None else int(true_index), winner=winner,
        plain_winner=int(np.argmin(errors[:, -1])), rule=classification.rule.name,
        errors=np.round(errors, 6).tolist(), deciding=np.round(deciding, 6).tolist(),
        weights=np.round(record.mixture_weights[n], 3).tolist(),
        recon=_quantise(recon, image),
        heat=dict(z=np.round(log_errors, 3).tolist(), lo=float(log_errors.min()),
                  hi=float(log_errors.max()),
                  customdata=np.repeat(np.arange(E)[:, None], I, axis=1).tolist()),
        deciding_label=DECIDING_WORDS["free ends" if free_ends else "plain"],
        kept=None, crop_words=None, start=int(np.clip(start, 0, I)), autoplay=bool(autoplay),
        selected=selected, presentation=bool(presentation), fps=int(np.clip(fps, 1, 10)),
        loop=bool(loop), reveal=bool(reveal), layout=cached["layout"],
        panel_titles=cached["titles"],
        config=dict(displayModeBar=False, responsive=True, doubleClick=False),
        style=dict(STYLE, font=PRESENTATION_FONT if presentation else NORMAL_FONT),
        starts=_starts_spec(record, n) if several else None,
    )
    if several:  # every start's errors on one log range
        lo, hi = spec["starts"]["lo"], spec["starts"]["hi"]
        spec["layout"] = dict(spec["layout"], yaxis6=dict(
            spec["layout"]["yaxis6"], range=[lo - 0.15, hi + 0.15]))
    # the race: one log-scaled range for every position (bars keep their scale; room for text)
    both = np.concatenate([errors.ravel(), deciding])
    lo, hi = float(np.log10(max(both.min(), 1e-6))), float(np.log10(max(both.max(), 1e-6)))
    spec["layout"] = dict(spec["layout"], xaxis=dict(spec["layout"]["xaxis"],
                                                     range=[lo - 0.3, hi + (hi - lo) * 0.45 + 0.3]))
    cols, rows = _grid(E)
    if image:
        spec["grid"] = dict(cols=cols, rows=rows, boxes=[
            dict(x0=(e % cols) * _DIGIT_CELL - 0.5, x1=(e % cols) * _DIGIT_CELL + 27.5,
                 y0=(e // cols) * _DIGIT_CELL - 0.5, y1=(e // cols) * _DIGIT_CELL + 27.5)
            for e in range(E)])
        spec["target"] = None
        spec["layout"] = dict(spec["layout"], xaxis3=dict(spec["layout"]["xaxis3"],
                                                          range=[-0.5, 27.5]),
                              yaxis3=dict(spec["layout"]["yaxis3"], range=[27.5, -0.5]))
        return spec
    target = true_shape(record.targets[n].astype(np.float64), scale)
    spec["target"] = np.round(target, 4).tolist()
    if free_ends and crops is not None:
        kept = [true_shape(classification.deciding_reconstruction(n, e), scale)
                for e in range(E)]
        spec["kept"] = [np.round(np.asarray(k, np.float64), 4).tolist() for k in kept]
        spec["crop_words"] = [_crop_words(crops[n, e]) for e in range(E)]
    # the selected panel: one square range holding the drawing and every reconstruction
    reach = float(max(np.abs(recon).max(), np.abs(target).max())) * 1.05
    spec["layout"] = dict(spec["layout"], xaxis3=dict(spec["layout"]["xaxis3"],
                                                      range=[-reach, reach]),
                          yaxis3=dict(spec["layout"]["yaxis3"], range=[-reach, reach]))
    scale = 0.42 / reach
    cx = [e % cols + 0.5 for e in range(E)]
    cy = [-(e // cols) - 0.55 for e in range(E)]
    tx, ty = [], []
    for e in range(E):
        tx += list(np.round(target[:, 0] * scale + cx[e], 4)) + [None]
        ty += list(np.round(target[:, 1] * scale + cy[e], 4)) + [None]
    spec["grid"] = dict(cols=cols, rows=rows, scale=scale, cx=cx, cy=cy, target_x=tx,
                        target_y=ty, boxes=[dict(x0=e % cols + 0.03, x1=e % cols + 0.97,
                                                 y0=-(e // cols) - 0.97, y1=-(e // cols) - 0.03)
                                            for e in range(E)])
    return spec


def arena_html(spec: dict) -> str:
    """The player as one standalone HTML file (plotly.js and the data inlined): the export.
    Built only when someone downloads it."""
    import json

    import plotly
    plotly_js = (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_text()
    html = PLAYER_HTML.read_text()
    data = json.dumps(dict(spec, autoplay=False)).replace("</", "<\\/")
    return html.replace('<script src="plotly.min.js"></script>',
                        f"<script>{plotly_js}</script>\n<script>window.ARENA_SPEC = {data};"
                        f"</script>")
