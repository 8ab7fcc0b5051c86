"""Preset kernels and the parsing of user-typed kernels and matrices."""

from __future__ import annotations

import numpy as np
import pytest

from playground.ops import ConvSettings, conv2d
from playground.ops.kernels import (
    MAX_ABS_VALUE,
    MAX_KERNEL,
    PRESETS,
    KernelError,
    PresetKernel,
    parse_channels,
    parse_kernel,
    parse_matrix,
)

ORDER = [
    "Identity",
    "Box blur",
    "Gaussian 3×3",
    "Gaussian 5×5",
    "Sharpen",
    "Sobel x",
    "Sobel y",
    "Prewitt x",
    "Prewitt y",
    "Scharr x",
    "Scharr y",
    "Laplacian (4-neighbour)",
    "Laplacian (8-neighbour)",
    "Emboss",
    "Outline",
]


def test_presets_are_ordered_named_and_described():
    assert list(PRESETS) == ORDER
    for name, preset in PRESETS.items():
        assert isinstance(preset, PresetKernel) and preset.name == name
        assert preset.array.dtype == np.float64 and preset.array.shape == (len(preset.values), len(preset.values[0]))
        text = preset.description
        assert text[0].isupper() and text.endswith(".") and text.count(". ") == 0 and 30 < len(text) < 140


def test_preset_values():
    assert PRESETS["Sobel x"].array.tolist() == [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]
    assert PRESETS["Sobel y"].array.tolist() == [[-1, -2, -1], [0, 0, 0], [1, 2, 1]]
    assert PRESETS["Scharr x"].array.tolist() == [[-3, 0, 3], [-10, 0, 10], [-3, 0, 3]]
    assert PRESETS["Laplacian (4-neighbour)"].array.tolist() == [[0, 1, 0], [1, -4, 1], [0, 1, 0]]
    assert PRESETS["Laplacian (8-neighbour)"].array.tolist() == [[1, 1, 1], [1, -8, 1], [1, 1, 1]]
    assert PRESETS["Gaussian 5×5"].array.shape == (5, 5) and PRESETS["Gaussian 5×5"].array[2, 2] == 36 / 256
    for name in ("Box blur", "Gaussian 3×3", "Gaussian 5×5", "Identity", "Sharpen", "Emboss"):
        assert PRESETS[name].array.sum() == pytest.approx(1.0)  # keep the overall brightness
    for name in (
        "Sobel x",
        "Sobel y",
        "Prewitt x",
        "Prewitt y",
        "Scharr x",
        "Scharr y",
        "Outline",
        "Laplacian (4-neighbour)",
        "Laplacian (8-neighbour)",
    ):
        assert PRESETS[name].array.sum() == 0  # flat areas give 0


def test_edge_kernels_respond_as_described():
    step = np.zeros((1, 1, 5, 6))
    step[..., 3:] = 1.0  # dark on the left, bright on the right: one vertical edge
    sobel_x = conv2d(step, PRESETS["Sobel x"].array[None, None])[0, 0]
    sobel_y = conv2d(step, PRESETS["Sobel y"].array[None, None])[0, 0]
    assert (sobel_x[:, 1:3] == 4).all() and (sobel_x[:, [0, 3]] == 0).all()  # positive where brightness rises
    assert (sobel_y == 0).all()
    flat = conv2d(np.full((1, 1, 4, 4), 7.0), PRESETS["Outline"].array[None, None])
    assert (flat == 0).all()
    identity = conv2d(step, PRESETS["Identity"].array[None, None], settings=ConvSettings(padding=1))
    assert np.array_equal(identity, step)


def test_parse_kernel_accepts_every_form():
    expected = [[1, 2], [3, 4]]
    assert parse_kernel([[1, 2], [3, 4]]).tolist() == expected
    assert parse_kernel([["1", " 2 "], ["3", "4"]]).tolist() == expected
    assert parse_kernel("1 2\n3 4").tolist() == expected
    assert parse_kernel("1, 2; 3, 4").tolist() == expected
    assert parse_kernel("\n1,2\n\n3,4\n").tolist() == expected
    assert parse_kernel("[[1, 2], [3, 4]]").tolist() == expected
    assert parse_kernel(["1 2", "3 4"]).tolist() == expected
    assert parse_kernel(np.array(expected)).tolist() == expected
    assert parse_kernel([["1/9", "−2", "-0.5", "1e3"]]).tolist() == [[1 / 9, -2, -0.5, 1000]]
    assert parse_kernel([[5]]).shape == (1, 1)
    assert parse_kernel([[0] * 7] * 3).shape == (3, 7)  # rectangular, up to 7×7
    assert parse_kernel([[0] * MAX_KERNEL] * MAX_KERNEL).shape == (7, 7)
    assert parse_kernel([[MAX_ABS_VALUE, -MAX_ABS_VALUE]]).tolist() == [[1e6, -1e6]]


class FakeFrame:
    """What an editable grid returns: an object with to_numpy()."""

    def __init__(self, rows):
        self.rows = rows

    def to_numpy(self):
        return np.array(self.rows, dtype=object)


