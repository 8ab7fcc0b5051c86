"""Hypothesis strategies for convolution and pooling settings, shared by the forward and backward tests."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import strategies as st

from playground.ops import ConvSettings, PoolSettings

TOL = dict(rtol=1e-9, atol=1e-9)
TORCH_MODE = {"zeros": "constant", "reflect": "reflect", "replicate": "replicate"}


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.array(a, dtype=np.float64, order="C"))  # a fresh copy: no negative strides


@st.composite
def conv_cases(draw):
    n, c, f = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    h, w = draw(st.integers(1, 10)), draw(st.integers(1, 10))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    dilations = st.sampled_from([1, 1, 2, 3])
    dilation = (draw(dilations), draw(dilations))
    kind = draw(st.sampled_from(["int", "pair", "sides", "valid", "same"]))
    stride = (1, 1) if kind == "same" else (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    small = st.integers(0, 3)
    padding = {
        "int": draw(small),
        "pair": (draw(small), draw(small)),
        "valid": "valid",
        "same": "same",
        "sides": (draw(small), draw(small), draw(small), draw(small)),
    }[kind]
    return dict(
        shape_x=(n, c, h, w),
        shape_w=(f, c, kh, kw),
        bias=draw(st.booleans()),
        integers=draw(st.booleans()),
        seed=draw(st.integers(0, 2**32 - 1)),
        settings=ConvSettings(
            stride, padding, draw(st.sampled_from(["zeros", "reflect", "replicate"])), dilation, draw(st.booleans())
        ),
    )


def _values(rng: np.random.Generator, shape, integers: bool) -> np.ndarray:
    return rng.integers(-3, 4, shape).astype(np.float64) if integers else rng.normal(size=shape)


@st.composite
def pool_cases(draw):
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride = draw(st.one_of(st.none(), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    return dict(
        shape=(draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 8)), draw(st.integers(1, 8))),
        integers=draw(st.booleans()),
        seed=draw(st.integers(0, 2**32 - 1)),
        settings=PoolSettings(
            draw(st.sampled_from(["max", "avg"])),
            (kh, kw),
            stride,
            (draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))),
            draw(st.booleans()),
        ),
    )
