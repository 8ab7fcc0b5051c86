"""`python -m playground grad conv|pool`: gradients from the numpy engine's backward pass, for scripts and slides.

Same conventions as ``conv`` and ``pool`` (playground.cli.ops): the same input options, one "error: ..."
line and exit status 2 on bad input. numpy only.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from playground.cli.ops import (
    MAX_INPUT_SIZE,
    CliInputError,
    _emit,
    _emit_json,
    _fail,
    _json_value,
    _jsonable,
    _load_input,
    _load_kernel,
    _matrix_text,
    _one_line_errors,
    add_conv_options,
    add_pool_options,
    conv_settings,
    pool_settings,
)
from playground.errors import PlaygroundError
from playground.ops import conv_output_shape, format_number, pool_output_shape
from playground.ops.backward import conv2d_backward, pool2d_backward
from playground.ops.kernels import MAX_CHANNELS, parse_channels

GRAD_HELP = "JSON dL/d(output): the forward output's shape, 2-D (rows, columns) or 3-D (filters or channels first)"


def add_grad_commands(subparsers: Any) -> None:
    """Register ``grad`` with its two sub-commands, ``grad conv`` and ``grad pool``."""
    grad = subparsers.add_parser(
        "grad",
        help="backpropagate an output gradient through a convolution or a pooling layer",
        description="The backward pass of one layer: dL/d(input) (and dL/d(kernel), dL/d(bias)) from dL/d(output).",
    )
    _one_line_errors(grad)
    kinds = grad.add_subparsers(dest="layer", required=True, metavar="LAYER")

    conv = kinds.add_parser("conv", help="gradients of a convolution", description="dL/dx, dL/dW and dL/db.")
    add_conv_options(conv)
    conv.add_argument("--grad-output", required=True, help=GRAD_HELP)
    conv.add_argument("--json", action="store_true", help="print JSON {grad_input, grad_kernel, grad_bias}")
    conv.set_defaults(func=run_grad_conv)
    _one_line_errors(conv)

    pool = kinds.add_parser("pool", help="gradient of a pooling layer", description="dL/dx of max or average pooling.")
    add_pool_options(pool)
    pool.add_argument("--grad-output", required=True, help=GRAD_HELP)
    pool.add_argument("--json", action="store_true", help="print JSON {grad_input}")
    pool.set_defaults(func=run_grad_pool)
    _one_line_errors(pool)


def run_grad_conv(args: argparse.Namespace) -> int:
    """``grad conv``: 0 after printing dL/dx, dL/dW and dL/db; 2 after one error line."""
    try:
        x = _load_input(args.input)  # (C, H, W)
        w, kernel_ndim = _load_kernel(args.kernel)  # (F, C, KH, KW)
        settings = conv_settings(args)
        if x.shape[0] != w.shape[1]:
            raise CliInputError(
                f"--input has {x.shape[0]} channel(s) but --kernel has {w.shape[1]}; give the kernel {x.shape[0]}."
            )
        oh, ow = conv_output_shape(x.shape[1:], w.shape[2:], settings)
        g = _load_grad(args.grad_output, (w.shape[0], oh, ow), "filter")
        grads = conv2d_backward(x[None], w, g[None], settings)
    except PlaygroundError as e:
        return _fail(e)
    grad_input = grads.grad_input[0]
    grad_input = grad_input[0] if x.shape[0] == 1 else grad_input  # like `conv`: one channel prints 2-D
    grad_kernel = {2: grads.grad_kernel[0, 0], 3: grads.grad_kernel[0], 4: grads.grad_kernel}[kernel_ndim]
    if args.json:
        _emit_json(
            {
                "grad_input": _jsonable(grad_input),
                "grad_kernel": _jsonable(grad_kernel),
                "grad_bias": _jsonable(grads.grad_bias),
            }
        )
        return 0
    _emit(
        "\n".join(
            [_block("dL/d(input)", grad_input), "", _block("dL/d(kernel)", grad_kernel), ""]
            + ["dL/d(bias): " + ", ".join(format_number(b) for b in grads.grad_bias)]
        )
    )
    return 0


def run_grad_pool(args: argparse.Namespace) -> int:
    """``grad pool``: 0 after printing dL/dx; 2 after one error line."""
    try:
        x = _load_input(args.input)  # (C, H, W)
        settings = pool_settings(args)
        oh, ow = pool_output_shape(x.shape[1:], settings)
        g = _load_grad(args.grad_output, (x.shape[0], oh, ow), "channel")
        grad_input = pool2d_backward(x[None], g[None], settings)[0]
    except PlaygroundError as e:
        return _fail(e)
    grad_input = grad_input[0] if x.shape[0] == 1 else grad_input  # like `conv`: one channel prints 2-D
    if args.json:
        _emit_json({"grad_input": _jsonable(grad_input)})
    else:
        _emit(_block("dL/d(input)", grad_input))
    return 0


def _load_grad(text: str, shape: tuple[int, int, int], per: str) -> np.ndarray:
    """--grad-output as (F or C, OH, OW): a 2-D matrix is accepted when there is one filter or channel."""
    g = parse_channels(
        _json_value(text, "--grad-output"), max_size=MAX_INPUT_SIZE, what="output gradient", max_channels=MAX_CHANNELS
    )
    if g.shape != shape:
        count, oh, ow = shape
        need = f"{oh}×{ow}" if count == 1 else f"{count} {per}s of {oh}×{ow} (a 3-D list)"
        got = "×".join(str(s) for s in (g.shape[1:] if g.shape[0] == 1 else g.shape))
        raise CliInputError(f"--grad-output must match the forward output: {need}; got {got}.", "--grad-output")
    return g


def _block(title: str, a: np.ndarray) -> str:
    """A titled matrix, or one titled matrix per channel/filter."""
    if a.ndim == 2:
        return f"{title} ({a.shape[0]}×{a.shape[1]}):\n{_matrix_text(a)}"
    flat = a.reshape(-1, *a.shape[-2:])
    return "\n\n".join(_block(f"{title} [{i}]", m) for i, m in enumerate(flat))
