"""Code for what the pages show: a model spec as runnable PyTorch source (the Build page's "code" view
and download), and a Convolution or Pooling page's run as short numpy loops and as PyTorch calls
(``F.conv2d`` / ``F.max_pool2d`` / ``F.avg_pool2d`` with the same padding, stride and dilation), each
defining ``out``, the page's output map. Text only: nothing here runs the code (``tests/test_snippets.py``
runs every variant and compares with the engine)."""

from __future__ import annotations

import numpy as np

from playground.nn.architecture import (
    LRN,
    LRN_ALPHA,
    LRN_BETA,
    LRN_K,
    BatchNorm,
    Conv,
    Dense,
    Dropout,
    Layer,
    ModelSpec,
    Pool,
)
from playground.nn.model import layer_module
from playground.nn.shapes import infer_shapes, summary_totals
from playground.ops import ConvSettings, PoolSettings
from playground.ops._common import as_pair


def _source_line(layer: Layer, in_shape: tuple[int, ...]) -> str:
    if isinstance(layer, Conv):
        extra = "".join(
            f", {k}={v!r}"
            for k, v, d in (("stride", layer.stride, 1), ("padding", layer.padding, 0), ("dilation", layer.dilation, 1))
            if v != d
        )
        return f"nn.Conv2d({in_shape[0]}, {layer.filters}, kernel_size={layer.kernel}{extra})"
    cls = "Dropout" if isinstance(layer, Dropout) else type(layer_module(layer, in_shape)).__name__
    args = {
        Pool: lambda: f"kernel_size={layer.size}, stride={layer.stride or layer.size}",
        BatchNorm: lambda: f"{in_shape[0]}",
        LRN: lambda: f"{layer.size}, alpha={LRN_ALPHA}, beta={LRN_BETA}, k={LRN_K}",
        Dropout: lambda: f"p={float(layer.p)}",
        Dense: lambda: f"{in_shape[0]}, {layer.units}",
    }.get(type(layer), lambda: "")()
    return f"nn.{cls}({args})"


