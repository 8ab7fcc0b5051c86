"""`python -m playground conv|pool`: the numpy teaching engine from the command line, for scripts and slides.

Bad input prints one line, "error: ...", on stderr and exits with status 2; never a traceback.
numpy only: these commands must not import torch.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from playground.errors import PlaygroundError
from playground.ops import (
    ConvSettings,
    PoolSettings,
    conv2d,
    conv_output_formulas,
    conv_steps,
    format_number,
    pad,
    pool2d,
    pool_steps,
)
from playground.ops.kernels import MAX_ABS_VALUE, MAX_CHANNELS, MAX_KERNEL, parse_channels
from playground.untrusted import load_json

MAX_INPUT_SIZE = 128  # rows or columns of --input
INPUT_HELP = "JSON matrix [[1,2],[3,4]] or channels-first list [[[...]], ...]"
EXIT_USAGE = 2


class CliInputError(PlaygroundError):
    """A command-line value that cannot be read; str(e) is one sentence naming the option."""


# ---------------------------------------------------------------- parsers


def add_ops_commands(subparsers: Any) -> None:
    """Register the ``conv`` and ``pool`` sub-commands; each sets ``func(args) -> exit code``."""
    conv = subparsers.add_parser(
        "conv",
        help="convolve a matrix with a kernel and print the output (and every step)",
        description="2-D convolution (cross-correlation unless --flip) of one image by one or more filters.",
    )
    add_conv_options(conv)
    conv.add_argument("--bias", default="0", help="B, or one value per filter separated by commas (default 0)")
    conv.add_argument("--steps", action="store_true", help="also give the arithmetic of every output cell")
    conv.add_argument("--json", action="store_true", help="print JSON {output, output_shape[, steps]}")
    conv.add_argument(
        "--gif", default=None, metavar="PATH", help="also write an animated GIF of the stepping (1280 px wide)"
    )
    conv.add_argument("--fps", type=float, default=5.0, help="GIF frames a second (default 5)")
    conv.add_argument("--cells", default=None, metavar="FROM-TO", help="GIF: only output cells FROM..TO (1-based)")
    conv.set_defaults(func=run_conv)
    _one_line_errors(conv)

    pool = subparsers.add_parser(
        "pool",
        help="max- or average-pool a matrix and print the output (and every step)",
        description="2-D pooling of each channel of one image.",
    )
    add_pool_options(pool)
    pool.add_argument("--steps", action="store_true", help="also give the arithmetic of every output cell")
    pool.add_argument("--json", action="store_true", help="print JSON {output, output_shape[, steps]}")
    pool.add_argument(
        "--gif", default=None, metavar="PATH", help="also write an animated GIF of the stepping (1280 px wide)"
    )
    pool.add_argument("--fps", type=float, default=5.0, help="GIF frames a second (default 5)")
    pool.add_argument("--cells", default=None, metavar="FROM-TO", help="GIF: only output cells FROM..TO (1-based)")
    pool.set_defaults(func=run_pool)
    _one_line_errors(pool)


def add_conv_options(parser: argparse.ArgumentParser) -> None:
    """The options that describe one convolution: --input, --kernel and how the kernel slides."""
    parser.add_argument("--input", required=True, help=INPUT_HELP)
    parser.add_argument(
        "--kernel", required=True, help="JSON kernel: 2-D, 3-D (one filter over C channels) or 4-D (filters)"
    )
    parser.add_argument("--stride", default="1", help="S or SH,SW (default 1)")
    parser.add_argument("--padding", default="0", help="P, PH,PW, T,B,L,R, 'valid' or 'same' (default 0)")
    parser.add_argument("--padding-mode", default="zeros", help="zeros, reflect or replicate (default zeros)")
    parser.add_argument("--dilation", default="1", help="D or DH,DW (default 1)")
    parser.add_argument("--flip", action="store_true", help="true convolution: rotate the kernel by 180° first")


def add_pool_options(parser: argparse.ArgumentParser) -> None:
    """The options that describe one pooling layer: --input and its window."""
    parser.add_argument("--input", required=True, help=INPUT_HELP)
    parser.add_argument("--size", required=True, help="window K or KH,KW")
    parser.add_argument("--stride", default=None, help="S or SH,SW (default: the window size)")
    parser.add_argument("--padding", default="0", help="P or PH,PW, at most half the window (default 0)")
    parser.add_argument("--mode", default="max", help="max or avg (default max)")
    parser.add_argument(
        "--exclude-pad", action="store_true", help="avg: divide by the real pixels only (count_include_pad=False)"
    )


def conv_settings(args: argparse.Namespace) -> ConvSettings:
    """The ConvSettings the options of :func:`add_conv_options` ask for (checked when used)."""
    return ConvSettings(
        stride=_ints(args.stride, "--stride"),
        padding=_padding(args.padding),
        padding_mode=args.padding_mode.strip().lower(),
        dilation=_ints(args.dilation, "--dilation"),
        flip=args.flip,
    )


def pool_settings(args: argparse.Namespace) -> PoolSettings:
    """The PoolSettings the options of :func:`add_pool_options` ask for."""
    return PoolSettings(
        kind=args.mode.strip().lower(),
        size=_ints(args.size, "--size"),
        stride=None if args.stride is None else _ints(args.stride, "--stride"),
        padding=_ints(args.padding, "--padding"),
        count_include_pad=not args.exclude_pad,
    )


def _one_line_errors(parser: argparse.ArgumentParser) -> None:
    """Make argparse report a usage mistake as one "error: ..." line and exit 2 (instead of usage + message)."""

    def error(message: str) -> NoReturn:
        print(f"error: {message} (see: python -m playground {parser.prog.split()[-1]} --help)", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)

    parser.error = error  # type: ignore[method-assign]


# ---------------------------------------------------------------- commands


def run_conv(args: argparse.Namespace) -> int:
    """The ``conv`` command: 0 after printing the output, 2 after printing one error line."""
    try:
        x = _load_input(args.input)
        w, kernel_ndim = _load_kernel(args.kernel)
        bias = _bias(args.bias, w.shape[0])
        settings = conv_settings(args)
        out = conv2d(x[None], w, bias, settings)[0]  # (F, OH, OW)
        steps = [conv_steps(x, w[f], bias[f], settings) for f in range(w.shape[0])] if args.steps else []
        if args.gif:
            _write_gif(args, _conv_gif_data(x, w, float(bias[0]), settings, out[0]))
    except PlaygroundError as e:
        return _fail(e)
    single = kernel_ndim < 4
    output = out[0] if single else out
    if args.json:
        doc: dict[str, Any] = {"output": _jsonable(output), "output_shape": list(output.shape)}
        if args.steps:
            doc["steps"] = [
                _conv_step_json(s, two_d=x.shape[0] == 1, f=None if single else f)
                for f, run in enumerate(steps)
                for s in run
            ]
        _emit_json(doc)
        return 0
    lines = []
    rows, columns = conv_output_formulas(x.shape[1:], w.shape[2:], settings)
    lines += ["output rows:    " + rows, "output columns: " + columns]
    for f in range(out.shape[0]):
        name = "output" if single else f"output of filter {f + 1}"
        lines += ["", f"{name} ({out.shape[1]}×{out.shape[2]}):", _matrix_text(out[f])]
        for s in steps[f] if steps else []:
            lines.append(f"out[{s.out_pos[0]}, {s.out_pos[1]}] = {s.arithmetic()}")
            if s.window.shape[0] > 1:
                lines += [f"    channel {c + 1}: {s.channel_arithmetic(c)}" for c in range(s.window.shape[0])]
    _emit("\n".join(lines))
    return 0


def run_pool(args: argparse.Namespace) -> int:
    """The ``pool`` command: 0 after printing the output, 2 after printing one error line."""
    try:
        x = _load_input(args.input)
        settings = pool_settings(args)
        out = pool2d(x[None], settings)[0]  # (C, OH, OW)
        steps = [pool_steps(channel, settings) for channel in x] if args.steps else []
        if args.gif:
            _write_gif(args, _pool_gif_data(x, settings, out[0]))
    except PlaygroundError as e:
        return _fail(e)
    two_d = x.shape[0] == 1
    output = out[0] if two_d else out
    if args.json:
        doc: dict[str, Any] = {"output": _jsonable(output), "output_shape": list(output.shape)}
        if args.steps:
            doc["steps"] = [_pool_step_json(s, None if two_d else c) for c, run in enumerate(steps) for s in run]
        _emit_json(doc)
        return 0
    lines: list[str] = []
    for c in range(out.shape[0]):
        name = "output" if two_d else f"output of channel {c + 1}"
        lines += ([""] if lines else []) + [f"{name} ({out.shape[1]}×{out.shape[2]}):", _matrix_text(out[c])]
        for s in steps[c] if steps else []:
            where = f", max at padded ({s.argmax[0]}, {s.argmax[1]})" if s.argmax is not None else ""
            lines.append(f"out[{s.out_pos[0]}, {s.out_pos[1]}] = {s.arithmetic()}{where}")
    _emit("\n".join(lines))
    return 0


# ---------------------------------------------------------------- GIF export


def _conv_gif_data(x: np.ndarray, w: np.ndarray, bias: float, settings: ConvSettings, output: np.ndarray) -> dict:
    """The stepping data of a one-channel, one-filter convolution (what the Convolution page plays);
    ``output`` is the command's own (OH, OW) result."""
    from playground.figures.player import conv_player_data  # only with --gif: the figures load plotly

    if x.shape[0] != 1 or w.shape[:2] != (1, 1):
        raise CliInputError(
            f"--gif shows one input channel and one filter; got {x.shape[0]} channel(s) and {w.shape[0]} filter(s).",
            "--gif",
        )
    image, kernel = x[0], w[0, 0]
    steps = conv_steps(image, kernel, bias, settings)
    pads = settings.pads(kernel.shape)
    return conv_player_data(pad(image, pads, settings.padding_mode), pads, steps[0].kernel[0], output, steps)


