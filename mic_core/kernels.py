"""Fused LSTM recurrence for all experts at once, compiled with numba.

An expert is tiny (4 -> 10 -> 2), so in PyTorch every one of its time steps costs a dozen
kernel launches that each do almost no arithmetic: the per-step overhead, not the maths, sets
the speed. Here compiled loops run whole sequences, forward and backpropagation through time:

- training (``loss_and_weight_grads``) and ``generate``: one (expert, sequence) at a time,
  experts in parallel threads;
- inversion (``error_and_input_grad``): blocks of SIMD lanes, lanes innermost in memory, so
  that every loop (the recurrent and read-out products, the gates, the cell) runs over the
  block in SIMD instructions; blocks in parallel threads. Two layouts of the lanes, one
  kernel source: many targets ("targets": one expert, up to ``INVERSION_BLOCK`` of its
  targets, weights shared) or few ("pairs": (target, expert) pairs, each lane with its
  expert's weights, so that one drawing in 20 experts still fills the SIMD lanes).

The maths is exactly ``mic_core.expert.Expert`` (``torch.nn.LSTM`` + ``torch.nn.Linear``,
gate order i, f, g, o); ``tests/test_kernels.py`` checks values and gradients against torch
autograd. Weight layout, with E experts, G = 4 * H gates, K inputs, D outputs:

    w_ih  (E, G, K)   w_hh_t (E, H, G)  (transposed: rows are contiguous over gates)
    bias  (E, G)      (b_ih + b_hh)      w_out (E, D, H)   b_out (E, D)

TRY NOT TO MODIFY casually: every change here must keep ``tests/test_kernels.py`` green.
"""
import math
import threading

import numpy as np
from numba import njit, prange, types
from numba.extending import overload


# In float32, tanh is a rational function (the minimax approximation Eigen uses for float
# tanh): pure arithmetic, so LLVM vectorises the gate loops, where libm's tanh would stay a
# scalar call. Its absolute error is below 4e-7, under float32's own rounding of the LSTM.
# In float64 (the comparisons with torch) it is libm's exact tanh; the choice is made when
# numba compiles, by the argument's type.
_A1, _A3, _A5, _A7 = (np.float32(4.89352455891786e-03), np.float32(6.37261928875436e-04),
                      np.float32(1.48572235717979e-05), np.float32(5.12229709037114e-08))
_A9, _A11, _A13 = (np.float32(-8.60467152213735e-11), np.float32(2.00018790482477e-13),
                   np.float32(-2.76076847742355e-16))
_B0, _B2, _B4, _B6 = (np.float32(4.89352518554385e-03), np.float32(2.26843463243900e-03),
                      np.float32(1.18534705686654e-04), np.float32(1.19825839466702e-06))
_CLAMP, _HALF = np.float32(9.0), np.float32(0.5)
_ZERO, _ONE = np.float32(0.0), np.float32(1.0)  # keep float32 maths in float32


def _tanh(x):
    """Placeholder: numba replaces it by the implementation chosen in ``_tanh_by_type``."""
    return np.tanh(x)


@overload(_tanh, inline="always", jit_options={"fastmath": True})
def _tanh_by_type(x):
    if x == types.float64:
        return lambda x: math.tanh(x)

    def rational_tanh(x):
        x = min(max(x, -_CLAMP), _CLAMP)
        x2 = x * x
        p = ((((((_A13 * x2 + _A11) * x2 + _A9) * x2 + _A7) * x2 + _A5) * x2 + _A3) * x2
             + _A1) * x
        q = ((_B6 * x2 + _B4) * x2 + _B2) * x2 + _B0
        return p / q
    return rational_tanh


@njit(cache=True, fastmath=True, inline="always")
def _sigmoid(x):
    return _HALF * _tanh(_HALF * x) + _HALF