def test_parse_kernel_accepts_a_data_frame_like_grid():
    assert parse_kernel(FakeFrame([[1, "2"], [3.5, 4]])).tolist() == [[1, 2], [3.5, 4]]
    with pytest.raises(KernelError, match=r"^Row 2, column 1 of the kernel is NaN \(empty or not a number\)"):
        parse_kernel(FakeFrame([[1, 2], [float("nan"), 4]]))


BAD_KERNELS = [
    ("empty list", [], "The kernel is empty; enter at least one number."),
    ("empty rows", [[], []], "The kernel is empty; enter at least one number."),
    ("blank text", "  \n ", "The kernel is empty; enter at least one number."),
    (
        "ragged",
        [[1, 2], [3]],
        "Row 2 of the kernel has 1 value(s) but row 1 has 2; every row needs the same number of values.",
    ),
    (
        "ragged text",
        "1 2 3\n4 5",
        "Row 2 of the kernel has 2 value(s) but row 1 has 3; every row needs the same number of values.",
    ),
    (
        "word",
        [[1, "abc"]],
        "Row 1, column 2 of the kernel ('abc') is not a number; type a number such as 1, -0.5 or 1/9.",
    ),
    ("bool", [[True]], "Row 1, column 1 of the kernel (True) is not a number; type a number such as 1, -0.5 or 1/9."),
    ("blank cell", [[1, ""], [2, 3]], "Row 1, column 2 of the kernel is empty; type a number."),
    ("None cell", [[1, 2], [None, 3]], "Row 2, column 1 of the kernel is empty; type a number."),
    ("nan", [[1, float("nan")]], "Row 1, column 2 of the kernel is NaN (empty or not a number); type a finite number."),
    ("nan text", [["nan"]], "Row 1, column 1 of the kernel is NaN (empty or not a number); type a finite number."),
    ("inf", [[float("-inf")]], "Row 1, column 1 of the kernel is infinite; use a finite number."),
    ("inf text", "1 inf", "Row 1, column 2 of the kernel is infinite; use a finite number."),
    (
        "huge",
        [[1, 2e6]],
        "Row 1, column 2 of the kernel (2000000.0) is too large; use values between -1000000 and 1000000.",
    ),
    ("huge overflow text", [["1e400"]], "Row 1, column 1 of the kernel is infinite; use a finite number."),
    (
        "int beyond float range",
        [[10**400]],
        "Row 1, column 1 of the kernel is too large; use values between -1000000 and 1000000.",
    ),
    (
        "division by zero",
        [["1/0"]],
        "Row 1, column 1 of the kernel ('1/0') divides by zero; use a non-zero denominator.",
    ),
    ("too tall", [[1]] * 8, "The kernel is 8×1; the largest allowed is 7×7."),
    ("too wide", [[1] * 9], "The kernel is 1×9; the largest allowed is 7×7."),
    ("nested", [[[1, 2]]], "Row 1, column 1 of the kernel holds a list, not a number; give a 2-D matrix of numbers."),
    ("scalar", 3, "The kernel must be rows of numbers, like [[1, 2], [3, 4]]; got a single value."),
    (
        "flat list",
        [1, 2],
        "Row 1 of the kernel is a single value, not a row; write the kernel as rows like [[1, 2], [3, 4]].",
    ),
    (
        "bad json",
        "[[1, 2], [3, 4]",
        "The kernel is not valid JSON (Expecting ',' delimiter at column 16); write it like [[1, 2], [3, 4]].",
    ),
]


@pytest.mark.parametrize("name,cells,message", BAD_KERNELS, ids=[b[0] for b in BAD_KERNELS])
def test_bad_kernel_names_the_cell_or_row(name, cells, message):
    with pytest.raises(KernelError) as err:
        parse_kernel(cells)
    assert str(err.value) == message


def test_parse_matrix_limits_and_wording():
    assert parse_matrix([[0] * 64] * 64).shape == (64, 64)
    with pytest.raises(KernelError, match=r"^The input is 65×1; the largest allowed is 64×64\.$"):
        parse_matrix([[0]] * 65)
    with pytest.raises(KernelError, match=r"^The image is 3×3; the largest allowed is 2×2\.$"):
        parse_matrix([[0] * 3] * 3, max_size=2, what="image")
    with pytest.raises(KernelError, match=r"^Row 1, column 1 of the input is empty; type a number\.$"):
        parse_matrix([[None]])


def test_parse_channels():
    assert parse_channels([[1, 2], [3, 4]]).shape == (1, 2, 2)
    rgb = parse_channels("[[[1, 2]], [[3, 4]], [[5, 6]]]", what="kernel")
    assert rgb.shape == (3, 1, 2) and rgb[2].tolist() == [[5, 6]]
    with pytest.raises(
        KernelError, match=r"^Channel 2 of the kernel is 1×1 but channel 1 is 1×2; every channel needs the same size\.$"
    ):
        parse_channels([[[1, 2]], [[3]]], what="kernel")
    with pytest.raises(KernelError, match=r"^Row 1, column 2 of the input \(channel 2\) \('x'\) is not a number"):
        parse_channels([[[1, 2]], [[3, "x"]]])
    with pytest.raises(KernelError, match=r"^The input has 17 channels; the most allowed is 16\.$"):
        parse_channels([[[1]]] * 17)
