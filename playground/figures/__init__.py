"""Plotly figure builders: engine arrays and step records in, ``go.Figure`` out.

No streamlit, no torch, no arithmetic of the convolution itself: ``common`` (colours, sizes,
number labels), ``canvas`` (a figure under construction, its panels), ``shapes`` (outlines), ``conv`` (input ∗ kernel = output at a step; activation curve), ``player`` (the data the
Play view's in-browser player paints), ``channels``
(several channels / filters, im2col GEMM), ``pool`` (pooling steps, shift comparison).
"""

from playground.figures.channels import channels_figure, filter_stack_figure, im2col_figure
from playground.figures.conv import (
    activation_figure,
    conv_step_figure,
    feature_map_figure,
)
from playground.figures.player import conv_player_data, pool_player_data
from playground.figures.pool import pool_step_figure, shift_figure

__all__ = [
    "activation_figure",
    "channels_figure",
    "conv_player_data",
    "conv_step_figure",
    "feature_map_figure",
    "filter_stack_figure",
    "im2col_figure",
    "pool_player_data",
    "pool_step_figure",
    "shift_figure",
]
