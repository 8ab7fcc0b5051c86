"""Backward steps as data: one record per gradient cell, with the arithmetic that made it, so the
Backpropagation page can step through the backward pass the way the Convolution page steps forward.

Names follow the page: x the input, z1 the convolution's output, a1 after the activation, p1 after
pooling, f flattened, z2 the logits, p the softmax; a gradient dL/dv is written dv (dz1, dW1, ...).
Every record's ``result`` equals the matching cell of the engine's own gradient (tested).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from playground.ops._common import OpError, as_pair, format_number, format_operand
from playground.ops.activations import LEAKY_SLOPE, sigmoid
from playground.ops.conv import ConvSettings
from playground.ops.pool import PoolSettings

MAX_SHOWN_TERMS = 4  # a longer sum is written "a + b + c + … + z" in symbols (every number is still listed)

Cell = tuple[int, ...]


@dataclass(frozen=True, eq=False)
class BackStep:
    """One gradient cell: which array and cell it writes, the cells it reads, and its arithmetic."""

    index: int  # position in the stage's list, 0-based
    target: str  # the gradient array written ("dW1", "dx", ...)
    cell: Cell  # the cell of ``target`` this step computes (pooling: the cell of dp1 it routes)
    formula: str  # in symbols: "dW1[0,1,2] = x[1,2]·dz1[0,0,0] + x[1,3]·dz1[0,0,1] + … "
    numbers: str  # with the values: "= 0.5×0.1 + 0.2×(−0.3) + … = 0.42"
    result: float
    reads: dict[str, tuple[Cell, ...]]  # the cells of each named array this step used
    writes: tuple[Cell, ...] = ()  # pooling: the cells of dx that receive the gradient

    def arithmetic(self) -> str:
        return f"{self.formula} {self.numbers}"


def _name(array: str, cell: Cell) -> str:
    return f"{array}[{','.join(str(int(i)) for i in cell)}]"


def _dot(index: int, target: str, cell: Cell, pairs: list[tuple[str, Cell, float, str, Cell, float]]) -> BackStep:
    """target[cell] = Σ a·b over ``pairs`` of (name a, cell a, value a, name b, cell b, value b)."""
    total = float(sum(va * vb for _, _, va, _, _, vb in pairs))
    symbols = [f"{_name(na, ca)}·{_name(nb, cb)}" for na, ca, _, nb, cb, _ in pairs]
    values = [f"{format_operand(va)}×{format_operand(vb)}" for _, _, va, _, _, vb in pairs]
    reads: dict[str, list[Cell]] = {}
    for na, ca, _, nb, cb, _ in pairs:
        reads.setdefault(na, []).append(ca)
        reads.setdefault(nb, []).append(cb)
    return BackStep(
        index,
        target,
        cell,
        f"{_name(target, cell)} = {_shorten(symbols)}"
        if symbols
        else f"{_name(target, cell)}: no window covers this cell",
        f"= {' + '.join(values)} = {format_number(total)}" if values else "= 0",
        total,
        {k: tuple(v) for k, v in reads.items()},
    )


def _shorten(terms: list[str]) -> str:
    if len(terms) <= MAX_SHOWN_TERMS:
        return " + ".join(terms)
    return " + ".join(terms[: MAX_SHOWN_TERMS - 1]) + " + … + " + terms[-1]


# ---------------------------------------------------------------- the loss


def loss_grad_steps(probs: np.ndarray, label: int, loss: str) -> list[BackStep]:
    """dz2[k] for each class of one image: p[k] − t[k] (cross-entropy), or the softmax Jacobian applied to
    the MSE's dL/dp[k] = 2(p[k] − t[k])/K (mean squared error)."""
    k_classes = probs.shape[0]
    t = np.zeros(k_classes)
    t[label] = 1.0
    steps = []
    if loss == "cross_entropy":
        for k in range(k_classes):
            result = float(probs[k] - t[k])
            steps.append(
                BackStep(
                    k,
                    "dz2",
                    (k,),
                    f"dz2[{k}] = p[{k}] − t[{k}]",
                    f"= {format_number(probs[k])} − {format_number(t[k])} = {format_number(result)}",
                    result,
                    {"p": ((k,),), "t": ((k,),)},
                )
            )
        return steps
    dp = 2.0 * (probs - t) / k_classes
    inner = float((dp * probs).sum())
    for k in range(k_classes):
        result = float(probs[k] * (dp[k] - inner))
        steps.append(
            BackStep(
                k,
                "dz2",
                (k,),
                f"dz2[{k}] = p[{k}]·(dp[{k}] − Σⱼ p[j]·dp[j]),  dp[{k}] = 2·(p[{k}] − t[{k}])/{k_classes}",
                f"= {format_operand(probs[k])}×({format_operand(dp[k])} − {format_operand(inner)}) = {format_number(result)}",
                result,
                {"p": tuple((j,) for j in range(k_classes)), "t": ((k,),)},
            )
        )
    return steps


