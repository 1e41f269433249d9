"""Plotly figures of MIC Studio: records and experts in, figures out (no Streamlit here).

The arena figure holds every linked view of one inversion — the race, the live error heat
map, every expert's reconstruction, the selected expert's reconstruction and mixture
weights — with one animation frame per iteration, so playback runs in the browser.
"""
from __future__ import annotations

import base64
import io

import numpy as np
import plotly.graph_objects as go
from PIL import Image
from plotly.colors import sample_colorscale
from plotly.subplots import make_subplots

from mic_core import InversionRecord

__all__ = ["arena_figure", "shapes_figure", "training_curve_figure", "matrix_figure",
           "iterations_figure"]

LEADER, TRUE, OTHER, SELECTED = "#e4572e", "#2e86ab", "#b8c4cc", "#f3a712"
TARGET = "rgba(40, 40, 40, 0.35)"
HEAT = "Viridis_r"  # low error = bright
FRAME_MS = 150  # playback: about 6.7 frames per second


def _is_image(record: InversionRecord) -> bool:
    return record.targets.shape[1:] == (28, 28)


def _grid(n_experts: int):
    """(columns, rows) of the small multiples."""
    cols = 10 if n_experts > 10 else n_experts
    return cols, int(np.ceil(n_experts / cols))


def _race(errors, names, true_index):
    """Bars at numeric ranks (the leader on top), so that frames can move them smoothly."""
    rank = np.empty(len(errors), dtype=int)
    rank[np.argsort(errors)] = np.arange(len(errors))
    leader = int(np.argmin(errors))
    colors = [LEADER if i == leader else TRUE if i == true_index else OTHER
              for i in range(len(errors))]
    labels = [f"{n} ✓" if i == true_index else n for i, n in enumerate(names)]
    return dict(x=errors, y=-rank, text=labels, marker=dict(color=colors),
                customdata=np.arange(len(errors)).reshape(-1, 1))


def _curtain(current: int, n_iterations: int, n_experts: int) -> dict:
    """A white veil over the heat map's iterations after ``current``."""
    left, right, top = current + 0.5, n_iterations - 0.5, n_experts - 0.5
    return dict(x=[left, right, right, left, left], y=[-0.5, -0.5, top, top, -0.5])


def _heat_image(values: np.ndarray, lo: float, hi: float) -> str:
    """(rows, cols) values -> a PNG data URI in the heat map's colours, row 0 at the bottom."""
    scaled = (values - lo) / max(hi - lo, 1e-12)
    palette = np.array([[int(c) for c in color[4:-1].split(",")] for color in
                        sample_colorscale(HEAT, np.linspace(0, 1, 256), colortype="rgb")])
    pixels = palette[np.round(scaled * 255).astype(int)][::-1].astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _shape_trace(sequence, image: bool, line=None, customdata=None, **common):
    """A pen trajectory (T, 2) as a line, or a digit (28, 28) as an image (no line style)."""
    if image:
        return go.Heatmap(z=sequence[::-1], colorscale="gray_r", showscale=False, zmin=0, zmax=1,
                          **common)
    return go.Scatter(x=sequence[:, 0], y=sequence[:, 1], mode="lines", line=line,
                      customdata=customdata, **common)


