"""A model spec as runnable PyTorch source: the Build page's "code" view and download."""

from __future__ import annotations

from playground.nn.model import (
    BatchNorm,
    Conv,
    Dense,
    Dropout,
    Layer,
    ModelSpec,
    Pool,
    infer_shapes,
    layer_module,
    summary_totals,
)


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
