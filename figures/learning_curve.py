"""Plotly figure of the learning curve (issue 15): accuracy against types per class for MIC
and the nearest neighbours, one panel per setting (no Streamlit here)."""
from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from figures.arena import LEADER, OTHER, TRUE

# (method, label, colour, dash, marker, x offset): MIC a filled circle drawn last (on top),
# the neighbours open symbols nudged sideways, so equal accuracies do not hide MIC's point
LINES = (("nn_mse", "NN (MSE)", OTHER, "dash", "diamond-open", 0.96),
         ("nn_dtw", "NN (DTW)", TRUE, "dot", "square-open", 1.04),
         ("mic", "MIC", LEADER, "solid", "circle", 1.0))


def learning_curve_figure(points: list[dict], height: int = 330) -> go.Figure:
    """``points`` of ``experiments.learning_curve.summarise``: one panel per (dataset,
    selection), x = types per class (4, 8, 16 on a log axis), y = mean accuracy over seeds."""
    settings = list(dict.fromkeys((p["dataset"], p["selection"]) for p in points))
    fig = make_subplots(rows=1, cols=max(len(settings), 1), shared_yaxes=False,
                        subplot_titles=[f"{d}, {s}" for d, s in settings])
    for column, setting in enumerate(settings, start=1):
        mine = sorted((p for p in points if (p["dataset"], p["selection"]) == setting),
                      key=lambda p: p["n_types"])
        for method, label, colour, dash, symbol, nudge in LINES:
            fig.add_trace(go.Scatter(
                x=[p["n_types"] * nudge for p in mine],
                y=[p["accuracy"].get(method) for p in mine],
                name=label, legendgroup=method, showlegend=column == 1,
                mode="lines+markers", line=dict(color=colour, dash=dash),
                marker=dict(symbol=symbol, size=9 if method == "mic" else 11,
                            line=dict(width=2, color=colour)),
                customdata=[[p["n_types"], ", ".join(str(s) for s in p["seeds"])]
                            for p in mine],
                hovertemplate=f"{label}: %{{y:.3f}} with %{{customdata[0]}} types<br>"
                              "seeds %{customdata[1]}<extra></extra>"), row=1, col=column)
        fig.update_xaxes(type="log", tickvals=[4, 8, 16], title_text="types per class",
                         row=1, col=column)
    fig.update_yaxes(title_text="accuracy", row=1, col=1)
    # the top margin leaves the modebar its own strip above the panels' titles
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=60, b=10),
                      legend=dict(orientation="h", y=-0.3))
    return fig