# ---------------------------------------------------------------- the dense layer


def dense_grad_steps(x: np.ndarray, w: np.ndarray, g: np.ndarray) -> dict[str, list[BackStep]]:
    """For y = W·x + b of one image (x (D,), W (K, D), g = dL/dy (K,)): dW2 = g·xᵀ cell by cell, db2 = g,
    and df = Wᵀ·g (the gradient that flows back into the flattened features)."""
    k_out, d_in = w.shape
    dw = [
        _dot(k * d_in + d, "dW2", (k, d), [("dz2", (k,), float(g[k]), "f", (d,), float(x[d]))])
        for k in range(k_out)
        for d in range(d_in)
    ]
    db = [
        BackStep(k, "db2", (k,), f"db2[{k}] = dz2[{k}]", f"= {format_number(g[k])}", float(g[k]), {"dz2": ((k,),)})
        for k in range(k_out)
    ]
    df = [
        _dot(d, "df", (d,), [("W2", (k, d), float(w[k, d]), "dz2", (k,), float(g[k])) for k in range(k_out)])
        for d in range(d_in)
    ]
    return {"dW2": dw, "db2": db, "df": df}


# ---------------------------------------------------------------- pooling and the activation


def pool_grad_steps(x: np.ndarray, g: np.ndarray, settings: PoolSettings) -> list[BackStep]:
    """One record per cell of dp1 (C, OH, OW) of pooling x (C, H, W): max pooling sends it to the window's
    winner (the first maximum in row-major order); average pooling gives each counted cell g/divisor."""
    (kh, kw), (sh, sw), (ph, pw) = settings.resolved()
    c_n, h, w = x.shape
    steps = []
    for c in range(c_n):
        for i in range(g.shape[1]):
            for j in range(g.shape[2]):
                window = [
                    (c, r, s)
                    for r in range(i * sh - ph, i * sh - ph + kh)
                    for s in range(j * sw - pw, j * sw - pw + kw)
                    if 0 <= r < h and 0 <= s < w
                ]
                value = float(g[c, i, j])
                src = _name("dp1", (c, i, j))
                if settings.kind == "max":
                    winner = max(window, key=lambda cell: (x[cell], -window.index(cell)))  # first maximum
                    others = ", ".join(format_number(x[cell]) for cell in window if cell != winner)
                    beaten = f" (beats {others})" if others else ""
                    formula = f"{src} goes to {_name('a1', winner)} = {format_number(x[winner])}, the window's maximum{beaten}"
                    numbers = f"→ {_name('da1', winner)} += {format_number(value)}; the other cells get 0"
                    writes, result = (winner,), value
                else:
                    divisor = kh * kw if settings.count_include_pad else len(window)
                    result = value / divisor
                    formula = f"{src} is shared by the {len(window)} cells of its window: {src} / {divisor}"
                    numbers = f"= {format_number(value)} / {divisor} = {format_number(result)} each"
                    writes = tuple(window)
                steps.append(
                    BackStep(
                        len(steps),
                        "da1",
                        (c, i, j),
                        formula,
                        numbers,
                        result,
                        {"a1": tuple(window), "dp1": ((c, i, j),)},
                        writes,
                    )
                )
    return steps


def activation_grad_steps(z: np.ndarray, g: np.ndarray, name: str) -> list[BackStep]:
    """dz1 = da1 · f′(z1) cell by cell: ReLU passes the gradient where z1 > 0 and stops it elsewhere."""
    steps = []
    for cell in np.ndindex(*z.shape):
        v, gv = float(z[cell]), float(g[cell])
        zn, gn, target = _name("z1", cell), _name("da1", cell), _name("dz1", cell)
        if name == "relu":
            result = gv if v > 0 else 0.0
            rule = f"{zn} = {format_number(v)} {'> 0: the gradient passes' if v > 0 else '≤ 0: the gradient stops'}"
            formula, numbers = f"{target} = {gn if v > 0 else '0'}   ({rule})", f"= {format_number(result)}"
        elif name == "leaky_relu":
            result = gv if v > 0 else LEAKY_SLOPE * gv
            formula = f"{target} = {gn if v > 0 else '0.01·' + gn}   ({zn} = {format_number(v)})"
            numbers = f"= {format_number(result)}"
        elif name == "sigmoid":
            s = float(sigmoid(np.array(v)))
            result = gv * s * (1 - s)
            formula = f"{target} = {gn}·σ({zn})·(1 − σ({zn}))"
            numbers = f"= {format_operand(gv)}×{format_operand(s)}×{format_operand(1 - s)} = {format_number(result)}"
        elif name == "tanh":
            t = float(np.tanh(v))
            result = gv * (1 - t * t)
            formula = f"{target} = {gn}·(1 − tanh²({zn}))"
            numbers = f"= {format_operand(gv)}×(1 − {format_operand(t)}²) = {format_number(result)}"
        else:
            result, formula, numbers = gv, f"{target} = {gn}", f"= {format_number(gv)}"
        steps.append(BackStep(len(steps), "dz1", cell, formula, numbers, result, {"z1": (cell,), "da1": (cell,)}))
    return steps


