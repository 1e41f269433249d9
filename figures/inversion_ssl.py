"""Plotly figures of network inversion (issue 13): class probabilities, the input beside its
reconstruction (∂f/∂x)ᵀ f(x) (the paper's Figure 1), the per-class templates A[x]_c, and the
training curves of CE, R, E and validation accuracy. Arrays in, figures out; no Streamlit."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from figures.arena import LEADER, OTHER, TARGET, TRUE

__all__ = ["probabilities_figure", "reconstruction_figure", "templates_figure",
           "ssl_curves_figure"]

TEMPLATE_SCALE = "RdBu_r"  # templates: positive red, negative blue, zero white


def _is_image(x) -> bool:
    return np.shape(x) == (28, 28)


def _axes_equal(fig, n: int) -> None:
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False)
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False)
    for i in range(n):
        suffix = "" if i == 0 else str(i + 1)
        fig.layout[f"yaxis{suffix}"].scaleanchor = f"x{suffix}"


def probabilities_figure(probabilities, names, true_index: int | None = None,
                         height: int = 260) -> go.Figure:
    """The predicted class probabilities as bars; the winner orange, the true class blue."""
    probabilities = np.asarray(probabilities, dtype=float)
    winner = int(probabilities.argmax())
    colours = [LEADER if c == winner else TRUE if c == true_index else OTHER
               for c in range(len(names))]
    fig = go.Figure(go.Bar(x=list(names), y=probabilities, marker_color=colours,
                           hovertemplate="%{x}: %{y:.3f}<extra></extra>"))
    fig.update_layout(height=height, margin=dict(l=5, r=5, t=10, b=5), yaxis_range=[0, 1],
                      yaxis_title="probability", plot_bgcolor="white")
    return fig


def reconstruction_figure(target, reconstruction, titles=("input", "reconstruction"),
                          height: int = 260) -> go.Figure:
    """The input beside its reconstruction (∂f/∂x)ᵀ f(x): digits as images (each on its own
    grey scale: the reconstruction's scale is the network's), pen trajectories as paths."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=list(titles), horizontal_spacing=0.04)
    for col, value in enumerate((np.asarray(target), np.asarray(reconstruction)), start=1):
        if _is_image(value):
            fig.add_trace(go.Heatmap(z=value[::-1], colorscale="gray_r", showscale=False,
                                     hovertemplate="%{z:.3f}<extra></extra>"), row=1, col=col)
        else:
            if col == 2:  # the input, faint, under the reconstruction
                fig.add_trace(go.Scatter(x=target[:, 0], y=target[:, 1], mode="lines",
                                         line=dict(color=TARGET, width=5), hoverinfo="skip"),
                              row=1, col=col)
            fig.add_trace(go.Scatter(x=value[:, 0], y=value[:, 1], mode="lines+markers",
                                     marker=dict(size=3), line=dict(
                                         color=TRUE if col == 1 else LEADER, width=3),
                                     hoverinfo="skip"), row=1, col=col)
    _axes_equal(fig, 2)
    fig.update_layout(height=height, showlegend=False, margin=dict(l=5, r=5, t=30, b=5),
                      plot_bgcolor="white")
    return fig


def templates_figure(templates, names, probabilities=None, columns: int = 10,
                     height_per_row: int = 120) -> go.Figure:
    """The templates A[x]_c, one small multiple per class: digits as images on one shared
    red/blue scale (the logit of class c is their inner product with the input, plus a
    bias); pen trajectories as the path the template draws (each scaled to its own size)."""
    templates = np.asarray(templates)
    C = len(templates)
    rows = int(np.ceil(C / columns))
    titles = [names[c] if probabilities is None else f"{names[c]} {probabilities[c]:.2f}"
              for c in range(C)]
    fig = make_subplots(rows=rows, cols=columns, subplot_titles=titles,
                        horizontal_spacing=0.01, vertical_spacing=0.12 / max(rows, 1))
    winner = None if probabilities is None else int(np.argmax(probabilities))
    bound = float(np.abs(templates).max()) or 1.0
    for c in range(C):
        row, col = c // columns + 1, c % columns + 1
        if _is_image(templates[c]):
            fig.add_trace(go.Heatmap(z=templates[c][::-1], colorscale=TEMPLATE_SCALE,
                                     zmin=-bound, zmax=bound, showscale=False,
                                     hovertemplate=f"{names[c]}: %{{z:.3f}}<extra></extra>"),
                          row=row, col=col)
        else:
            path = templates[c] - templates[c].mean(axis=0)
            fig.add_trace(go.Scatter(x=path[:, 0], y=path[:, 1], mode="lines",
                                     line=dict(color=LEADER if c == winner else TRUE, width=2),
                                     hoverinfo="skip"), row=row, col=col)
    _axes_equal(fig, C)
    fig.update_annotations(font_size=11)
    fig.update_layout(height=height_per_row * rows + 30, showlegend=False,
                      margin=dict(l=5, r=5, t=25, b=5), plot_bgcolor="white")
    return fig


def ssl_curves_figure(curves: dict, height: int = 280) -> go.Figure:
    """Training curves of one or more runs: ``curves`` {run name: (k, 6) array with the
    columns of ``CURVE_COLUMNS``}; panels CE, R, E and validation accuracy."""
    panels = ("cross entropy (labelled)", "reconstruction R", "entropy E (unlabelled)",
              "validation accuracy")
    fig = make_subplots(rows=1, cols=4, subplot_titles=panels, horizontal_spacing=0.06)
    colours = [LEADER, TRUE, "#3bb273", "#7768ae"]
    for i, (name, curve) in enumerate(curves.items()):
        curve = np.asarray(curve, dtype=float).reshape(-1, 6)
        for p, column in enumerate((2, 3, 4, 5)):
            values = curve[:, column]
            if np.all(np.isnan(values)):
                continue
            fig.add_trace(go.Scatter(x=curve[:, 0], y=values, mode="lines+markers",
                                     marker=dict(size=4), name=name, legendgroup=name,
                                     showlegend=p == 0,
                                     line=dict(color=colours[i % len(colours)])),
                          row=1, col=p + 1)
    fig.update_xaxes(title_text="step", title_standoff=2)
    fig.update_yaxes(range=[0, 1.02], row=1, col=4)
    fig.update_layout(height=height, margin=dict(l=5, r=5, t=30, b=5),
                      legend=dict(orientation="h", y=-0.25), plot_bgcolor="white")
    return fig
