"""The latent landscape: reconstruction error over a 2-D slice of an input space.

A slice is spanned by corners of the input space (one-hot codes): ``"pair"`` is the plane
a·u + b·v of two corners (it holds the zero vector, where the exposé's inversion starts),
``"triangle"`` the face of three corners (barycentric weights, the experts' simplex). The
pair's weights run over [0, 1]: mixtures, the region both designs' inversions search. The
same function serves one expert (its four-entry input vector) and the single generator (its
code), through a ``generate(codes (M, Q)) -> (M, T, D)`` callable.

"Irregular" is quantified on the grid: the number of local minima, and the basins of
steepest descent from cell to lowest neighbour: whether the start point's basin holds a
given corner (the true class) or the slice's lowest point. A grid samples a narrow valley
as a row of dimples, so a minimum counts only if it is *persistent*: to reach a lower one,
a path must climb at least ``PERSISTENCE`` of the slice's error range (0-dimensional
persistence, by flooding the grid from its lowest cell up); shallower minima and their
basins are merged into the deeper one they spill into.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

SLICES = ("pair", "triangle")
PERSISTENCE = 0.05  # a local minimum counts if it is this share of the slice's range deep


@dataclass(frozen=True, eq=False)
class Landscape:
    """Errors over a (R, R) grid of a slice; NaN outside a triangle.

    ``a``, ``b`` (R,) the grid's coordinates; ``corners`` (2 or 3, Q) the spanning corners;
    ``codes`` (R, R, Q) the input at every cell; ``errors`` (R, R) (rows: b, columns: a).
    """

    kind: str
    a: np.ndarray
    b: np.ndarray
    corners: np.ndarray
    codes: np.ndarray
    errors: np.ndarray

    def coordinates(self, codes: np.ndarray) -> np.ndarray:
        """(..., 2) slice coordinates (a, b) of ``codes`` (..., Q) projected onto the slice:
        the weights of the first two corners (pair) or the barycentric a, b of the second
        and third corners (triangle, weights normalised to sum 1)."""
        weights = np.asarray(codes) @ self.corners.T  # corners are one-hot: their entries
        if self.kind == "pair":
            return weights
        total = np.where(np.abs(weights.sum(-1, keepdims=True)) > 1e-12,
                         weights.sum(-1, keepdims=True), 1.0)
        return (weights / total)[..., 1:]

    def cell(self, point) -> tuple[int, int]:
        """(row, column) of the grid cell nearest ``point`` = (a, b)."""
        return int(np.abs(self.b - point[1]).argmin()), int(np.abs(self.a - point[0]).argmin())

    @property
    def n_local_minima(self) -> int:
        """Local minima at least ``PERSISTENCE`` of the slice's range deep."""
        return len(persistent_minima(self.errors))

    @property
    def n_grid_minima(self) -> int:
        """Every cell lower than its 8 neighbours, however shallow."""
        return int(local_minima(self.errors).sum())

    def basins(self) -> np.ndarray:
        """(R, R) the persistent minimum (flat index) each cell's descent ends in."""
        labels = descent_basins(self.errors)
        merged = merged_minima(self.errors)
        return np.vectorize(lambda m: merged.get(int(m), int(m)))(labels)

    def same_basin(self, point, other) -> bool:
        """Whether steepest descent from the cells of two points ends in one minimum."""
        labels = self.basins()
        return bool(labels[self.cell(point)] == labels[self.cell(other)])

    def lowest(self) -> tuple[float, float]:
        """(a, b) of the slice's lowest cell."""
        row, col = np.unravel_index(np.nanargmin(self.errors), self.errors.shape)
        return float(self.a[col]), float(self.b[row])