@njit(cache=True, fastmath=True, inline="always")
def _cell(i_g, f_g, c_g, o_g, c_prev):
    """One LSTM cell forward from its activated gates: (cell state c, tanh(c), output h)."""
    c = f_g * c_prev + i_g * c_g
    tc = _tanh(c)
    return c, tc, o_g * tc


@njit(cache=True, fastmath=True, inline="always")
def _cell_backward(dh, dc_next, i_g, f_g, c_g, o_g, c_prev, tc):
    """Backward through ``_cell`` and the gate activations, given dLoss/dh and the gradient
    flowing into c from the next step: the gradients of the four gates' pre-activations
    (i, f, g, o) and the gradient flowing into the previous step's c."""
    dc = dc_next + dh * o_g * (_ONE - tc * tc)
    return (dc * c_g * i_g * (_ONE - i_g), dc * c_prev * f_g * (_ONE - f_g),
            dc * i_g * (_ONE - c_g * c_g), dh * tc * o_g * (_ONE - o_g), dc * f_g)


@njit(cache=True, fastmath=True)
def _forward(w_ih, w_hh_t, bias, w_out, b_out, v, n_steps, gates, cells, y):
    """Run one expert on input vector ``v`` (given at step 0 only) for ``n_steps`` steps.

    Fills ``gates`` (n_steps, 4H) with the activated gates i, f, g, o; ``cells``
    (2, n_steps, H) with the cell state and its tanh; ``y`` (n_steps, D), the reconstruction.
    """
    H = w_hh_t.shape[0]
    G = 4 * H
    D = w_out.shape[0]
    K = v.shape[0]
    h = np.zeros(H, dtype=y.dtype)
    w_out_t = np.empty((H, D), dtype=y.dtype)  # read-out rows contiguous over outputs
    for d in range(D):
        for j in range(H):
            w_out_t[j, d] = w_out[d, j]
    for t in range(n_steps):
        a = gates[t]
        for g in range(G):
            a[g] = bias[g]
        if t == 0:  # the input vector enters at the first step; h and c start at zero
            for k in range(K):
                vk = v[k]
                for g in range(G):
                    a[g] += w_ih[g, k] * vk
        else:
            for j in range(H):
                hj = h[j]
                for g in range(G):
                    a[g] += w_hh_t[j, g] * hj
        for g in range(2 * H):
            a[g] = _sigmoid(a[g])
        for g in range(2 * H, 3 * H):
            a[g] = _tanh(a[g])
        for g in range(3 * H, G):
            a[g] = _sigmoid(a[g])
        for j in range(H):
            c_prev = cells[0, t - 1, j] if t > 0 else _ZERO
            cells[0, t, j], cells[1, t, j], h[j] = _cell(a[j], a[H + j], a[2 * H + j],
                                                         a[3 * H + j], c_prev)
        out = y[t]
        for d in range(D):
            out[d] = b_out[d]
        for j in range(H):
            hj = h[j]
            for d in range(D):
                out[d] += w_out_t[j, d] * hj


