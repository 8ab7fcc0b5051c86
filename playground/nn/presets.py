"""The architectures offered by name: the shipped model, the lecture notes' networks (LeNet-5, AlexNet for
28×28, the course's SimpleConvNet, the Keras lecture models, one of them for 32×32 colour images) and the
Build page's starting points. Grey presets read 1×28×28; the colour ones 3×32×32.
"""

from __future__ import annotations

from playground.nn.architecture import (
    LRN,
    Act,
    BatchNorm,
    Conv,
    Dense,
    Dropout,
    Flatten,
    ModelSpec,
    Pool,
    SpecError,
)

_R, _BR, _P, _F = Act("relu"), (BatchNorm(), Act("relu")), Pool("max", 2), Flatten()
_PLAYGROUND = (
    Conv(16, 3, padding=1),
    *_BR,
    Conv(16, 3, padding=1),
    *_BR,
    _P,
    Conv(32, 3, padding=1),
    *_BR,
    Conv(32, 3, padding=1),
    *_BR,
    _P,
    _F,
    Dense(128),
    _R,
    Dropout(0.3),
    Dense(10),
)
_TINYVGG = (Conv(10, 3), _R, Conv(10, 3), _R, _P, Conv(10, 3), _R, Conv(10, 3), _R, _P, _F, Dense(10))


PRESETS: dict[str, ModelSpec] = {
    # The shipped model: two blocks of (conv 3×3, batch norm, ReLU) ×2 + max pool, Dense 128, dropout.
    # 218,682 parameters (0.9 MB). Measured 99.3-99.5 % on MNIST images 8,000-9,999 after 8 epochs on
    # images 0-7,999 (train.RECOMMENDED_CONFIG: Adam 3e-3, one-cycle, batch 64, augmentation).
    "playground": ModelSpec("playground", _PLAYGROUND),
    # The course's SimpleConvNet ("Deep Learning from Scratch"): Convolution 30 5×5 → ReLU → Pooling →
    # Affine 100 → ReLU → Affine 10; the one the numpy engine also trains (--engine numpy).
    "simple-convnet": ModelSpec("simple-convnet", (Conv(30, 5), _R, _P, _F, Dense(100), _R, Dense(10))),
    # The Keras model of the lecture notes: two conv blocks (32 then 25 filters 3×3, ReLU, max pool 2).
    "keras-lecture": ModelSpec("keras-lecture", (Conv(32, 3), _R, _P, Conv(25, 3), _R, _P, _F, Dense(10))),
    # The classic Keras MNIST example: one conv, one pool, straight to the classifier.
    "keras-mnist": ModelSpec("keras-mnist", (Conv(32, 3), _R, _P, _F, Dense(10))),
    # LeNet-5 as published (LeCun et al. 1998): tanh, average-pool subsampling, 120-84-10 classifier (first
    # conv padded to keep 28×28, as the paper's 32×32 input did).
    "lenet5": ModelSpec(
        "lenet5",
        (
            Conv(6, 5, padding=2),
            Act("tanh"),
            Pool("avg", 2),
            Conv(16, 5),
            Act("tanh"),
            Pool("avg", 2),
            _F,
            Dense(120),
            Act("tanh"),
            Dense(84),
            Act("tanh"),
            Dense(10),
        ),
    ),
    # LeNet-5 as it is built today: ReLU and max pooling in place of tanh and average subsampling.
    "lenet5-modern": ModelSpec(
        "lenet5-modern",
        (Conv(6, 5, padding=2), _R, _P, Conv(16, 5), _R, _P, _F, Dense(120), _R, Dense(84), _R, Dense(10)),
    ),
    # AlexNet (Krizhevsky et al. 2012) scaled to 28×28: five convolutions with ReLU, local response
    # normalisation after the first two, overlapping 3×3 max pools, a dropout-regularised hidden layer (AlexNet
    # had two; one keeps the preset within the editor's layer budget).
    "alexnet-28": ModelSpec(
        "alexnet-28",
        (
            Conv(32, 5, padding=2),
            _R,
            LRN(),
            Pool("max", 3, 2),
            Conv(64, 5, padding=2),
            _R,
            LRN(),
            Pool("max", 3, 2),
            Conv(96, 3, padding=1),
            _R,
            Conv(96, 3, padding=1),
            _R,
            Conv(64, 3, padding=1),
            _R,
            _P,
            _F,
            Dense(256),
            _R,
            Dropout(0.5),
            Dense(10),
        ),
    ),
    # TensorFlow's "Deep MNIST" tutorial: two 5×5 conv blocks (32, 64), Dense 1024, dropout.
    "tf-tutorial": ModelSpec(
        "tf-tutorial",
        (Conv(32, 5, padding=2), _R, _P, Conv(64, 5, padding=2), _R, _P, _F, Dense(1024), _R, Dropout(0.5), Dense(10)),
    ),
    # CNN Explainer's TinyVGG on 1×28×28 input: two blocks of (conv 10 3×3, ReLU) ×2 + max pool.
    "tinyvgg": ModelSpec("tinyvgg", _TINYVGG),
    # Colour (3×32×32: CIFAR-10 and the synthetic colour shapes).
    # The first model of the lecture notes, exactly as written there for 32×32×3 images: Conv2D 32 3×3 ReLU
    # → MaxPooling 2 → Flatten → Dense 10 (the softmax is in the loss), trained with Adam for 5 epochs.
    "keras-notes": ModelSpec("keras-notes", (Conv(32, 3), _R, _P, _F, Dense(10)), (3, 32, 32)),
    # The shipped colour model's architecture: the playground preset's layers on 3×32×32 input.
    "playground-colour": ModelSpec("playground-colour", _PLAYGROUND, (3, 32, 32)),
    # CNN Explainer's TinyVGG on colour input, 3×32×32.
    "tinyvgg-rgb": ModelSpec("tinyvgg-rgb", _TINYVGG, (3, 32, 32)),
}


DEFAULT_PRESET = "playground"


def get_preset(name: str) -> ModelSpec:
    """The preset called `name`; SpecError listing the known names otherwise."""
    if name not in PRESETS:
        raise SpecError(f"Unknown preset {name!r}; choose one of {', '.join(PRESETS)}.")
    return PRESETS[name]
