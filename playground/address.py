"""The address is the state: a page's settings as a short query string, and back.

``encode`` writes only what differs from the defaults; ``decode`` reads a query string that may have been
hand-edited, cut off or forged and returns the values it could use plus one sentence naming what it
ignored (unknown names, wrong types, numbers out of range, over-long text) — never an exception. Pure:
no streamlit; each page's list of ``Field``s lives with the page's widgets (``playground/ui/links.py``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

MAX_VALUE_CHARS = 600  # a typed 6×6 matrix or kernel fits; a 10,000-character value does not
MAX_PARAMS = 64  # query parameters read at most (the rest are ignored)
_INT = re.compile(r"[+-]?\d{1,18}")
_FLOAT = re.compile(r"[+-]?(\d{1,18}(\.\d{0,18})?|\.\d{1,18})([eE][+-]?\d{1,3})?")
_TRUE, _FALSE = {"1", "true", "on", "yes"}, {"0", "false", "off", "no"}


@dataclass(frozen=True)
class Field:
    """One setting that travels in the address: ``name`` is the widget's name on its page, ``param`` the
    short query key, ``kind`` one of int / float / bool / choice / text (``choices``: the allowed options,
    or for an int the allowed values)."""

    name: str
    param: str
    kind: str
    default: Any
    choices: tuple = ()
    lo: float = -math.inf
    hi: float = math.inf
    max_chars: int = MAX_VALUE_CHARS


def _text(value: Any, field: Field) -> str:
    if field.kind == "bool":
        return "1" if value else "0"
    if field.kind == "float":
        return repr(float(value)) if not float(value).is_integer() else str(int(value))
    return str(value)


def encode(values: Mapping[str, Any], fields: Sequence[Field]) -> dict[str, str]:
    """``{param: text}`` for every field whose value differs from its default (in field order), leaving
    out any value a link could not carry back (``decode`` would refuse it: too long, out of range)."""
    out = {}
    for f in fields:
        if f.name in values and values[f.name] != f.default:
            text = _text(values[f.name], f)
            if _parse(text, f)[1] is None:
                out[f.param] = text
    return out


def _parse(raw: str, f: Field) -> tuple[Any, str | None]:
    """(value, None) or (None, why it was ignored)."""
    if len(raw) > f.max_chars:
        return None, f"{f.param} (longer than {f.max_chars} characters)"
    text = raw.strip()
    if f.kind == "text":
        return raw, None
    if f.kind == "choice":
        return (text, None) if text in f.choices else (None, f"{f.param} (not one of the choices)")
    if f.kind == "bool":
        low = text.lower()
        return (low in _TRUE, None) if low in _TRUE | _FALSE else (None, f"{f.param} (not 1 or 0)")
    if f.kind == "int":
        if not _INT.fullmatch(text):
            return None, f"{f.param} (not a whole number)"
        value: float = int(text)
    else:
        if not _FLOAT.fullmatch(text):
            return None, f"{f.param} (not a number)"
        value = float(text)
        if not math.isfinite(value):
            return None, f"{f.param} (not a finite number)"
    if not f.lo <= value <= f.hi:
        return None, f"{f.param} (outside {_bound(f.lo)} … {_bound(f.hi)})"
    if f.choices and value not in f.choices:
        return None, f"{f.param} (not one of {', '.join(map(str, f.choices))})"
    return value, None


def _bound(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


def decode(query: Mapping[str, Any], fields: Sequence[Field]) -> tuple[dict[str, Any], str | None]:
    """The values ``query`` sets (``{name: value}``) and one sentence naming what was ignored (None when
    nothing was). A parameter given twice counts once, its last value."""
    by_param = {f.param: f for f in fields}
    values: dict[str, Any] = {}
    ignored: list[str] = []
    for i, (param, raw) in enumerate(query.items()):
        if i >= MAX_PARAMS:
            ignored.append(f"{len(query) - MAX_PARAMS} more")
            break
        if isinstance(raw, (list, tuple)):
            raw = raw[-1] if raw else ""
        name = str(param)[:40]
        f = by_param.get(str(param))
        if f is None:
            ignored.append(f"{name} (not a setting of this page)")
            continue
        value, why = _parse(str(raw), f)
        if why is None:
            values[f.name] = value
        else:
            ignored.append(why)
    if not ignored:
        return values, None
    shown = ignored[:5] + ([f"{len(ignored) - 5} more"] if len(ignored) > 5 else [])
    return values, "Part of this link could not be used and was left at its default: " + "; ".join(shown) + "."