def _pool_gif_data(x: np.ndarray, settings: PoolSettings, output: np.ndarray) -> dict:
    from playground.figures.player import pool_player_data

    if x.shape[0] != 1:
        raise CliInputError(f"--gif shows one input channel; got {x.shape[0]}.", "--gif")
    steps = pool_steps(x[0], settings)
    (_, _), (_, _), (ph, pw) = settings.resolved()
    pads = (ph, ph, pw, pw)
    return pool_player_data(pad(x[0], pads, "zeros"), pads, output, steps, settings.kind)


def _cells(text: str | None, n: int) -> tuple[int, int]:
    """--cells FROM-TO (1-based, inclusive) as 0-based (first, last); all cells when not given."""
    if text is None:
        return 0, n - 1
    parts = text.replace("–", "-").split("-")
    if len(parts) != 2 or not all(p.strip().isdigit() and len(p.strip()) <= 6 for p in parts):
        raise CliInputError(f"--cells takes FROM-TO, two whole numbers such as 1-50; got {text[:40]!r}.", "--cells")
    return int(parts[0]) - 1, int(parts[1]) - 1


def _write_gif(args: argparse.Namespace, data: dict) -> None:
    from playground.figures import gif

    first, last = _cells(args.cells, len(data["steps"]))
    try:
        shots = gif.frames(data, first, last)
    except gif.GifError as e:
        raise CliInputError(f"{e} (--cells FROM-TO picks them)" if e.field == "cells" else str(e), "--cells") from None
    blob = gif.gif_bytes(shots, args.fps)
    path = Path(args.gif)
    try:
        path.write_bytes(blob)
    except OSError as e:
        raise CliInputError(f"Cannot write the GIF to {path}: {e.strerror or e}.", "--gif") from None
    print(f"wrote {path} ({len(shots)} frames, {len(blob):,} bytes)", file=sys.stderr)


