"""What a trained network does with one digit (or, for a colour model, one photo): prediction with an honest
"unsure" notice, feature maps, first-layer kernels, gradient × input saliency and the softmax + cross-entropy
arithmetic.

torch + numpy, no streamlit: the Draw & Predict page and the CLI call these and only display the results.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import lru_cache
from types import MappingProxyType

import numpy as np
import torch
from torch import nn

from playground import ops
from playground.imaging.photo import FittedPhoto
from playground.imaging.preprocess import Preprocessed, normalise, preprocess_digit
from playground.nn.architecture import ModelSpec
from playground.nn.config import images_to_tensor  # the training path's normalisation, also for photos
from playground.nn.model import forward_all
from playground.nn.shapes import infer_shapes

UNSURE_BELOW = 0.6  # top probability under this -> say the network is unsure
MIN_INK, MAX_INK = 0.002, 0.6  # share of canvas pixels with ink: below = (almost) empty, above = covered


@dataclass(frozen=True)
class Prediction:
    probabilities: np.ndarray  # (10,) softmax, sums to 1
    label: int
    confidence: float
    unsure: bool
    notice: str  # "" when the answer can be trusted, else one sentence for the user


@dataclass(frozen=True)
class LayerMaps:
    name: str  # "conv1", "relu1", "pool1"
    shape: tuple[int, ...]  # (C, H, W)
    maps: np.ndarray  # (C, H, W) float32
    kind: str = ""  # "conv", "act", "pool", "batchnorm", ... (model.KINDS key)
    source: str = ""  # the convolution whose kernels made these maps ("conv2"), "" before the first


@dataclass(frozen=True)
class SoftmaxExplanation:
    logits: np.ndarray  # (K,)
    exps: np.ndarray  # (K,) exp(z_k − max z), the numerically stable form
    probabilities: np.ndarray  # (K,)
    target: int
    loss: float  # −log p_target
    text: str  # the arithmetic written out


def predict(model: nn.Module, x: torch.Tensor, *, ink_fraction: float | None = None) -> Prediction:
    """Softmax over the logits of x (1, 1, 28, 28), with a notice instead of a confident wrong answer."""
    with torch.no_grad():
        logits = model(x)[0].double().numpy()
    return judge(logits, ink_fraction)


DIGIT_HINT = "Try drawing the digit larger or more clearly."


def judge(
    logits: np.ndarray,
    ink_fraction: float | None = None,
    classes: tuple[str, ...] | None = None,
    hint: str = DIGIT_HINT,
) -> Prediction:
    """The prediction for one image's logits (K,), with the empty / covered / unsure notice (answers named by
    ``classes`` when given, else by number; ``hint`` says what to try)."""
    z = np.asarray(logits, dtype=np.float64)
    probs = np.exp(z - z.max())
    probs /= probs.sum()
    label = int(probs.argmax())
    confidence = float(probs[label])
    notice = ""
    if ink_fraction is not None and ink_fraction < MIN_INK:
        notice = "The canvas is (almost) empty: draw a digit to get a prediction."
    elif ink_fraction is not None and ink_fraction > MAX_INK:
        notice = "Most of the canvas is covered: draw one digit with thin strokes on the black background."
    elif confidence < UNSURE_BELOW:
        second = int(np.argsort(probs)[-2])
        name = (lambda k: classes[k]) if classes else str
        notice = (
            f"The network is unsure: {name(label)} at {confidence:.0%}, {name(second)} at {probs[second]:.0%}. " + hint
        )
    return Prediction(probs, label, confidence, bool(notice), notice)


def feature_maps(model: nn.Module, x: torch.Tensor) -> list[LayerMaps]:
    """Every layer output that is still an image (C, H, W) for the single input x (1, C, H, W)."""
    with torch.no_grad():
        acts = forward_all(model, x)
    return [LayerMaps(name, tuple(a.shape[1:]), a[0].float().numpy()) for name, a in acts.items() if a.dim() == 4]


def first_layer_kernels(model: nn.Module) -> np.ndarray:
    """The learned kernels of the first convolution: (F, C, KH, KW)."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            return module.weight.detach().double().numpy().copy()
    raise ValueError("The model has no convolution layer.")


def saliency(model: nn.Module, x: torch.Tensor, target: int) -> np.ndarray:
    """Gradient × input of the target logit, clipped at 0 and scaled to [0, 1]: (H, W).

    Bright pixels are strokes that pushed the network towards ``target``. The model is put in eval mode
    and its weights receive no gradient.
    """
    model.eval()
    x = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        logits = model(x)
        return _gradient_times_ink(logits[0, target], x)


def _gradient_times_ink(score: torch.Tensor, x: torch.Tensor, pixels: torch.Tensor | None = None) -> np.ndarray:
    """The saliency of ``score`` (a logit computed from ``x`` with gradients on), as :func:`saliency` says.
    ``pixels`` (1, C, H, W) in [0, 1] are the picture before normalisation (a colour photo: each channel has
    its own mean and spread, so no single shift of ``x`` gives them back); None for a digit, whose ink is x
    shifted to start at 0."""
    (grad,) = torch.autograd.grad(score, x)
    # x is normalised, so use the un-normalised brightness (ink = positive) times the gradient
    ink = x.detach() - x.detach().min() if pixels is None else pixels
    sal = (grad * ink)[0].sum(0).clamp(min=0).double().numpy()
    top = sal.max()
    return sal / top if top > 0 else sal


