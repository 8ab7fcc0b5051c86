"""The numpy teaching engine: convolution, pooling, padding, output sizes, activations and step records.

numpy only (no torch, no streamlit, no plotly); floats are float64. PyTorch is the oracle in the tests.
Modules: ``padding`` (pads, output size), ``conv`` (direct, im2col, GEMM), ``pool``, ``steps`` (one record
per output cell), ``activations``.
"""

from playground.ops._common import OpError, format_number, format_operand
from playground.ops.activations import ACTIVATION_FORMULAS, ACTIVATION_LABELS, ACTIVATIONS, LEAKY_SLOPE, activate
from playground.ops.conv import (
    ConvSettings,
    Im2colComparison,
    check_conv_inputs,
    conv2d,
    conv2d_gemm,
    conv_output_formulas,
    conv_output_shape,
    im2col,
    im2col_comparison,
)
from playground.ops.padding import (
    MAX_CELLS,
    MAX_PADDING,
    MAX_STEPS,
    PADDING_MODES,
    Pads,
    check_work,
    effective_kernel_size,
    output_size,
    output_size_formula,
    pad,
    resolve_padding,
    same_padding_note,
)
from playground.ops.pool import (
    POOL_KINDS,
    PoolSettings,
    ShiftComparison,
    global_avg_pool,
    pool2d,
    pool_output_formulas,
    pool_output_shape,
    pooled_overlap,
    shift_comparison,
    shift_image,
)
from playground.ops.steps import ConvStep, PoolStep, conv_output_from_steps, conv_steps, pool_steps

__all__ = [
    "ShiftComparison",
    "shift_comparison",
    "Im2colComparison",
    "im2col_comparison",
    "ACTIVATIONS",
    "ACTIVATION_FORMULAS",
    "ACTIVATION_LABELS",
    "LEAKY_SLOPE",
    "MAX_CELLS",
    "MAX_PADDING",
    "MAX_STEPS",
    "PADDING_MODES",
    "POOL_KINDS",
    "ConvSettings",
    "check_work",
    "ConvStep",
    "OpError",
    "Pads",
    "PoolSettings",
    "PoolStep",
    "activate",
    "check_conv_inputs",
    "conv2d",
    "conv2d_gemm",
    "conv_output_formulas",
    "conv_output_from_steps",
    "conv_output_shape",
    "conv_steps",
    "effective_kernel_size",
    "format_number",
    "format_operand",
    "global_avg_pool",
    "im2col",
    "output_size",
    "output_size_formula",
    "pad",
    "pool2d",
    "pool_output_formulas",
    "pool_output_shape",
    "pool_steps",
    "pooled_overlap",
    "resolve_padding",
    "same_padding_note",
    "shift_image",
]