# ---------------------------------------------------------------- reading options


def _json_value(text: str, option: str) -> Any:
    return load_json(text, option, error=CliInputError, hint="write it like [[1, 2], [3, 4]]")


def _depth(value: Any) -> int:
    """Nesting depth along the first elements: 5 -> 0, [] -> 1, [[]] -> 2, [[1]] -> 2."""
    depth = 0
    while isinstance(value, list):
        depth += 1
        if not value:
            break
        value = value[0]
    return depth


def _load_input(text: str) -> np.ndarray:
    """--input as a (C, H, W) array (C = 1 for a 2-D matrix)."""
    data = _json_value(text, "--input")
    depth = _depth(data)
    if not isinstance(data, list) or (depth == 1 and data) or depth > 3:
        raise CliInputError("--input must be a 2-D matrix like [[1, 2], [3, 4]] or a 3-D channels-first list of them.")
    return parse_channels(data, max_size=MAX_INPUT_SIZE, what="input")


def _load_kernel(text: str) -> tuple[np.ndarray, int]:
    """--kernel as (F, C, KH, KW) plus how many dimensions the user gave (2, 3 or 4)."""
    data = _json_value(text, "--kernel")
    depth = _depth(data)
    if not isinstance(data, list) or (depth == 1 and data) or depth > 4:
        raise CliInputError(
            "--kernel must be a 2-D matrix like [[1, 0], [0, -1]], a 3-D channels-first list or a 4-D list of filters."
        )
    if depth < 4:
        return parse_channels(data, max_size=MAX_KERNEL, what="kernel")[None], max(depth, 2)
    if len(data) > MAX_CHANNELS:
        raise CliInputError(f"--kernel has {len(data)} filters; the most allowed is {MAX_CHANNELS}.")
    filters = [parse_channels(f, max_size=MAX_KERNEL, what=f"kernel (filter {i})") for i, f in enumerate(data, start=1)]
    for i, f in enumerate(filters[1:], start=2):
        if f.shape != filters[0].shape:
            raise CliInputError(
                f"Filter {i} of --kernel has shape {list(f.shape)} but filter 1 has {list(filters[0].shape)}; every filter needs the same shape."
            )
    return np.stack(filters), 4