@njit(cache=True, fastmath=True)
def _backward(w_ih, w_hh_t, w_out, v, gates, cells, dy, dv, grads, want_weight_grads):
    """Backpropagate ``dy`` (n_steps, D) = dLoss/dy through the sequence of ``_forward``.

    Writes dLoss/dv into ``dv`` (K,). If ``want_weight_grads``, adds the weight gradients
    into ``grads`` = (d_w_ih, d_w_hh_t, d_bias, d_w_out, d_b_out) of one expert.
    """
    H = w_hh_t.shape[0]
    G = 4 * H
    D = w_out.shape[0]
    K = v.shape[0]
    n_steps = dy.shape[0]
    d_w_ih, d_w_hh_t, d_bias, d_w_out, d_b_out = grads
    dh = np.empty(H, dtype=dy.dtype)
    dh_next = np.zeros(H, dtype=dy.dtype)
    dc_next = np.zeros(H, dtype=dy.dtype)
    da = np.empty(G, dtype=dy.dtype)
    for t in range(n_steps - 1, -1, -1):
        a = gates[t]
        for j in range(H):
            dh[j] = dh_next[j]
        for d in range(D):
            dyd = dy[t, d]
            for j in range(H):
                dh[j] += w_out[d, j] * dyd
        for j in range(H):
            c_prev = cells[0, t - 1, j] if t > 0 else _ZERO
            da[j], da[H + j], da[2 * H + j], da[3 * H + j], dc_next[j] = _cell_backward(
                dh[j], dc_next[j], a[j], a[H + j], a[2 * H + j], a[3 * H + j], c_prev,
                cells[1, t, j])
        if want_weight_grads:
            for d in range(D):
                for j in range(H):
                    d_w_out[d, j] += dy[t, d] * (a[3 * H + j] * cells[1, t, j])
                d_b_out[d] += dy[t, d]
            for g in range(G):
                d_bias[g] += da[g]
        if t > 0:
            for j in range(H):
                acc = _ZERO
                for g in range(G):
                    acc += w_hh_t[j, g] * da[g]
                dh_next[j] = acc
            if want_weight_grads:
                for j in range(H):
                    hj = gates[t - 1, 3 * H + j] * cells[1, t - 1, j]
                    for g in range(G):
                        d_w_hh_t[j, g] += hj * da[g]
        else:
            for k in range(K):
                acc = _ZERO
                for g in range(G):
                    acc += w_ih[g, k] * da[g]
                dv[k] = acc
            if want_weight_grads:
                for g in range(G):
                    for k in range(K):
                        d_w_ih[g, k] += da[g] * v[k]


@njit(cache=True, fastmath=True)
def _mse_and_grad(y, target, dy):
    """Mean squared error over all (step, output) entries; fills dy with its gradient."""
    n = y.shape[0] * y.shape[1]
    total = 0.0
    for t in range(y.shape[0]):
        for d in range(y.shape[1]):
            diff = y[t, d] - target[t, d]
            total += diff * diff
            dy[t, d] = 2.0 * diff / n
    return total / n


@njit(cache=True, parallel=True, fastmath=True)
def generate(w_ih, w_hh_t, bias, w_out, b_out, inputs, n_steps):
    """Reconstructions for ``inputs`` (N, E, K): returns (N, E, n_steps, D)."""
    N, E, _ = inputs.shape
    H = w_hh_t.shape[1]
    D = w_out.shape[1]
    out = np.empty((N, E, n_steps, D), dtype=inputs.dtype)
    for pair in prange(N * E):
        n, e = pair // E, pair % E
        gates = np.empty((n_steps, 4 * H), dtype=inputs.dtype)
        cells = np.empty((2, n_steps, H), dtype=inputs.dtype)
        _forward(w_ih[e], w_hh_t[e], bias[e], w_out[e], b_out[e], inputs[n, e], n_steps,
                 gates, cells, out[n, e])
    return out


# The inversion runs many targets through each expert, so it takes one expert and a block of
# targets at a time, with the TARGETS innermost in memory ("structure of arrays": every
# quantity of a cell or gate is a row of M values). Each loop over a row is one run of
# SIMD instructions with no remainder to speak of; per time step and cell, the four gate
# pre-activations (the recurrent product), the gate activations and the cell update run as
# one fused pass, and so does the read-out with the error and its gradient; backward through
# time likewise. No BLAS call (tiny matrix products pay more in call overhead than in
# arithmetic) and no per-step allocation. These functions use error_model="numpy": Python's
# error model guards every division with a zero check, which stops LLVM from vectorising the
# rational tanh (8x slower). The training kernels above keep the default: switching changes
# their rounding, and training is chaotic (rounding changes the weights it ends in), for
# little gain there (26 -> 21 s for the 20 character experts).
INVERSION_BLOCK = 128 # targets per (expert, block) work item: rows long enough for SIMD, a
#                       block's stored sequence (gates, cells) small enough to stay in cache