def slice_codes(kind: str, corners: np.ndarray, resolution: int = 25,
                extent: tuple[float, float] = (0.0, 1.0)):
    """The grid of a slice: (a (R,), b (R,), codes (R, R, Q), inside (R, R))."""
    if kind not in SLICES:
        raise ValueError(f"unknown slice {kind!r}; choose one of {SLICES}")
    corners = np.asarray(corners, dtype=np.float32)
    if corners.shape[0] != (2 if kind == "pair" else 3):
        raise ValueError(f"a {kind} slice needs {2 if kind == 'pair' else 3} corners, got "
                         f"{corners.shape[0]}")
    if resolution < 3:
        raise ValueError(f"resolution must be at least 3, got {resolution}")
    lo, hi = extent if kind == "pair" else (0.0, 1.0)
    a = np.linspace(lo, hi, resolution)
    b = np.linspace(lo, hi, resolution)
    A, B = np.meshgrid(a, b)  # rows: b, columns: a
    if kind == "pair":
        codes = A[..., None] * corners[0] + B[..., None] * corners[1]
        inside = np.ones_like(A, dtype=bool)
    else:
        codes = (1 - A - B)[..., None] * corners[0] + A[..., None] * corners[1] + \
            B[..., None] * corners[2]
        inside = A + B <= 1 + 1e-9
    return a, b, codes.astype(np.float32), inside


def landscape(generate: Callable[[np.ndarray], np.ndarray], target: np.ndarray, kind: str,
              corners: np.ndarray, resolution: int = 25) -> Landscape:
    """The reconstruction error (MSE) of ``target`` (T, D) over a slice spanned by
    ``corners`` (2 or 3, Q); ``generate`` maps codes (M, Q) to sequences (M, T, D)."""
    a, b, codes, inside = slice_codes(kind, corners, resolution)
    R, Q = codes.shape[0], codes.shape[2]
    flat = codes[inside]
    recon = generate(flat)
    errors = np.full((R, R), np.nan)
    errors[inside] = ((recon - np.asarray(target)[None]) ** 2).mean(axis=(1, 2))
    return Landscape(kind=kind, a=a, b=b, corners=np.asarray(corners, np.float32),
                     codes=codes, errors=errors)


_NEIGHBOURS = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]


def _shifted(values: np.ndarray, dr: int, dc: int) -> np.ndarray:
    """values[r + dr, c + dc], NaN where that falls off the grid."""
    out = np.full_like(values, np.nan, dtype=float)
    R, C = values.shape
    out[max(0, -dr):R - max(0, dr), max(0, -dc):C - max(0, dc)] = \
        values[max(0, dr):R - max(0, -dr), max(0, dc):C - max(0, -dc)]
    return out


def local_minima(errors: np.ndarray) -> np.ndarray:
    """(R, C) bool: finite cells strictly lower than each of their finite 8 neighbours.

    >>> local_minima(np.array([[3., 2, 3], [2, 1, 2], [3, 2, 0.5]])).astype(int).tolist()
    [[0, 0, 0], [0, 0, 0], [0, 0, 1]]
    """
    errors = np.asarray(errors, dtype=float)
    is_min = np.isfinite(errors)
    for dr, dc in _NEIGHBOURS:
        neighbour = _shifted(errors, dr, dc)
        is_min &= ~(neighbour <= errors)  # NaN neighbours (outside) never block
    return is_min


def descent_basins(errors: np.ndarray) -> np.ndarray:
    """(R, C) int: the flat index of the minimum that steepest descent (to the lowest of the
    8 neighbours, while lower) reaches from every cell; -1 outside (NaN)."""
    errors = np.asarray(errors, dtype=float)
    R, C = errors.shape
    index = np.arange(R * C).reshape(R, C)
    best = np.where(np.isfinite(errors), errors, np.inf)
    step = index.copy()
    for dr, dc in _NEIGHBOURS:
        neighbour = _shifted(errors, dr, dc)
        better = np.isfinite(neighbour) & (neighbour < best)
        best = np.where(better, neighbour, best)
        step = np.where(better, index + dr * C + dc, step)
    flat = step.ravel()
    for _ in range(R * C):  # pointer jumping: at most log2(R*C) rounds are needed
        nxt = flat[flat]
        if np.array_equal(nxt, flat):
            break
        flat = nxt
    labels = flat.reshape(R, C)
    return np.where(np.isfinite(errors), labels, -1)


# --- the two designs side by side ------------------------------------------------------------