def softmax_explanation(logits: np.ndarray, target: int) -> SoftmaxExplanation:
    """Softmax and cross-entropy for ``target``, written out with the actual numbers."""
    z = np.asarray(logits, dtype=np.float64)
    shifted = z - z.max()
    exps = np.exp(shifted)
    probs = exps / exps.sum()
    loss = float(-math.log(max(probs[target], 1e-300)))
    terms = " + ".join(f"{e:.3g}" for e in exps)
    text = (
        f"p({target}) = e^(z{target} − max z) / Σₖ e^(zₖ − max z) = {exps[target]:.3g} / ({terms}) "
        f"= {probs[target]:.4f};  cross-entropy if the true label is {target}: −ln {probs[target]:.4f} = {loss:.4f}"
    )
    return SoftmaxExplanation(z, exps, probs, int(target), loss, text)


SHOWN_KINDS = ("conv", "act", "pool")  # the layers whose maps the Draw page lays out


@dataclass(frozen=True)
class DigitAnalysis:
    """Everything the Draw & Predict page shows for one drawing, upload or (colour model) photo."""

    prep: Preprocessed  # the 28×28 image and the preprocessing stages; for a photo, its brightness (H, W)
    prediction: Prediction | None  # None when there is nothing to classify (empty or covered)
    layers: tuple[LayerMaps, ...]  # conv / activation / pooling outputs, in order
    saliency: np.ndarray | None  # (28, 28) in [0, 1], gradient × input of the predicted class
    softmax: SoftmaxExplanation | None  # the arithmetic for the predicted class
    problem: str  # "" or one sentence: why nothing is predicted
    conv_inputs: dict[str, np.ndarray] = field(default_factory=dict)  # conv name -> its input (C, H, W)
    photo: FittedPhoto | None = None  # a colour model's input: the photo, its square and the (3, H, W) picture


@lru_cache(maxsize=32)
def _layer_kinds(spec: ModelSpec) -> MappingProxyType[str, tuple[str, str]]:
    """name -> (kind, the convolution that made its maps) for every layer of ``spec``."""
    out, last_conv = {}, ""
    for info in infer_shapes(spec):
        if info.kind == "conv":
            last_conv = info.name
        elif info.kind == "flatten":
            last_conv = ""
        out[info.name] = (info.kind, last_conv)
    return MappingProxyType(out)  # cached per architecture: read-only


def analyse(model: nn.Module, spec: ModelSpec, img: np.ndarray, *, background: str = "dark") -> DigitAnalysis:
    """Preprocess ``img`` (H, W[, C]) and run it through ``model``: prediction, maps, saliency, arithmetic.

    An empty or covered picture gets ``problem`` and no prediction: a confident answer would be wrong.
    ``background="dark"`` for the canvas (white ink on black); "auto" for uploads and scans.
    """
    prep = preprocess_digit(img, background=background)
    canvas = background == "dark"
    if prep.empty or prep.ink_fraction < MIN_INK:
        return DigitAnalysis(
            prep,
            None,
            (),
            None,
            None,
            "The canvas is empty: draw a digit from 0 to 9."
            if canvas
            else "No digit stands out in this image: upload a picture of one digit.",
        )
    if prep.ink_fraction > MAX_INK:
        return DigitAnalysis(
            prep,
            None,
            (),
            None,
            None,
            "Most of the canvas is covered: draw one digit with "
            "thin strokes on the black background, or clear the canvas."
            if canvas
            else "Most of this image is ink: upload a picture of one digit on a plain background.",
        )
    return _read(model, spec, torch.from_numpy(normalise(prep.image)), prep, lambda z: judge(z, prep.ink_fraction))


PHOTO_HINT = "A photo of one object, filling most of the picture, is read best."


def analyse_photo(
    model: nn.Module, spec: ModelSpec, photo: FittedPhoto, classes: tuple[str, ...] | None = None
) -> DigitAnalysis:
    """A colour model's reading of ``photo`` (already fitted to its input: ``imaging.photo.fit_photo``),
    normalised per channel exactly as its training images were: prediction, maps, saliency, arithmetic."""
    brightness = (np.tensordot((0.299, 0.587, 0.114), photo.image, axes=1) / 255.0).astype(np.float32)
    brightness.flags.writeable = False
    prep = Preprocessed(brightness, {}, 1.0, False, False)
    x = images_to_tensor(photo.image[None])
    pixels = torch.from_numpy(photo.image[None].astype(np.float32) / 255.0)
    return replace(_read(model, spec, x, prep, lambda z: judge(z, None, classes, PHOTO_HINT), pixels), photo=photo)