def _ints(text: str, option: str) -> int | tuple[int, int]:
    """ "2" -> 2, "2,1" -> (2, 1); range checks are the engine's."""
    parts = [p.strip() for p in str(text).split(",")]
    try:
        values = [int(p) for p in parts]
    except ValueError:
        raise CliInputError(
            f"{option} must be a whole number or two separated by a comma (rows,columns); got {text!r}."
        ) from None
    if len(values) == 1:
        return values[0]
    if len(values) == 2:
        return values[0], values[1]
    raise CliInputError(f"{option} takes one or two whole numbers; got {len(values)}.")


def _padding(text: str) -> int | tuple[int, ...] | str:
    """--padding: P, PH,PW, T,B,L,R, 'valid' or 'same'."""
    word = text.strip().lower()
    if word in ("valid", "same"):
        return word
    parts = [p.strip() for p in word.split(",")]
    try:
        values = tuple(int(p) for p in parts)
    except ValueError:
        raise CliInputError(
            f"--padding must be a whole number, 'PH,PW', 'T,B,L,R', 'valid' or 'same'; got {text!r}."
        ) from None
    if len(values) not in (1, 2, 4):
        raise CliInputError(f"--padding takes 1, 2 or 4 whole numbers; got {len(values)}.")
    return values[0] if len(values) == 1 else values