def expert_generator(experts, index: int) -> Callable[[np.ndarray], np.ndarray]:
    """``generate`` of expert ``index`` of an ``ExpertSet``: input vectors (M, K) ->
    sequences (M, T, D)."""
    from mic_core import kernels
    weights = tuple(w[index:index + 1] for w in experts.kernel_weights())

    def generate(codes):
        codes = np.ascontiguousarray(codes, dtype=np.float32)[:, None]
        return kernels.generate(*weights, codes, experts.n_steps)[:, 0]
    return generate


@dataclass(frozen=True)
class SliceComparison:
    """One target's slices of one expert and of the single generator, and their measures.

    ``expert`` / ``generator``: the landscapes; ``expert_start`` / ``generator_start``: the
    (a, b) of each inversion's start on its slice; ``*_minima``: local minima on the slice;
    ``*_start_in_lowest``: whether descent from the start reaches the slice's lowest cell;
    ``generator_start_in_true``: whether it reaches the true class's corner's basin (the
    first corner of the generator's slice is the true class).
    """

    expert: Landscape
    generator: Landscape
    expert_types: tuple[int, ...]  # the expert's types spanning its slice
    generator_classes: tuple[int, ...]  # the classes spanning the generator's slice
    expert_start: tuple[float, float]
    generator_start: tuple[float, float]

    @property
    def expert_minima(self) -> int:
        return self.expert.n_local_minima

    @property
    def generator_minima(self) -> int:
        return self.generator.n_local_minima

    @property
    def expert_start_in_lowest(self) -> bool:
        return self.expert.same_basin(self.expert_start, self.expert.lowest())

    @property
    def generator_start_in_lowest(self) -> bool:
        return self.generator.same_basin(self.generator_start, self.generator.lowest())

    @property
    def generator_start_in_true(self) -> bool:
        true_corner = (1.0, 0.0) if self.generator.kind == "pair" else (0.0, 0.0)
        return self.generator.same_basin(self.generator_start, true_corner)

    def measures(self) -> dict:
        return {"expert_local_minima": self.expert_minima,
                "generator_local_minima": self.generator_minima,
                "expert_start_in_lowest_basin": self.expert_start_in_lowest,
                "generator_start_in_lowest_basin": self.generator_start_in_lowest,
                "generator_start_in_true_class_basin": self.generator_start_in_true}


def compare_slices(experts, generator, target: np.ndarray, true_class: int,
                   kind: str = "pair", rivals=None, start: str = "zero",
                   resolution: int = 25) -> SliceComparison:
    """Slices through the true class's expert (spanned by the types that reconstruct the
    target best) and through the single generator (spanned by the true class's corner and
    its ``rivals``: by default the classes whose corners reconstruct the target best).

    The generator's corner of a class is its one-hot class code, or for the type code its
    best type's code. Starts: the expert's uniform vector; the generator's ``start`` ("zero"
    or "uniform"), each placed on its slice (on a triangle, the centre)."""
    from mic_core.single.inversion import corner_errors
    target = np.asarray(target, dtype=np.float32)
    n_corners = 2 if kind == "pair" else 3
    # the expert: its best types for this target
    gen_expert = expert_generator(experts, true_class)
    K = experts.config.n_types
    type_error = ((gen_expert(np.eye(K, dtype=np.float32)) - target) ** 2).mean(axis=(1, 2))
    types = tuple(int(k) for k in np.argsort(type_error)[:n_corners])
    expert = landscape(gen_expert, target, kind, np.eye(K, dtype=np.float32)[list(types)],
                       resolution)
    # the generator: the true class and its closest rivals
    corners_error = corner_errors(generator, target[None])[0]
    if rivals is None:
        order = [int(c) for c in np.argsort(corners_error) if c != true_class]
        rivals = order[:n_corners - 1]
    classes = (int(true_class), *[int(c) for c in rivals])
    if len(classes) != n_corners:
        raise ValueError(f"a {kind} slice needs {n_corners - 1} rival classes, got {rivals}")
    recon = generator.generate(generator.corner_codes())
    corner_fit = ((recon - target) ** 2).mean(axis=(1, 2))
    code_classes = generator.code_classes()
    best_code = [int(np.flatnonzero(code_classes == c)[np.argmin(corner_fit[code_classes == c])])
                 for c in classes]
    gen = landscape(generator.generate, target, kind, generator.corner_codes()[best_code],
                    resolution)
    centre = (1 / 3, 1 / 3)
    expert_start = (0.25, 0.25) if kind == "pair" else centre
    Q = generator.code_size
    generator_start = ((0.0, 0.0) if start == "zero" else (1 / Q, 1 / Q)) if kind == "pair" \
        else centre
    return SliceComparison(expert=expert, generator=gen, expert_types=types,
                           generator_classes=classes, expert_start=expert_start,
                           generator_start=generator_start)


