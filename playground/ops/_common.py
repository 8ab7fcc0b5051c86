"""Shared pieces of the teaching engine: the user-facing error, number formatting and argument checks.

numpy only: this module, like the rest of ``playground.ops``, knows nothing of torch or streamlit.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from playground.errors import PlaygroundError

MINUS = "\u2212"  # the typographic minus sign used in every text the engine writes


class OpError(PlaygroundError):
    """A user-caused problem; str(e) is one sentence naming the setting at fault and how to fix it."""


def format_number(value: float) -> str:
    """Compact text for one number, as printed in cells and arithmetic.

    Whole numbers without ".0" (37), numbers of size 1 or more with up to 3 decimals (37.5, 12.346),
    smaller ones with 3 significant digits (0.0625, 0.333), negatives with a real minus sign (−1).
    """
    v = float(value)
    if np.isnan(v):
        return "nan"
    if np.isinf(v):
        return "∞" if v > 0 else MINUS + "∞"
    if v == 0:
        return "0"
    sign = MINUS if v < 0 else ""
    a = abs(v)
    if a >= 1e15:
        text = f"{a:.4g}"
    elif a.is_integer():
        text = str(int(a))
    elif a >= 1:
        text = np.format_float_positional(a, precision=3, unique=True, fractional=True, trim="-")
    else:
        text = np.format_float_positional(a, precision=3, unique=True, fractional=False, trim="-")
    return sign + text


def format_operand(value: float) -> str:
    """Like :func:`format_number`, with negatives in parentheses so "2×(−1)" reads unambiguously."""
    text = format_number(value)
    return f"({text})" if text.startswith(MINUS) else text


def as_int(value: Any, name: str) -> int:
    """``value`` as a Python int, or OpError naming the setting ``name`` (bools and fractions refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise OpError(f"{name} must be a whole number; got {value!r}.")
    if isinstance(value, numbers.Integral):
        return int(value)
    if not float(value).is_integer():
        raise OpError(f"{name} must be a whole number; got {value!r}.")
    return int(value)


def as_pair(value: Any, name: str) -> tuple[int, int]:
    """One whole number (used for both axes) or a (rows, columns) pair, as a tuple of two ints."""
    if isinstance(value, (tuple, list, np.ndarray)):
        if len(value) != 2:
            raise OpError(f"{name} must be one whole number or a pair (rows, columns); got {tuple(value)!r}.")
        return as_int(value[0], name), as_int(value[1], name)
    v = as_int(value, name)
    return v, v


def as_float_array(x: Any, what: str) -> np.ndarray:
    """``x`` as a float64 array with only finite values, or OpError naming ``what`` ("input", "kernel", ...)."""
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise OpError(f"The {what} must contain only numbers, in rows of equal length.") from None
    except OverflowError:
        raise OpError(f"The {what} contains a number too large to represent; use smaller values.") from None
    if not np.all(np.isfinite(arr)):
        raise OpError(f"The {what} contains NaN or infinite values; replace them with finite numbers.")
    return arr


def check_finite_result(out: np.ndarray) -> np.ndarray:
    """Return ``out`` unchanged, or OpError when a value overflowed to infinity (or became NaN)."""
    if not np.all(np.isfinite(out)):
        raise OpError("The result is too large to represent (it overflowed); use smaller input or kernel values.")
    return out


def plural(n: int, word: str) -> str:
    """ "1 row", "2 rows", "0 rows"."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
