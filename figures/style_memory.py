"""Plotly figures of the style memory: samples and their reconstructions as small multiples
(pen paths or digit images), the style interpolation as an animation, the reconstruction
errors of right and wrong decisions. No Streamlit here."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from figures.arena import TRUE, _shape_trace

__all__ = ["grid_figure", "interpolation_figure", "error_histogram_figure"]

INPUT, WRONG = "#444444", "#e4572e"


def _is_image(sequence) -> bool:
    return np.shape(sequence) == (28, 28)


def grid_figure(sequences, titles, cols: int = 10, colors=None, cell: int = 95) -> go.Figure:
    """Small multiples of pen trajectories (T, 2) or digit images (28, 28), ``cols`` per row;
    ``colors``: one line colour per pen trajectory (default blue)."""
    sequences = list(sequences)
    cols = max(1, min(cols, len(sequences)))
    rows = int(np.ceil(len(sequences) / cols))
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=list(titles),
                        horizontal_spacing=0.01, vertical_spacing=0.25 / max(rows, 1))
    for i, s in enumerate(sequences):
        color = TRUE if colors is None else colors[i]
        fig.add_trace(_shape_trace(np.asarray(s), _is_image(s), line=dict(color=color, width=2.5)),
                      row=i // cols + 1, col=i % cols + 1)
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False)
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False)
    for i in range(len(sequences)):  # letters and digits keep their proportions
        suffix = "" if i == 0 else str(i + 1)
        fig.layout[f"yaxis{suffix}"].scaleanchor = f"x{suffix}"
    fig.update_annotations(font_size=11)
    fig.update_layout(height=cell * rows + 30, showlegend=False, plot_bgcolor="white",
                      margin=dict(l=5, r=5, t=25, b=5))
    return fig


def interpolation_figure(drawings: np.ndarray, lambdas, frame_ms: int = 250) -> go.Figure:
    """The drawings along a style interpolation, one animation frame per λ, with a slider
    and a play button (playback runs in the browser)."""
    drawings, lambdas = np.asarray(drawings), list(np.round(lambdas, 3))
    image = _is_image(drawings[0])
    traces = [_shape_trace(d, image, line=dict(color=TRUE, width=4)) for d in drawings]
    fig = go.Figure(data=[traces[0]],
                    frames=[go.Frame(data=[t], name=str(lam)) for t, lam in zip(traces, lambdas)])
    if not image:  # fixed axes: the drawing moves, not the frame
        lo, hi = drawings.reshape(-1, 2).min(axis=0), drawings.reshape(-1, 2).max(axis=0)
        pad = 0.1 * (hi - lo)
        fig.update_xaxes(range=[lo[0] - pad[0], hi[0] + pad[0]])
        fig.update_yaxes(range=[lo[1] - pad[1], hi[1] + pad[1]])
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False)
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False, scaleanchor="x")
    step = dict(mode="immediate", frame=dict(duration=frame_ms, redraw=True),
                transition=dict(duration=0))
    fig.update_layout(
        height=420, plot_bgcolor="white", margin=dict(l=5, r=5, t=10, b=5),
        updatemenus=[dict(type="buttons", x=0, y=0, xanchor="left", yanchor="top",
                          direction="left", pad=dict(t=40),
                          buttons=[dict(label="▶ play", method="animate",
                                        args=[None, {**step, "fromcurrent": True}]),
                                   dict(label="❚❚ pause", method="animate",
                                        args=[[None], step])])],
        sliders=[dict(x=0.2, len=0.8, y=0, yanchor="top", pad=dict(t=30),
                      currentvalue=dict(prefix="λ = "),
                      steps=[dict(label=str(lam), method="animate",
                                  args=[[str(lam)], step]) for lam in lambdas])])
    return fig


def error_histogram_figure(errors: np.ndarray, wrong: np.ndarray, bins: int = 24) -> go.Figure:
    """Reconstruction errors of the correctly and the wrongly classified samples: each
    group's share of its samples per bin, the two bars of a bin side by side on the same
    bin edges (so neither hides the other)."""
    errors, wrong = np.asarray(errors, dtype=float), np.asarray(wrong, dtype=bool)
    edges = np.histogram_bin_edges(errors, bins=bins)
    size = float(edges[1] - edges[0]) if len(edges) > 1 and edges[-1] > edges[0] else 1.0
    fig = go.Figure()
    for mask, name, color in ((~wrong, "classified right", TRUE), (wrong, "misclassified",
                                                                  WRONG)):
        fig.add_trace(go.Histogram(
            x=errors[mask], name=f"{name} ({int(mask.sum())})", marker_color=color,
            histnorm="probability",
            xbins=dict(start=float(edges[0]), end=float(edges[-1]) + size / 2, size=size),
            hovertemplate="error %{x}<br>%{y:.0%} of " + name + "<extra></extra>"))
    fig.update_layout(barmode="group", bargap=0.15, bargroupgap=0.0, height=300,
                      xaxis_title="reconstruction error ‖x̂ − x‖",
                      yaxis_title="share of the group", yaxis_tickformat=".0%",
                      margin=dict(l=10, r=10, t=10, b=10), legend=dict(x=0.55, y=0.95),
                      plot_bgcolor="white")
    return fig
