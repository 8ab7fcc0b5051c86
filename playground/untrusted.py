"""The one way in for text a user types, uploads or sends: its size is checked before anything parses it.

Python's own parsers have limits that surface as the wrong errors: ``json.loads`` recurses once per
bracket (thousands of ``[`` raise RecursionError), and ``int()`` refuses numbers above 4,300 digits with
a ValueError that is not a JSONDecodeError. Every matrix, architecture, model header and option the pages
and the CLI accept goes through :func:`load_json` or :func:`check_text` here, so each of those cases
ends as one :class:`InputError` sentence (or the caller's own subclass of PlaygroundError).
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np

from playground.errors import PlaygroundError

MAX_CHARS = 200_000  # a 28×28 matrix of long decimals is under 20,000; a model header a few thousand
MAX_DEPTH = 32  # a channels-first matrix needs 3, an architecture 4
MAX_ITEMS = 100_000  # numbers, strings, keys and brackets in one document
MAX_DIGITS = 400  # digits in one number: far beyond float precision, far below int()'s 4,300 limit

# What keyboards, word processors and slides type for "minus": read as "-" wherever a number is expected.
MINUS_SIGNS = "\u2212\u2012\u2013\ufe63\uff0d"
_MINUS_TABLE = str.maketrans(dict.fromkeys(MINUS_SIGNS, "-"))
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_LONG_NUMBER = re.compile(rf"\d{{{MAX_DIGITS + 1},}}")


class InputError(PlaygroundError):
    """Text that is too long, too deep, too large or not valid JSON; ``str(e)`` says which and how to fix it."""


def normalise_minus(text: str) -> str:
    """Every typographic minus or dash in ``text`` as an ASCII "-" (so "−1" reads as −1)."""
    return text.translate(_MINUS_TABLE)


def check_text(text: Any, what: str, *, max_chars: int = MAX_CHARS, error: type[PlaygroundError] = InputError) -> str:
    """``text`` (str or UTF-8 bytes) as a str with its minus signs normalised, or ``error`` when it is not
    text, longer than ``max_chars`` characters, or holds a number with more than MAX_DIGITS digits."""
    if isinstance(text, (bytes, bytearray)):
        if len(text) > 4 * max_chars:
            raise error(_too_long(what, len(text), max_chars))
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError:
            raise error(f"{_subject(what)} is not UTF-8 text.") from None
    if not isinstance(text, str):
        raise error(f"{_subject(what)} must be text; got {type(text).__name__}.")
    if len(text) > max_chars:
        raise error(_too_long(what, len(text), max_chars))
    text = normalise_minus(text)
    if _LONG_NUMBER.search(text):
        raise error(
            f"{_subject(what)} holds a number with more than {MAX_DIGITS} digits; write large or precise values "
            "as decimals (such as 1e6 or 0.333) within the allowed range."
        )
    return text


def load_json(
    text: Any,
    what: str,
    *,
    max_chars: int = MAX_CHARS,
    max_depth: int = MAX_DEPTH,
    max_items: int = MAX_ITEMS,
    error: type[PlaygroundError] = InputError,
    hint: str = "",
) -> Any:
    """Parse JSON from a user after checking its length, nesting depth, item count and number sizes.

    ``what`` names the input in the message ("kernel", "--input", "model file's header"); ``error`` is the
    exception class raised (a PlaygroundError subclass, so each caller keeps its own family); ``hint``
    ends the sentence for text that is not JSON ("write it like [[1, 2], [3, 4]]").
    """
    text = check_text(text, what, max_chars=max_chars, error=error)
    skeleton = _STRING.sub('""', text)  # brackets and commas inside strings do not nest
    depth = _max_depth(skeleton)
    if depth > max_depth:
        raise error(f"{_subject(what)} is nested {depth} levels deep; at most {max_depth} levels are accepted.")
    items = skeleton.count(",") + skeleton.count("[") + skeleton.count("{") + 1
    if items > max_items:
        raise error(f"{_subject(what)} holds about {items:,} values; at most {max_items:,} are accepted.")
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        where = f"line {e.lineno}, column {e.colno}" if e.lineno > 1 else f"column {e.colno}"
        raise error(f"{_subject(what)} is not valid JSON ({e.msg} at {where}){'; ' + hint if hint else ''}.") from None
    except (RecursionError, ValueError):  # guarded above; kept so no parser limit can escape as a traceback
        raise error(f"{_subject(what)} could not be read as JSON: it is too large or too deeply nested.") from None


def _max_depth(skeleton: str) -> int:
    """Deepest bracket nesting in JSON text whose strings were blanked (unbalanced text still counts)."""
    codes = np.frombuffer(skeleton.encode("utf-8", "replace"), dtype=np.uint8)
    step = (codes == ord("[")).astype(np.int32) + (codes == ord("{")) - (codes == ord("]")) - (codes == ord("}"))
    return int(np.cumsum(step).max(initial=0))


def _subject(what: str) -> str:
    """The start of a sentence about ``what``: "The kernel", but "--input" for a CLI option."""
    return what if what.startswith("-") else f"The {what}"


def _too_long(what: str, n: int, limit: int) -> str:
    return f"{_subject(what)} is {n:,} characters long; at most {limit:,} are accepted."