def _add_weighted_rows(out, w, rows):
    """out[m] += sum over r of w[r] * rows[r, m]: one row of a matrix product over the block.
    ``w`` is (n,), one weight per row shared by every lane (targets layout), or (n, M), each
    lane its own weights (pairs layout). Placeholder: numba picks ``_add_weighted_rows_by_layout``."""
    raise NotImplementedError


@overload(_add_weighted_rows, inline="always",
          jit_options={"fastmath": True, "error_model": "numpy"})
def _add_weighted_rows_by_layout(out, w, rows):
    if w.ndim == 1:
        def shared_weights(out, w, rows):
            # four rows per pass, so each load and store of ``out`` serves four multiply-adds
            n, M = rows.shape
            for r in range(0, n - 3, 4):
                w0, w1, w2, w3 = w[r], w[r + 1], w[r + 2], w[r + 3]
                x0, x1, x2, x3 = rows[r], rows[r + 1], rows[r + 2], rows[r + 3]
                for m in range(M):
                    out[m] += (w0 * x0[m] + w1 * x1[m]) + (w2 * x2[m] + w3 * x3[m])
            for r in range(n - n % 4, n):
                w0 = w[r]
                x0 = rows[r]
                for m in range(M):
                    out[m] += w0 * x0[m]
        return shared_weights

    def lane_weights(out, w, rows):
        # two rows per pass: measured as fast as four here, and the loop reads five arrays
        # (four would make nine, past what LLVM checks for overlap at run time)
        n, M = rows.shape
        for r in range(0, n - 1, 2):
            w0, w1 = w[r], w[r + 1]
            x0, x1 = rows[r], rows[r + 1]
            for m in range(M):
                out[m] += w0[m] * x0[m] + w1[m] * x1[m]
        if n % 2:
            w0 = w[n - 1]
            x0 = rows[n - 1]
            for m in range(M):
                out[m] += w0[m] * x0[m]
    return lane_weights


def _fill(row, value):
    """row[:] = value: a scalar (targets layout) or one value per lane (pairs layout)."""
    raise NotImplementedError


@overload(_fill, inline="always", jit_options={"fastmath": True, "error_model": "numpy"})
def _fill_by_layout(row, value):
    if isinstance(value, types.Array):
        def per_lane(row, value):
            for m in range(row.shape[0]):
                row[m] = value[m]
        return per_lane

    def shared(row, value):
        for m in range(row.shape[0]):
            row[m] = value
    return shared