def _read(
    model: nn.Module,
    spec: ModelSpec,
    x: torch.Tensor,
    prep: Preprocessed,
    verdict,
    pixels: torch.Tensor | None = None,
) -> DigitAnalysis:
    """One pass of the normalised input ``x`` (1, C, H, W) with gradients on: the maps of every shown layer,
    the answer (``verdict(logits)``), the saliency of the answer (on ``pixels``, the picture before
    normalisation, when given) and each convolution's input."""
    model.eval()
    x = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():  # one pass gives the maps, the answer and (backwards) the saliency
        acts = forward_all(model, x)
        scores = next(reversed(acts.values()))
        logits = scores[0].detach().double().numpy()
        pred = verdict(logits)
        sal = _gradient_times_ink(scores[0, pred.label], x, pixels)
    kinds = _layer_kinds(spec)
    layers = tuple(
        LayerMaps(name, tuple(a.shape[1:]), a[0].detach().float().numpy(), *kinds.get(name, ("", "")))
        for name, a in acts.items()
        if a.dim() == 4 and kinds.get(name, ("",))[0] in SHOWN_KINDS
    )
    inputs, previous = {}, x[0].detach()
    for name, a in acts.items():
        if kinds.get(name, ("",))[0] == "conv":
            inputs[name] = previous.float().numpy()
        previous = a[0].detach()
    return DigitAnalysis(prep, pred, layers, sal, softmax_explanation(logits, pred.label), "", inputs)


def conv_weights(model: nn.Module, name: str) -> tuple[np.ndarray, np.ndarray]:
    """The weights (F, C, KH, KW) and biases (F,) of the convolution called ``name`` in a built model."""
    module = dict(model.named_children()).get(name)
    if not isinstance(module, nn.Conv2d):
        raise ValueError(f"The model has no convolution called {name!r}.")
    bias = module.bias.detach().double().numpy() if module.bias is not None else np.zeros(module.out_channels)
    return module.weight.detach().double().numpy().copy(), bias.copy()


@dataclass(frozen=True)
class ConvHandoff:
    """One feature map's convolution, small enough to step through on the Convolution page, with the
    layer's exact geometry (an even kernel with "same" padding pads one more pixel at the bottom and right,
    as PyTorch does)."""

    image: np.ndarray  # (H, W) the input channel
    kernel: np.ndarray  # (KH, KW) the weights applied to it
    bias: float  # the layer's bias when the input has one channel, else 0 (a partial sum)
    padding: tuple[int, int, int, int]  # (top, bottom, left, right) pixels
    stride: tuple[int, int]  # (rows, columns)
    dilation: tuple[int, int]  # (rows, columns)
    in_channel: int  # which input channel (0-based)
    n_in: int  # how many input channels the full map sums over
    label: str  # "conv2 map 5, input channel 3 of 16"
    # a colour network's first convolution (it reads the red, green and blue channels) is handed over whole, for the
    # Convolution page's several-channels view: every input channel, the filter's kernel for each, its bias
    channels: np.ndarray | None = None  # (3, H, W) the layer's input as the network computed it
    kernels: np.ndarray | None = None  # (3, KH, KW)
    full_bias: float = 0.0  # the map's bias

    @property
    def settings(self) -> ops.ConvSettings:
        """The numpy engine's settings for this convolution."""
        return ops.ConvSettings(stride=self.stride, padding=self.padding, dilation=self.dilation)


def handoff(model: nn.Module, spec: ModelSpec, analysis: DigitAnalysis, conv: str, channel: int) -> ConvHandoff:
    """The input channel and kernel behind map ``channel`` of convolution ``conv`` (the channel that
    contributes most when there are several), with the layer's padding, stride and dilation."""
    weights, biases = conv_weights(model, conv)
    inp = analysis.conv_inputs[conv].astype(np.float64)  # (C, H, W)
    layer = next(spec.layers[i.index] for i in infer_shapes(spec) if i.name == conv)
    k, s, d = layer.kernel, layer.stride, layer.dilation
    pads = ops.resolve_padding(layer.padding, (k, k), (s, s), (d, d))
    settings = ops.ConvSettings(stride=(s, s), padding=pads, dilation=(d, d))
    n_in = inp.shape[0]
    c = 0
    if n_in > 1:  # the channel whose partial sum is largest
        parts = [
            ops.conv2d(inp[i][None, None], weights[channel, i][None, None], settings=settings) for i in range(n_in)
        ]
        c = int(np.argmax([np.abs(part).sum() for part in parts]))
    label = f"{conv} map {channel + 1}" + (
        f", input channel {c + 1} of {n_in} (the largest contribution)" if n_in > 1 else ""
    )
    bias = float(biases[channel]) if n_in == 1 else 0.0
    whole = {}
    if n_in == 3 and spec.input_shape[0] == 3 and conv == next(i.name for i in infer_shapes(spec) if i.kind == "conv"):
        whole = dict(channels=inp, kernels=weights[channel], full_bias=float(biases[channel]))
    return ConvHandoff(inp[c], weights[channel, c], bias, pads, (s, s), (d, d), c, n_in, label, **whole)
