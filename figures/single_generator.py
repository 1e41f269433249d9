"""Plotly figures of the single generator: its code inversion animated, the latent landscape
of one expert beside the generator, and the generations of every code (no Streamlit here)."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from figures.arena import FRAME_MS, HEAT, LEADER, OTHER, SELECTED, TARGET, TRUE, _shape_trace

__all__ = ["code_arena_figure", "landscape_figure", "generations_figure"]


def _mass_colors(mass, true_index):
    leader = int(np.argmax(mass))
    return [LEADER if c == leader else TRUE if c == true_index else OTHER
            for c in range(len(mass))]


def code_arena_figure(record, n: int = 0, true_index: int | None = None,
                      iteration: int | None = None, title: str = "") -> go.Figure:
    """Target ``n``'s code inversion (a ``CodeInversionRecord``), one frame per iteration:
    the code's mass on every class (the bars rise and fall), the reconstruction over the
    target, and the error so far."""
    names = list(record.class_names)
    mass, errors = record.class_mass[n], record.errors[n]
    recon = record.reconstructions[n]
    I = len(errors)
    full = recon.shape[0] == I
    current = I - 1 if iteration is None else int(np.clip(iteration, 0, I - 1))
    image = record.targets.shape[1:] == (28, 28)
    target = record.targets[n]
    fig = make_subplots(rows=1, cols=3, column_widths=[0.45, 0.25, 0.3],
                        subplot_titles=["the code's mass on every class",
                                        "reconstruction" + ("" if full else " (final)"),
                                        "reconstruction error"])
    fig.add_trace(go.Bar(x=names, y=mass[current], marker=dict(
        color=_mass_colors(mass[current], true_index)), name="mass",
        hovertemplate="%{x}: %{y:.3f}<extra></extra>"), row=1, col=1)
    fig.add_trace(_shape_trace(recon[current if full else -1], image, name="reconstruction",
                               line=dict(color=SELECTED, width=3)), row=1, col=2)
    fig.add_trace(go.Scatter(x=np.arange(current + 1), y=errors[:current + 1], mode="lines",
                             line=dict(color=LEADER, width=2), name="error"), row=1, col=3)
    if not image:
        fig.add_trace(go.Scatter(x=target[:, 0], y=target[:, 1], mode="lines", name="target",
                                 line=dict(color=TARGET, width=6)), row=1, col=2)
    frames = []
    for i in range(I):
        data = [go.Bar(y=mass[i], marker=dict(color=_mass_colors(mass[i], true_index))),
                _shape_trace(recon[i if full else -1], image),
                go.Scatter(x=np.arange(i + 1), y=errors[:i + 1])]
        frames.append(go.Frame(data=data, traces=[0, 1, 2], name=str(i)))
    fig.frames = frames
    steps = [dict(method="animate", label=str(i),
                  args=[[str(i)], dict(mode="immediate", frame=dict(duration=0, redraw=image),
                                       transition=dict(duration=0))]) for i in range(I)]
    lo, hi = float(min(mass.min(), 0)), float(max(mass.max(), 1e-3))
    fig.update_yaxes(range=[lo - 0.05 * (hi - lo), hi * 1.1], row=1, col=1)
    fig.update_xaxes(range=[-0.5, I - 0.5], title_text="iteration", row=1, col=3)
    fig.update_yaxes(range=[0, float(errors.max()) * 1.1], row=1, col=3)
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, row=1, col=2)
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False, row=1, col=2,
                     scaleanchor="x2")
    fig.update_layout(
        title=title or None, height=420, showlegend=False, plot_bgcolor="white",
        margin=dict(l=10, r=10, t=60 if title else 30, b=70),
        updatemenus=[dict(type="buttons", direction="left", x=0.0, y=-0.12, xanchor="left",
                          yanchor="top", showactive=False, buttons=[
                              dict(label="▶ play", method="animate",
                                   args=[None, dict(frame=dict(duration=FRAME_MS, redraw=image),
                                                    transition=dict(duration=0),
                                                    fromcurrent=True, mode="immediate")]),
                              dict(label="❚❚ pause", method="animate",
                                   args=[[None], dict(frame=dict(duration=0, redraw=False),
                                                      mode="immediate")])])],
        # the slider starts right of the buttons (about 140 px: 0.2 of a 700 px figure; in a
        # narrower one the buttons sit a little higher than its rail) and
        # names its iteration in the middle, under the reconstruction: at its left end the
        # label sat behind the buttons (teacher test: "n 50")
        sliders=[dict(active=current, steps=steps, x=0.2, y=-0.16, len=0.8, yanchor="top",
                      currentvalue=dict(prefix="iteration ", xanchor="center"),
                      pad=dict(t=0))])
    return fig


def _landscape_panel(fig, land, col, path, start, labels, corner_points):
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.log10(np.maximum(land.errors, 1e-6))
    fig.add_trace(go.Heatmap(x=land.a, y=land.b, z=z, colorscale=HEAT, showscale=col == 2,
                             colorbar=dict(title="log₁₀ error", len=0.9),
                             hovertemplate="a %{x:.2f}, b %{y:.2f}<br>log₁₀ error %{z:.3f}"
                                           "<extra></extra>"), row=1, col=col)
    from mic_core.single.landscape import persistent_minima
    rows, cols = np.unravel_index(np.asarray(persistent_minima(land.errors), dtype=int),
                                  land.errors.shape)
    fig.add_trace(go.Scatter(x=land.a[cols], y=land.b[rows], mode="markers", name="local minima",
                             marker=dict(symbol="x", size=9, color="white",
                                         line=dict(width=1, color="black")),
                             hovertemplate="local minimum<extra></extra>"), row=1, col=col)
    if path is not None and len(path):
        fig.add_trace(go.Scatter(x=path[:, 0], y=path[:, 1], mode="lines+markers",
                                 name="inversion path", line=dict(color=LEADER, width=2),
                                 marker=dict(size=4), hovertemplate="iteration %{text}"
                                 "<extra></extra>", text=np.arange(len(path))), row=1, col=col)
    fig.add_trace(go.Scatter(x=[start[0]], y=[start[1]], mode="markers", name="start",
                             marker=dict(symbol="circle-open", size=14, color="white",
                                         line=dict(width=3))), row=1, col=col)
    xs, ys = zip(*corner_points)
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="markers+text", text=labels,
                             textposition="top center", textfont=dict(color="white"),
                             marker=dict(symbol="diamond", size=10, color="white"),
                             name="corners"), row=1, col=col)


def _minima(n: int) -> str:
    """
    >>> _minima(1), _minima(3)
    ('1 local minimum', '3 local minima')
    """
    return f"{n} local minimum" if n == 1 else f"{n} local minima"


def landscape_figure(comparison, expert_path=None, generator_path=None,
                     expert_labels=None, generator_labels=None) -> go.Figure:
    """Heat maps of the reconstruction error (log scale) over a slice of one expert's input
    space and one of the single generator's code space (``landscape.SliceComparison``),
    local minima marked ×, each inversion's path (already in slice coordinates) on top."""
    m = comparison.measures()
    titles = [f"expert: {_minima(m['expert_local_minima'])}",
              f"single generator: {_minima(m['generator_local_minima'])}"]
    fig = make_subplots(rows=1, cols=2, subplot_titles=titles, horizontal_spacing=0.08)
    kind = comparison.expert.kind
    corner_points = [(1, 0), (0, 1)] if kind == "pair" else [(0, 0), (1, 0), (0, 1)]
    _landscape_panel(fig, comparison.expert, 1, expert_path, comparison.expert_start,
                     expert_labels or [f"type {k + 1}" for k in comparison.expert_types],
                     corner_points)
    _landscape_panel(fig, comparison.generator, 2, generator_path, comparison.generator_start,
                     generator_labels or [str(c) for c in comparison.generator_classes],
                     corner_points)
    axis = "weight of the first corner" if kind == "pair" else "weight of the second corner"
    fig.update_xaxes(title_text=axis)
    fig.update_yaxes(title_text="weight of the " + ("second" if kind == "pair" else "third")
                     + " corner", col=1)
    lo, hi = float(comparison.expert.a[0]), float(comparison.expert.a[-1])
    fig.update_xaxes(range=[lo, hi])
    fig.update_yaxes(range=[lo, hi])
    fig.update_layout(height=430, showlegend=False, margin=dict(l=10, r=10, t=40, b=10),
                      plot_bgcolor="white")
    return fig