@njit(cache=True, fastmath=True, error_model="numpy")
def _invert_block(w_ih, w_ih_t, w_hh, w_hh_t, bias, w_out, w_out_t, b_out, v, targets, recon,
                  errors, dv):
    """A block of M lanes, lanes innermost: reconstructions of the input vectors ``v``
    (K, M) into ``recon`` (T, D, M), their MSE against ``targets`` (T, D, M) into
    ``errors`` (M,) and its gradient with respect to ``v`` into ``dv`` (K, M).

    Targets layout: the lanes are M targets of ONE expert, whose weights every lane shares:
    w_ih (G, K), w_ih_t (K, G), w_hh (G, H), w_hh_t (H, G), bias (G,), w_out (D, H),
    w_out_t (H, D), b_out (D,). Pairs layout: each lane is its own (target, expert) pair and
    every weight array has a last axis of M lanes (w_ih (G, K, M), ..., b_out (D, M)).
    The same source compiles for both (``_add_weighted_rows``, ``_fill``)."""
    K, M = v.shape
    T, D = targets.shape[0], targets.shape[1]
    H = w_hh_t.shape[0]
    G = 4 * H
    dtype = v.dtype
    gates = np.empty((T, G, M), dtype=dtype)  # activated gates i, f, g, o
    cells = np.empty((T + 1, H, M), dtype=dtype)  # cells[t + 1]: c after step t; cells[0] = 0
    tanh_cells = np.empty((T, H, M), dtype=dtype)
    dy = np.empty((T, D, M), dtype=dtype)
    h_prev = np.zeros((H, M), dtype=dtype)
    h = np.empty((H, M), dtype=dtype)
    total = np.zeros(M)  # float64 sums of squared differences
    scale = np.full(1, 2.0 / (T * D), dtype=dtype)[0]  # in the arrays' precision
    cells[0] = _ZERO
    for t in range(T):
        a = gates[t]  # pre-activations first, activated in place
        for g in range(G):
            row = a[g]
            _fill(row, bias[g])
            if t == 0:  # the input vector enters at the first step; h and c start at zero
                _add_weighted_rows(row, w_ih[g], v)
            else:
                _add_weighted_rows(row, w_hh[g], h_prev)
        for j in range(H):
            g_i, g_f, g_g, g_o = a[j], a[H + j], a[2 * H + j], a[3 * H + j]
            c_prev, c_new, tc_new, h_new = cells[t, j], cells[t + 1, j], tanh_cells[t, j], h[j]
            for m in range(M):
                i_g = _sigmoid(g_i[m])
                f_g = _sigmoid(g_f[m])
                c_g = _tanh(g_g[m])
                o_g = _sigmoid(g_o[m])
                g_i[m], g_f[m], g_g[m], g_o[m] = i_g, f_g, c_g, o_g
                c_new[m], tc_new[m], h_new[m] = _cell(i_g, f_g, c_g, o_g, c_prev[m])
        # read-out, error and its gradient at this step
        for d in range(D):
            out = recon[t, d]
            _fill(out, b_out[d])
            _add_weighted_rows(out, w_out[d], h)
            want, grad = targets[t, d], dy[t, d]
            for m in range(M):
                diff = out[m] - want[m]
                total[m] += diff * diff
                grad[m] = scale * diff
        h, h_prev = h_prev, h
    n = T * D
    for m in range(M):
        errors[m] = total[m] / n
    # backward through time
    dh = np.empty(M, dtype=dtype)
    dh_next = np.zeros((H, M), dtype=dtype)  # dLoss/dh from the next step's gates
    dh_new = np.empty((H, M), dtype=dtype)
    dc_next = np.zeros((H, M), dtype=dtype)
    da = np.empty((G, M), dtype=dtype)  # gradients of the gate pre-activations
    for t in range(T - 1, -1, -1):
        a = gates[t]
        for j in range(H):
            dh_j = dh_next[j]
            for m in range(M):
                dh[m] = dh_j[m]
            _add_weighted_rows(dh, w_out_t[j], dy[t])
            g_i, g_f, g_g, g_o = a[j], a[H + j], a[2 * H + j], a[3 * H + j]
            c_prev, tc, dc = cells[t, j], tanh_cells[t, j], dc_next[j]
            d_i, d_f, d_g, d_o = da[j], da[H + j], da[2 * H + j], da[3 * H + j]
            for m in range(M):
                d_i[m], d_f[m], d_g[m], d_o[m], dc[m] = _cell_backward(
                    dh[m], dc[m], g_i[m], g_f[m], g_g[m], g_o[m], c_prev[m], tc[m])
        if t > 0:  # dLoss/dh of the previous step: the recurrent product, transposed
            for k in range(H):
                out = dh_new[k]
                for m in range(M):
                    out[m] = _ZERO
                _add_weighted_rows(out, w_hh_t[k], da)
            dh_next, dh_new = dh_new, dh_next
        else:
            for k in range(K):
                out = dv[k]
                for m in range(M):
                    out[m] = _ZERO
                _add_weighted_rows(out, w_ih_t[k], da)