# ---------------------------------------------------------------- the convolution


def _conv_geometry(settings: ConvSettings) -> tuple[tuple[int, int], tuple[int, int]]:
    if settings.flip or settings.padding_mode != "zeros":
        raise OpError("The backward steps are written for cross-correlation with zero padding.")
    return as_pair(settings.stride, "Stride"), as_pair(settings.dilation, "Dilation")


def conv_weight_grad_steps(xp: np.ndarray, g: np.ndarray, settings: ConvSettings, kernel_hw: tuple[int, int]):
    """dW1[f,c,r,s] = Σᵢⱼ xp[c, i·sh + r·dh, j·sw + s·dw]·dz1[f,i,j]: the (padded) input cross-correlated
    with the output's gradient. xp (C, Hp, Wp), g (F, OH, OW); named x when there is no padding."""
    (sh, sw), (dh, dw) = _conv_geometry(settings)
    x_name = "xp" if any(settings.pads(kernel_hw)) else "x"
    kh, kw = kernel_hw
    f_n, oh, ow = g.shape
    steps = []
    for f in range(f_n):
        for c in range(xp.shape[0]):
            for r in range(kh):
                for s in range(kw):
                    pairs = [
                        (x_name, (i * sh + r * dh, j * sw + s * dw), float(xp[c, i * sh + r * dh, j * sw + s * dw]))
                        + ("dz1", (f, i, j), float(g[f, i, j]))
                        for i in range(oh)
                        for j in range(ow)
                    ]
                    if xp.shape[0] > 1:
                        pairs = [(a, (c, *ca), va, b, cb, vb) for a, ca, va, b, cb, vb in pairs]
                    cell = (f, c, r, s) if xp.shape[0] > 1 else (f, r, s)
                    steps.append(_dot(len(steps), "dW1", cell, pairs))
    return steps


def conv_bias_grad_steps(g: np.ndarray) -> list[BackStep]:
    """db1[f] = Σᵢⱼ dz1[f,i,j]: every output cell of a filter adds its bias once."""
    steps = []
    for f in range(g.shape[0]):
        cells = [(f, i, j) for i in range(g.shape[1]) for j in range(g.shape[2])]
        total = float(g[f].sum())
        steps.append(
            BackStep(
                f,
                "db1",
                (f,),
                f"db1[{f}] = {_shorten([_name('dz1', c) for c in cells])}",
                f"= {' + '.join(format_operand(g[c]) for c in cells)} = {format_number(total)}",
                total,
                {"dz1": tuple(cells)},
            )
        )
    return steps


def conv_input_grad_steps(w: np.ndarray, g: np.ndarray, settings: ConvSettings, input_hw: tuple[int, int]):
    """dx[c,a,b] = Σ dz1[f,i,j]·W1[f,c,r,s] over every output cell whose window covered the pixel: with
    stride 1 this is the full convolution of dz1 with the kernel rotated by 180°. w (F, C, KH, KW)."""
    (sh, sw), (dh, dw) = _conv_geometry(settings)
    f_n, c_n, kh, kw = w.shape
    top, _, left, _ = settings.pads((kh, kw))
    steps = []
    for c in range(c_n):
        for a in range(input_hw[0]):
            for b in range(input_hw[1]):
                pairs = []
                for f in range(f_n):
                    for r in range(kh):
                        i, rem_i = divmod(a + top - r * dh, sh)
                        if rem_i or not 0 <= i < g.shape[1]:
                            continue
                        for s in range(kw):
                            j, rem_j = divmod(b + left - s * dw, sw)
                            if rem_j or not 0 <= j < g.shape[2]:
                                continue
                            wc = (f, c, r, s) if c_n > 1 else (f, r, s)
                            pairs.append(("dz1", (f, i, j), float(g[f, i, j]), "W1", wc, float(w[f, c, r, s])))
                cell = (c, a, b) if c_n > 1 else (a, b)
                steps.append(_dot(len(steps), "dx", cell, pairs))
    return steps


# ---------------------------------------------------------------- the update


def update_steps(name: str, before: np.ndarray, grad: np.ndarray, lr: float, after: np.ndarray) -> list[BackStep]:
    """θ ← θ − α·∇θ for every cell of one parameter array."""
    steps = []
    for cell in np.ndindex(*before.shape):
        steps.append(
            BackStep(
                len(steps),
                name,
                cell,
                f"{_name(name, cell)} ← {_name(name, cell)} − α·d{_name(name, cell)}",
                f"= {format_number(before[cell])} − {format_number(lr)}×{format_operand(grad[cell])} = {format_number(after[cell])}",
                float(after[cell]),
                {f"d{name}": (cell,)},
            )
        )
    return steps