def irregularity(experts, generator, X: np.ndarray, y: np.ndarray, kind: str = "pair",
                 resolution: int = 21, start: str = "zero") -> dict:
    """Over targets ``X`` (n, T, D) with classes ``y``: the mean number of local minima on
    each design's slice (``compare_slices``), and how often descent from the start ends in
    the slice's lowest basin (both) and in the true class's basin (the generator)."""
    rows = [compare_slices(experts, generator, x, int(c), kind, start=start,
                           resolution=resolution).measures() for x, c in zip(X, y)]
    keys = rows[0].keys() if rows else []
    return {"n_targets": len(rows), "slice": kind, "resolution": resolution,
            **{f"mean_{k}": float(np.mean([r[k] for r in rows])) for k in keys}}


def _flood(errors: np.ndarray, fraction: float):
    """Flood the grid from its lowest cell up (8-neighbour union-find). Returns
    {minimum cell: (persistence, the minimum it spills into)}; the global minimum's
    persistence is infinite. Cells are flat indices."""
    values = np.asarray(errors, dtype=float).ravel()
    R, C = np.shape(errors)
    parent = np.full(values.size, -1)
    lowest = np.arange(values.size)  # the lowest cell of each component (at its root)

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i
    deaths = {}
    for cell in np.argsort(values, kind="stable"):
        if not np.isfinite(values[cell]):
            break
        parent[cell] = cell
        r, c = divmod(int(cell), C)
        for dr, dc in _NEIGHBOURS:
            if not (0 <= r + dr < R and 0 <= c + dc < C):
                continue
            other = (r + dr) * C + c + dc
            if parent[other] < 0:
                continue
            a, b = find(cell), find(other)
            if a == b:
                continue
            young, old = (a, b) if values[lowest[a]] > values[lowest[b]] or \
                (values[lowest[a]] == values[lowest[b]] and lowest[a] > lowest[b]) else (b, a)
            deaths[int(lowest[young])] = (values[cell] - values[lowest[young]],
                                          int(lowest[old]))
            parent[young] = old
    finite = np.flatnonzero(np.isfinite(values))
    if len(finite):
        deaths[int(finite[np.argmin(values[finite])])] = (np.inf, -1)
    return deaths


def persistent_minima(errors: np.ndarray, fraction: float = PERSISTENCE) -> list[int]:
    """Flat indices of the local minima at least ``fraction`` of the range deep.

    >>> persistent_minima(np.array([[0., 1, 2, 1.9, 3], [1, 2, 3, 2, 3]]))
    [0]
    >>> persistent_minima(np.array([[0., 1, 3, 1, 3], [1, 2, 3, 2, 3]]))
    [0, 3]
    """
    errors = np.asarray(errors, dtype=float)
    finite = errors[np.isfinite(errors)]
    if finite.size == 0:
        return []
    threshold = fraction * (finite.max() - finite.min())
    grid = local_minima(errors).ravel()
    return sorted(m for m, (persistence, _) in _flood(errors, fraction).items()
                  if grid[m] and (persistence > threshold or not np.isfinite(persistence)))


def merged_minima(errors: np.ndarray, fraction: float = PERSISTENCE) -> dict:
    """{shallow minimum: the persistent minimum its basin spills into}."""
    errors = np.asarray(errors, dtype=float)
    finite = errors[np.isfinite(errors)]
    if finite.size == 0:
        return {}
    threshold = fraction * (finite.max() - finite.min())
    deaths = _flood(errors, fraction)
    merged = {}
    for m, (persistence, into) in deaths.items():
        target = m
        while np.isfinite(deaths[target][0]) and deaths[target][0] <= threshold:
            target = deaths[target][1]
        if target != m:
            merged[m] = target
    return merged