@njit(cache=True, parallel=True, fastmath=True, error_model="numpy")
def _invert_blocks(w_ih, w_hh_t, bias, w_out, b_out, inputs, targets, recon, errors, dv,
                   block):
    N, E, K = inputs.shape
    T, D = targets.shape[1], targets.shape[2]
    dtype = inputs.dtype
    n_blocks = (N + block - 1) // block
    # the targets, targets innermost, once for all experts: block b, of M targets, is the
    # (T, D, M) array that starts at blocked_targets[first * T * D]
    blocked_targets = np.empty(N * T * D, dtype=dtype)
    for b in prange(n_blocks):
        first = b * block
        M = min(N, first + block) - first
        block_targets = blocked_targets[first * T * D:(first + M) * T * D].reshape((T, D, M))
        for m in range(M):
            target = targets[first + m]
            for t in range(T):
                for d in range(D):
                    block_targets[t, d, m] = target[t, d]
    keep_recon = recon.shape[0] > 0  # an empty array: the reconstructions are not wanted
    for item in prange(E * n_blocks):
        e, b = item % E, item // E
        first = b * block
        M = min(N, first + block) - first
        v = np.empty((K, M), dtype=dtype)
        for m in range(M):
            for k in range(K):
                v[k, m] = inputs[first + m, e, k]
        block_targets = blocked_targets[first * T * D:(first + M) * T * D].reshape((T, D, M))
        block_recon = np.empty((T, D, M), dtype=dtype)
        block_errors = np.empty(M, dtype=dtype)
        grad = np.empty((K, M), dtype=dtype)
        w_hh_e = w_hh_t[e]
        _invert_block(w_ih[e], np.ascontiguousarray(w_ih[e].T), np.ascontiguousarray(w_hh_e.T),
                      w_hh_e, bias[e], w_out[e], np.ascontiguousarray(w_out[e].T), b_out[e],
                      v, block_targets, block_recon, block_errors, grad)
        for m in range(M):
            errors[first + m, e] = block_errors[m]
            for k in range(K):
                dv[first + m, e, k] = grad[k, m]
        if keep_recon:
            for m in range(M):
                out = recon[first + m, e]
                for t in range(T):
                    for d in range(D):
                        out[t, d] = block_recon[t, d, m]


@njit(cache=True, fastmath=True, error_model="numpy")
def _invert_pair_block(w_ih, w_hh_t, bias, w_out, b_out, inputs, targets, recon, errors, dv,
                       first, M):
    """The pairs layout, one block: pairs first .. first + M - 1 (pair p = n * E + e) in M
    lanes, each lane with its own copy of its expert's weights. Past the last pair the
    block is padded with copies of the last one (computed, then dropped)."""
    N, E, K = inputs.shape
    T, D = targets.shape[1], targets.shape[2]
    H = w_hh_t.shape[1]
    G = 4 * H
    dtype = inputs.dtype
    real = min(N * E, first + M) - first
    l_w_ih = np.empty((G, K, M), dtype=dtype)
    l_w_ih_t = np.empty((K, G, M), dtype=dtype)
    l_w_hh = np.empty((G, H, M), dtype=dtype)
    l_w_hh_t = np.empty((H, G, M), dtype=dtype)
    l_bias = np.empty((G, M), dtype=dtype)
    l_w_out = np.empty((D, H, M), dtype=dtype)
    l_w_out_t = np.empty((H, D, M), dtype=dtype)
    l_b_out = np.empty((D, M), dtype=dtype)
    v = np.empty((K, M), dtype=dtype)
    block_targets = np.empty((T, D, M), dtype=dtype)
    for m in range(M):
        p = first + min(m, real - 1)
        n, e = p // E, p % E
        for g in range(G):
            l_bias[g, m] = bias[e, g]
            for k in range(K):
                l_w_ih[g, k, m] = w_ih[e, g, k]
                l_w_ih_t[k, g, m] = w_ih[e, g, k]
        for j in range(H):
            for g in range(G):
                l_w_hh[g, j, m] = w_hh_t[e, j, g]
                l_w_hh_t[j, g, m] = w_hh_t[e, j, g]
        for d in range(D):
            l_b_out[d, m] = b_out[e, d]
            for j in range(H):
                l_w_out[d, j, m] = w_out[e, d, j]
                l_w_out_t[j, d, m] = w_out[e, d, j]
        for k in range(K):
            v[k, m] = inputs[n, e, k]
        target = targets[n]
        for t in range(T):
            for d in range(D):
                block_targets[t, d, m] = target[t, d]
    block_recon = np.empty((T, D, M), dtype=dtype)
    block_errors = np.empty(M, dtype=dtype)
    grad = np.empty((K, M), dtype=dtype)
    _invert_block(l_w_ih, l_w_ih_t, l_w_hh, l_w_hh_t, l_bias, l_w_out, l_w_out_t, l_b_out,
                  v, block_targets, block_recon, block_errors, grad)
    keep_recon = recon.shape[0] > 0  # an empty array: the reconstructions are not wanted
    for m in range(real):
        n, e = (first + m) // E, (first + m) % E
        errors[n, e] = block_errors[m]
        for k in range(K):
            dv[n, e, k] = grad[k, m]
        if keep_recon:
            out = recon[n, e]
            for t in range(T):
                for d in range(D):
                    out[t, d] = block_recon[t, d, m]