def generations_figure(generator, per_row: int = 10) -> go.Figure:
    """What the generator produces for every one-hot code (every class; every (class, type)
    for the type code), each over the type(s) it learnt in grey."""
    codes = generator.corner_codes()
    generated = generator.generate(codes)
    labels = generator.code_labels()
    classes = generator.code_classes()
    types = generator.types.reshape(-1, *generator.types.shape[2:])
    image = generated.shape[1:] == (28, 28)
    Q = len(codes)
    cols = min(per_row, Q)
    rows = int(np.ceil(Q / cols))
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=labels, vertical_spacing=0.04,
                        horizontal_spacing=0.01)
    for q in range(Q):
        r, c = 1 + q // cols, 1 + q % cols
        if not image:
            learnt = [types[q]] if generator.code == "type" else \
                generator.types[classes[q]]
            for seq in learnt:
                fig.add_trace(go.Scatter(x=seq[:, 0], y=seq[:, 1], mode="lines",
                                         line=dict(color=TARGET, width=3), hoverinfo="skip"),
                              row=r, col=c)
        fig.add_trace(_shape_trace(generated[q], image, line=dict(color=TRUE, width=2)),
                      row=r, col=c)
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False)
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False)
    fig.update_layout(height=130 * rows + 40, showlegend=False, plot_bgcolor="white",
                      margin=dict(l=5, r=5, t=30, b=5))
    return fig
