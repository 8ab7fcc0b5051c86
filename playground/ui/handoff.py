"""Open one feature map's convolution on the Convolution page: the Draw & Predict page hands over the
input channel, the kernel, the bias, and the layer's exact padding per side, stride and dilation; the
Convolution page's input and kernel choosers then offer it as "From Draw & Predict" and its settings are
set to match the network's layer. A layer reading three channels (a colour network's first convolution)
opens in the several-channels view with all three input channels, the filter's three kernels and its bias.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from playground.ui import state

if TYPE_CHECKING:  # the Convolution page must not pull torch in just to read the hand-over
    from playground.nn.insight import ConvHandoff

PAGE = "conv"
FROM_DRAW = "From Draw & Predict"


def held() -> ConvHandoff | None:
    """What the Draw page handed over in this session, if anything."""
    return state.get(PAGE, "handoff", None)


def preload(h: ConvHandoff) -> None:
    """Store ``h`` and set the Convolution page's widgets so its output equals the network's map.
    Call from a callback or before switching page (the Convolution widgets are not on screen then)."""
    state.put(PAGE, "handoff", h)
    top, bottom, left, right = h.padding
    for name, value in (
        ("source", FROM_DRAW),
        ("kernel", FROM_DRAW),
        ("stride_rows", h.stride[0]),
        ("stride_cols", h.stride[1]),
        ("padding_kind", "per side"),
        ("pad_top", top),
        ("pad_bottom", bottom),
        ("pad_left", left),
        ("pad_right", right),
        ("padding_mode", "zeros"),
        ("dilation", h.dilation[0]),
        ("bias", h.bias),
        ("flip", False),
        ("activation", "none"),
        ("view", "Step by step" if h.channels is None else "Several channels"),
        ("step", 0),
    ):
        state.put(PAGE, name, value)
