"""The address is the state (playground/address.py and the pages' fields in ui/links.py): decode(encode(s))
== s for random valid settings of every page (Convolution, Pooling, Build, Train), and a hand-edited, cut-off or forged query
string gives the defaults for what it got wrong plus one sentence naming it, never an exception."""

from __future__ import annotations

import math
import random

import pytest

from playground import address
from playground.address import Field
from playground.ui import links


def random_value(f: Field, rng: random.Random):
    if f.kind == "choice":
        return rng.choice(f.choices)
    if f.kind == "bool":
        return rng.random() < 0.5
    if f.kind == "text":
        return "".join(rng.choice("0123456789 -./\n,") for _ in range(rng.randint(0, 80)))
    if f.kind == "int":
        if f.choices:
            return rng.choice(f.choices)
        hi = f.hi if math.isfinite(f.hi) else 10**6
        return rng.randint(int(f.lo), int(hi))
    return rng.choice([v for v in (0.0, -1.5, 0.1, 1 / 3, 1e-7, -123456.789, 999999.0) if f.lo <= v <= f.hi])


@pytest.mark.parametrize("page", sorted(links.FIELDS))
def test_decode_of_encode_is_the_identity(page):
    fields = links.FIELDS[page]
    rng = random.Random(5)
    for _ in range(300):
        values = {f.name: random_value(f, rng) for f in fields}
        query = address.encode(values, fields)
        assert all(isinstance(v, str) for v in query.values())
        decoded, problem = address.decode(query, fields)
        assert problem is None, (query, problem)
        assert {**{f.name: f.default for f in fields}, **decoded} == values


@pytest.mark.parametrize("page", sorted(links.FIELDS))
def test_defaults_write_nothing(page):
    fields = links.FIELDS[page]
    assert address.encode({f.name: f.default for f in fields}, fields) == {}
    assert len({f.param for f in fields}) == len(fields)  # every setting has its own query key


HOSTILE = [
    ({"stride_rows": "9" * 400}, "stride_rows (not a whole number)"),
    ({"stride_rows": "99999"}, "stride_rows (outside 1 … 64)"),
    ({"bias": "nan"}, "bias (not a number)"),
    ({"bias": "1e999"}, "bias (not a finite number)"),
    ({"bias": "x" * 10_000}, "bias (longer than 600 characters)"),
    ({"flip": "maybe"}, "flip (not 1 or 0)"),
    ({"kernel": "<script>alert(1)</script>"}, "kernel (not one of the choices)"),
    ({"input": "Draw a digit"}, "input (not one of the choices)"),  # a drawing never travels
    ({"grid": "13"}, "grid (not one of 8, 10, 12, 14, 16, 20, 28)"),
    ({"step": "-3"}, "step (outside 1 … 1000000)"),
    ({"nonsense": "1"}, "nonsense (not a setting of this page)"),
]


@pytest.mark.parametrize("query,why", HOSTILE)
def test_a_bad_value_is_left_at_its_default_and_named(query, why):
    good = {"mode": "reflect", "dilation": "2"}
    values, problem = address.decode({**good, **query}, links.CONV)
    assert values == {"padding_mode": "reflect", "dilation": 2}  # what was right is kept
    assert problem.startswith("Part of this link could not be used") and why in problem, problem
    assert problem.count(".") <= 3 and len(problem) < 400  # one sentence


def test_lists_many_params_and_repeats_are_bounded():
    values, problem = address.decode({"kernel": ["Identity", "Sobel x"]}, links.CONV)
    assert values == {"kernel": "Sobel x"} and problem is None  # the last of a repeated key
    flood = {f"p{i}": "1" for i in range(10_000)}
    values, problem = address.decode(flood, links.CONV)
    assert values == {} and "more" in problem and len(problem) < 400
    values, problem = address.decode({"kernel": ""}, links.CONV)
    assert values == {} and "kernel" in problem


def test_a_value_a_link_could_not_carry_back_is_not_written():
    fields = links.CONV
    values = {"stride_rows": 10**9, "kernel_text": "1 " * 1000, "kernel": "not a preset", "dilation": 2}
    assert address.encode(values, fields) == {"dilation": "2"}