@njit(cache=True, parallel=True, fastmath=True, error_model="numpy")
def _invert_pairs(w_ih, w_hh_t, bias, w_out, b_out, inputs, targets, recon, errors, dv,
                  lanes):
    """The pairs layout: blocks of ``lanes`` consecutive (target, expert) pairs in parallel
    threads."""
    n_blocks = (inputs.shape[0] * inputs.shape[1] + lanes - 1) // lanes
    for b in prange(n_blocks):
        _invert_pair_block(w_ih, w_hh_t, bias, w_out, b_out, inputs, targets, recon, errors,
                           dv, b * lanes, lanes)


# Which layout: with few targets, the targets layout's rows are short (one target: every
# loop has length 1, no SIMD, and loop overhead dominates: ~20x slower per target than a
# full block), so below PAIRS_BELOW targets the lanes are (target, expert) pairs instead.
# Measured (znver4, one thread, benchmarks/few_targets.py): a block of 16 to 32 pairs costs
# about the same (loop overhead, not arithmetic, sets its price), so blocks hold up to 32.
PAIRS_BELOW = 16
PAIR_LANES = 32  # most lanes per block in the pairs layout
_LANE_MULTIPLE = 16  # blocks are padded to a multiple of this many lanes (AVX-512: 16 float32)
# Up to this many pairs run as ONE block, without a parallel region: one letter with five
# starts (issue 15: 5 x 20 = 100 pairs) took 520 ms as four blocks of 32 in a parallel
# region and 120 ms as one block of 112 lanes (2-core AMD EPYC znver4 shared with other
# jobs, load ~5; one start: 40 ms): each of the 51 iterations' parallel regions waits for
# a thread the busy machine has descheduled.
ONE_BLOCK_PAIRS = 128