def arena_figure(record: InversionRecord, n: int = 0, selected: int | None = None,
                 true_index: int | None = None, iteration: int | None = None,
                 winner: int | None = None) -> go.Figure:
    """Every linked view of target ``n``'s inversion, animated over its iterations.

    ``winner``: the decided winner (``classify.Classification.winners``); ``selected``: the
    expert shown large (the winner by default); ``iteration``: the frame shown first (the last
    by default).
    """
    names = list(record.class_names)
    E, I = record.errors.shape[1], record.errors.shape[2]
    errors, weights, recon = record.errors[n], record.mixture_weights[n], record.reconstructions[n]
    target = record.targets[n]
    image = _is_image(record)
    if winner is None:
        raise ValueError("arena_figure needs the decided winner (Classification.winners)")
    selected = winner if selected is None else selected
    current = I - 1 if iteration is None else int(np.clip(iteration, 0, I - 1))
    cols, rows = _grid(E)

    specs = [[{"rowspan": 2, "colspan": 3}, None, None, {"rowspan": 2, "colspan": 4}, None, None,
              None, {"colspan": cols - 7}] + [None] * (cols - 8),
             [None] * 7 + [{"colspan": cols - 7}] + [None] * (cols - 8)]
    specs += [[{} for _ in range(cols)] for _ in range(rows)]
    titles = ["the race: error of every expert", "error heat map (experts × iterations)",
              f"selected: {names[selected]}", "its mixture weights"] + names
    fig = make_subplots(rows=2 + rows, cols=cols, specs=specs, subplot_titles=titles,
                        row_heights=[0.3, 0.3] + [0.4 / rows] * rows,
                        vertical_spacing=0.07, horizontal_spacing=0.02)

    # the race, the heat map, the selected expert: traces 0..3 change per frame
    fig.add_trace(go.Bar(orientation="h", name="error", textposition="outside",
                         cliponaxis=False, hovertemplate="%{text}: %{x:.4f}<extra></extra>",
                         **_race(errors[:, current], names, true_index)), row=1, col=1)
    # the heat map is an image under the axes (a heat-map or bar trace vanishes when frames
    # move other traces in place), veiled after the current iteration by a moving curtain
    log_errors = np.log10(np.maximum(errors, 1e-6))
    lo, hi = float(log_errors.min()), float(log_errors.max())
    fig.add_trace(go.Scatter(mode="lines", fill="toself", fillcolor="rgba(255,255,255,0.9)",
                             line=dict(color=LEADER, width=1.5), hoverinfo="skip",
                             **_curtain(current, I, E)), row=1, col=4)
    fig.add_layout_image(source=_heat_image(log_errors, lo, hi), x=-0.5, y=E - 0.5, sizex=I,
                         sizey=E, xanchor="left", yanchor="top", sizing="stretch",
                         layer="below", row=1, col=4)
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", hoverinfo="skip",
                             marker=dict(color=[lo, hi], cmin=lo, cmax=hi, colorscale=HEAT,
                                         showscale=True, colorbar=dict(len=0.3, y=0.85,
                                                                       title="log₁₀ error"))),
                  row=1, col=4)
    fig.add_trace(_shape_trace(recon[selected, current], image, name="reconstruction",
                               line=dict(color=SELECTED, width=3)), row=1, col=8)
    fig.add_trace(go.Bar(x=[f"type {k + 1}" for k in range(weights.shape[2])],
                         y=weights[selected, current], marker_color=SELECTED, name="mixture weights",
                         hovertemplate="%{x}: %{y:.3f}<extra></extra>"), row=2, col=8)
    # every expert's reconstruction: traces 4..4+E-1
    for e in range(E):
        color = LEADER if e == winner else TRUE if e == true_index else "#555"
        fig.add_trace(_shape_trace(recon[e, current], image, name=names[e],
                                   customdata=np.full(len(recon[e, current]), e),
                                   line=dict(color=color, width=2),
                                   hovertemplate=f"{names[e]}<extra></extra>"),
                      row=3 + e // cols, col=1 + e % cols)
    # the target behind the reconstructions (static)
    if not image:
        fig.add_trace(go.Scatter(x=target[:, 0], y=target[:, 1], mode="lines", name="target",
                                 line=dict(color=TARGET, width=6)), row=1, col=8)
        for e in range(E):
            fig.add_trace(go.Scatter(x=target[:, 0], y=target[:, 1], mode="lines",
                                     line=dict(color=TARGET, width=4), showlegend=False,
                                     hoverinfo="skip"), row=3 + e // cols, col=1 + e % cols)

    fig.data = (fig.data[0], fig.data[2], fig.data[1]) + fig.data[3:]  # curtain over the map
    changing = [0, 2, 3, 4] + list(range(5, 5 + E))
    frames = []
    for i in range(I):
        data = [go.Bar(**_race(errors[:, i], names, true_index)),
                go.Scatter(**_curtain(i, I, E)),
                _shape_trace(recon[selected, i], image), go.Bar(y=weights[selected, i])]
        data += [_shape_trace(recon[e, i], image) for e in range(E)]
        frames.append(go.Frame(data=data, traces=changing, name=str(i)))
    fig.frames = frames
    redraw = image  # heat-map traces need a full redraw; lines and bars can move in place

    steps = [dict(method="animate", label=str(i),
                  args=[[str(i)], dict(mode="immediate", frame=dict(duration=0, redraw=redraw),
                                       transition=dict(duration=0))]) for i in range(I)]
    fig.update_layout(
        height=820, showlegend=False, margin=dict(l=10, r=10, t=40, b=10),
        bargap=0.15, plot_bgcolor="white",
        updatemenus=[dict(type="buttons", direction="left", x=0.0, y=-0.02, xanchor="left",
                          yanchor="top", showactive=False, buttons=[
                              dict(label="▶ play", method="animate",
                                   args=[None, dict(frame=dict(duration=FRAME_MS, redraw=redraw),
                                                    transition=dict(duration=0),
                                                    fromcurrent=True, mode="immediate")]),
                              dict(label="❚❚ pause", method="animate",
                                   args=[[None], dict(frame=dict(duration=0, redraw=False),
                                                      mode="immediate")])])],
        sliders=[dict(active=current, steps=steps, x=0.12, y=-0.02, len=0.88, yanchor="top",
                      currentvalue=dict(prefix="iteration "), pad=dict(t=0))],
    )
    fig.update_yaxes(showticklabels=False, row=3, scaleanchor=None)
    for r in range(3, 3 + rows):
        fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, row=r)
        fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False, row=r)
    fig.update_xaxes(showticklabels=False, row=1, col=8)
    fig.update_yaxes(showticklabels=False, row=1, col=8)
    fig.update_yaxes(range=[0, 1], row=2, col=8)
    fig.update_xaxes(title_text="iteration", title_standoff=2, range=[-0.5, I - 0.5],
                     row=1, col=4)
    fig.update_yaxes(tickvals=np.arange(E), ticktext=names, range=[-0.5, E - 0.5], showgrid=False,
                     row=1, col=4)
    fig.update_yaxes(showticklabels=False, range=[-E + 0.4, 0.6], row=1, col=1)
    fig.update_xaxes(range=[0, float(errors.max()) * 1.15], row=1, col=1)
    return fig


def shapes_figure(sequences, titles, height: int = 220, target=None) -> go.Figure:
    """Small multiples of pen trajectories (T, 2) or digit images (28, 28); ``target``: one
    pen trajectory drawn faintly under every subplot, or a list of them, one per subplot."""
    sequences = list(sequences)
    targets = (target if isinstance(target, (list, tuple)) or
               (target is not None and np.ndim(target) == 3) else [target] * len(sequences))
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
    fig.update_layout(height=height, showlegend=False, margin=dict(l=5, r=5, t=30, b=5),
                      plot_bgcolor="white")
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
    fig.update_yaxes(autorange="reversed", title=row_title, type="category")
    fig.update_xaxes(title=column_title, type="category", side="top")
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