def to_pytorch_source(spec: ModelSpec) -> str:
    """Runnable Python source defining `model` as the same nn.Sequential (same layer names and weights keys)."""
    infos = infer_shapes(spec)
    params, macs = summary_totals(infos)
    c, h, w = spec.input_shape
    width = max(len(i.name) for i in infos)
    name = " ".join(str(spec.name).replace("\\", "/").replace('"', "'").split())
    lines = [
        f'"""{name}: input {c}×{h}×{w}, {spec.num_classes} classes, {params:,} parameters, '
        f"{macs:,} multiply-accumulates per image.",
        "",
        "Exported from CNN Playground. Weights saved by the playground (safetensors) load with",
        "model.load_state_dict(safetensors.torch.load_file(PATH)).",
        '"""',
        "from collections import OrderedDict",
        "",
        "import torch",
        "from torch import nn",
        "",
        "model = nn.Sequential(OrderedDict([",
    ]
    for info, layer in zip(infos, spec.layers):
        shape = "×".join(map(str, info.out_shape))
        lines.append(
            f'    ("{info.name}",{" " * (width - len(info.name))} {_source_line(layer, info.in_shape)}),'
            f"  # -> {shape}, {info.params:,} params"
        )
    lines += [
        "]))",
        "",
        'if __name__ == "__main__":',
        f"    logits = model(torch.zeros(1, {c}, {h}, {w}))",
        f"    print(logits.shape)  # torch.Size([1, {spec.num_classes}])",
        '    print(sum(p.numel() for p in model.parameters()), "parameters")',
        "",
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------- a convolution or pooling run
NP_PAD_MODE = {"zeros": "constant", "reflect": "reflect", "replicate": "edge"}
TORCH_PAD_MODE = {"zeros": "constant", "reflect": "reflect", "replicate": "replicate"}


def _matrix(a: np.ndarray) -> str:
    """A float64 array as Python literals that read back bit for bit (repr of each float)."""
    rows = [", ".join(repr(float(v)) for v in row) for row in np.asarray(a, dtype=np.float64)]
    if len(rows) == 1:
        return f"[[{rows[0]}]]"
    return "[\n    [" + "],\n    [".join(rows) + "],\n]"


def conv_numpy(x: np.ndarray, kernel: np.ndarray, settings: ConvSettings, bias: float = 0.0) -> str:
    """numpy: pad, then one sum of products per output cell (the page's Output, before any activation)."""
    top, bottom, left, right = settings.pads(np.shape(kernel))
    (sh, sw), (dh, dw) = as_pair(settings.stride, "Stride"), as_pair(settings.dilation, "Dilation")
    flip = "k = k[::-1, ::-1]  # true convolution: the kernel rotated 180°\n" if settings.flip else ""
    return f"""import numpy as np

x = np.array({_matrix(x)})
k = np.array({_matrix(kernel)})
{flip}bias = {float(bias)!r}
xp = np.pad(x, (({top}, {bottom}), ({left}, {right})), mode="{NP_PAD_MODE[settings.padding_mode]}")
(sh, sw), (dh, dw), (kh, kw) = ({sh}, {sw}), ({dh}, {dw}), k.shape
oh = (xp.shape[0] - dh * (kh - 1) - 1) // sh + 1
ow = (xp.shape[1] - dw * (kw - 1) - 1) // sw + 1
out = np.zeros((oh, ow))
for i in range(oh):
    for j in range(ow):
        window = xp[i * sh : i * sh + dh * (kh - 1) + 1 : dh, j * sw : j * sw + dw * (kw - 1) + 1 : dw]
        out[i, j] = (window * k).sum() + bias
print(out)
"""


def conv_torch(x: np.ndarray, kernel: np.ndarray, settings: ConvSettings, bias: float = 0.0) -> str:
    """PyTorch: ``F.pad`` (per side, the page's padding mode) then ``F.conv2d`` in float64."""
    top, bottom, left, right = settings.pads(np.shape(kernel))
    (sh, sw), (dh, dw) = as_pair(settings.stride, "Stride"), as_pair(settings.dilation, "Dilation")
    flip = "k = torch.flip(k, dims=(2, 3))  # true convolution: the kernel rotated 180°\n" if settings.flip else ""
    return f"""import torch
import torch.nn.functional as F

x = torch.tensor({_matrix(x)}, dtype=torch.float64)[None, None]  # (batch, channels, H, W)
k = torch.tensor({_matrix(kernel)}, dtype=torch.float64)[None, None]  # (filters, channels, KH, KW)
{flip}x = F.pad(x, ({left}, {right}, {top}, {bottom}), mode="{TORCH_PAD_MODE[settings.padding_mode]}")  # left, right, top, bottom
out = F.conv2d(x, k, bias=torch.tensor([{float(bias)!r}], dtype=torch.float64), stride=({sh}, {sw}), dilation=({dh}, {dw}))[0, 0]
print(out)
"""


def pool_numpy(x: np.ndarray, settings: PoolSettings) -> str:
    """numpy: pad (−∞ for max, 0 for average), then the max or the mean of each window."""
    (kh, kw), (sh, sw), (ph, pw) = settings.resolved()
    if settings.kind == "max":
        fill, reduce = "-np.inf", "window.max()"
    elif settings.count_include_pad:
        fill, reduce = "0.0", "window.sum() / (kh * kw)  # padding zeros count in the divisor"
    else:
        fill, reduce = "np.nan", "np.nanmean(window)  # only real pixels count"
    return f"""import numpy as np

x = np.array({_matrix(x)})
(kh, kw), (sh, sw), (ph, pw) = ({kh}, {kw}), ({sh}, {sw}), ({ph}, {pw})
xp = np.pad(x, ((ph, ph), (pw, pw)), constant_values={fill})
oh = (xp.shape[0] - kh) // sh + 1
ow = (xp.shape[1] - kw) // sw + 1
out = np.zeros((oh, ow))
for i in range(oh):
    for j in range(ow):
        window = xp[i * sh : i * sh + kh, j * sw : j * sw + kw]
        out[i, j] = {reduce}
print(out)
"""


def pool_torch(x: np.ndarray, settings: PoolSettings) -> str:
    """PyTorch: ``F.max_pool2d`` / ``F.avg_pool2d`` with the page's window, stride and padding."""
    (kh, kw), (sh, sw), (ph, pw) = settings.resolved()
    args = f"kernel_size=({kh}, {kw}), stride=({sh}, {sw}), padding=({ph}, {pw})"
    call = (
        f"F.max_pool2d(x, {args})"
        if settings.kind == "max"
        else f"F.avg_pool2d(x, {args}, count_include_pad={settings.count_include_pad})"
    )
    return f"""import torch
import torch.nn.functional as F

x = torch.tensor({_matrix(x)}, dtype=torch.float64)[None, None]  # (batch, channels, H, W)
out = {call}[0, 0]
print(out)
"""