def pair_lanes(n_pairs: int) -> int:
    """Lanes per block of the pairs layout for ``n_pairs`` pairs: one block up to
    ``ONE_BLOCK_PAIRS``, else as few blocks as ``PAIR_LANES`` allows, equal in size; rounded
    up to a multiple of ``_LANE_MULTIPLE`` (the padding lanes are computed and dropped).

    >>> pair_lanes(20), pair_lanes(10), pair_lanes(40), pair_lanes(100), pair_lanes(300)
    (32, 16, 48, 112, 32)
    """
    if n_pairs <= ONE_BLOCK_PAIRS:
        return -(-n_pairs // _LANE_MULTIPLE) * _LANE_MULTIPLE
    n_blocks = -(-n_pairs // PAIR_LANES)
    per_block = -(-n_pairs // n_blocks)
    return -(-per_block // _LANE_MULTIPLE) * _LANE_MULTIPLE


def choose_layout(n_targets: int, n_experts: int) -> str:
    """"pairs" for few targets in several experts, else "targets" (see ``PAIRS_BELOW``)."""
    return "pairs" if n_targets < PAIRS_BELOW and n_experts > 1 else "targets"


def error_and_input_grad(w_ih, w_hh_t, bias, w_out, b_out, inputs, targets, recon, errors, dv,
                         layout="auto"):
    """For every target n and expert e: reconstruction of ``inputs[n, e]`` (written to
    ``recon[n, e]``; pass an array of length 0 when not wanted), its MSE against
    ``targets[n]`` (``errors[n, e]``) and the gradient of that error with respect to the
    input vector (``dv[n, e]``).

    ``layout``: "targets" (blocks of up to ``INVERSION_BLOCK`` targets of one expert in
    SIMD lanes, weights shared), "pairs" ((target, expert) pairs in the lanes, each with its
    expert's weights) or "auto" (``choose_layout``). Both compute the same maths; in float32
    their rounding differs slightly (other sums' order after vectorisation)."""
    N, E = inputs.shape[0], inputs.shape[1]
    if N == 0:
        return
    if layout == "auto":
        layout = choose_layout(N, E)
    if layout not in ("targets", "pairs"):
        raise ValueError(f"layout must be 'auto', 'targets' or 'pairs', got {layout!r}")
    # One call at a time (app sessions share the process): each already fills every core.
    with _INVERSION_LOCK:
        if layout == "pairs":
            lanes = pair_lanes(N * E)
            if lanes >= N * E:  # one block (one drawing): no parallel region, whose idle
                # threads would only wait (OpenMP's waiting threads spin, taking a core)
                _invert_pair_block(w_ih, w_hh_t, bias, w_out, b_out, inputs, targets, recon,
                                   errors, dv, 0, lanes)
            else:
                _invert_pairs(w_ih, w_hh_t, bias, w_out, b_out, inputs, targets, recon,
                              errors, dv, lanes)
        else:
            _invert_blocks(w_ih, w_hh_t, bias, w_out, b_out, inputs, targets, recon, errors,
                           dv, min(N, INVERSION_BLOCK))


_INVERSION_LOCK = threading.Lock()


@njit(cache=True, parallel=True, fastmath=True)
def loss_and_weight_grads(w_ih, w_hh_t, bias, w_out, b_out, inputs, targets,
                          d_w_ih, d_w_hh_t, d_bias, d_w_out, d_b_out):
    """Training pass. ``inputs`` (E, B, K) and ``targets`` (E, B, T, D): expert e learns its
    own B sequences. Returns the per-expert loss (E,), the MSE averaged over its B sequences,
    and overwrites the gradient arrays (same shapes as the weights) with its gradient."""
    E, B, K = inputs.shape
    H = w_hh_t.shape[1]
    n_steps, D = targets.shape[2], targets.shape[3]
    losses = np.zeros(E, dtype=inputs.dtype)
    for e in prange(E):  # one expert per thread: its gradient buffers are its own
        d_w_ih[e] = 0.0
        d_w_hh_t[e] = 0.0
        d_bias[e] = 0.0
        d_w_out[e] = 0.0
        d_b_out[e] = 0.0
        grads = (d_w_ih[e], d_w_hh_t[e], d_bias[e], d_w_out[e], d_b_out[e])
        gates = np.empty((n_steps, 4 * H), dtype=inputs.dtype)
        cells = np.empty((2, n_steps, H), dtype=inputs.dtype)
        y = np.empty((n_steps, D), dtype=inputs.dtype)
        dy = np.empty((n_steps, D), dtype=inputs.dtype)
        dv = np.empty(K, dtype=inputs.dtype)
        for b in range(B):
            _forward(w_ih[e], w_hh_t[e], bias[e], w_out[e], b_out[e], inputs[e, b], n_steps,
                     gates, cells, y)
            losses[e] += _mse_and_grad(y, targets[e, b], dy) / B
            for t in range(n_steps):
                for d in range(D):
                    dy[t, d] /= B
            _backward(w_ih[e], w_hh_t[e], w_out[e], inputs[e, b], gates, cells, dy, dv, grads,
                      True)
    return losses