def _bias(text: str, n_filters: int) -> np.ndarray:
    """--bias: one value for every filter, or one per filter."""
    try:
        values = [float(p.strip().replace("\u2212", "-")) for p in str(text).split(",")]
    except ValueError:
        raise CliInputError(f"--bias must be a number or numbers separated by commas; got {text!r}.") from None
    if not all(np.isfinite(v) and abs(v) <= MAX_ABS_VALUE for v in values):
        raise CliInputError(
            f"--bias must be finite and between -{MAX_ABS_VALUE:.0f} and {MAX_ABS_VALUE:.0f}; got {text!r}."
        )
    if len(values) == 1:
        values *= n_filters
    if len(values) != n_filters:
        raise CliInputError(f"--bias needs one value or one per filter ({n_filters}); got {len(values)}.")
    return np.array(values)


# ---------------------------------------------------------------- writing


def _num(v: float) -> int | float | None:
    """JSON number: ints without .0, NaN (a padding cell) as null."""
    v = float(v)
    if np.isnan(v):
        return None
    return int(v) if v.is_integer() and abs(v) < 2**53 else v


def _jsonable(a: np.ndarray) -> Any:
    return _num(a) if np.ndim(a) == 0 else [_jsonable(v) for v in a]


def _conv_step_json(s: Any, two_d: bool, f: int | None) -> dict[str, Any]:
    sel = (lambda a: a[0]) if two_d else (lambda a: a)  # a 2-D input gives (KH, KW) arrays
    doc: dict[str, Any] = {
        "index": s.index,
        "out_pos": list(s.out_pos),
        "rows": list(s.rows),
        "cols": list(s.cols),
        "window": _jsonable(sel(s.window)),
        "kernel": _jsonable(sel(s.kernel)),
        "products": _jsonable(sel(s.products)),
    }
    if not two_d:
        doc["channel_sums"] = _jsonable(s.channel_sums)
    doc.update(total=_num(s.total), bias=_num(s.bias), result=_num(s.result), arithmetic=s.arithmetic())
    if f is not None:
        doc["filter"] = f
    return doc


def _pool_step_json(s: Any, channel: int | None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "index": s.index,
        "out_pos": list(s.out_pos),
        "rows": list(s.rows),
        "cols": list(s.cols),
        "window": _jsonable(s.window),
        "argmax": None if s.argmax is None else list(s.argmax),
        "result": _num(s.result),
        "arithmetic": s.arithmetic(),
    }
    if s.kind == "avg":
        doc["divisor"] = s.divisor
    if channel is not None:
        doc["channel"] = channel
    return doc


def _matrix_text(a: np.ndarray) -> str:
    """Rows of right-aligned numbers, as on a slide."""
    cells = [[format_number(v) for v in row] for row in a]
    width = max(len(c) for row in cells for c in row)
    return "\n".join("  ".join(c.rjust(width) for c in row) for row in cells)


_ASCII = str.maketrans({"\u2212": "-", "×": "x", "⌊": "floor(", "⌋": ")", "·": "*", "∞": "inf"})


def _emit(text: str) -> None:
    """Print, falling back to plain ASCII on a terminal that cannot show ×, − or ⌊⌋."""
    try:
        print(text)
    except UnicodeEncodeError:
        print(text.translate(_ASCII).encode("ascii", "replace").decode("ascii"))


def _emit_json(doc: dict[str, Any]) -> None:
    try:
        print(json.dumps(doc, ensure_ascii=False))
    except UnicodeEncodeError:
        print(json.dumps(doc))


def _fail(e: Exception | str) -> int:
    message = " ".join(str(e).split()) or "unknown error"  # always one line
    try:
        print(f"error: {message}", file=sys.stderr)
    except UnicodeEncodeError:
        print(f"error: {message.translate(_ASCII).encode('ascii', 'replace').decode('ascii')}", file=sys.stderr)
    return EXIT_USAGE
