"""``python -m playground predict``: the label and the class probabilities of image files: canvas drawings or
scans after the Draw page's MNIST-style preprocessing, or, for a colour model, photos cut to their centre
square and resized to its input, as the Draw page does.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from playground.cli.common import EngineCliError, guard, load_model
from playground.nn.shipped import default_model_path


def run_predict(args: argparse.Namespace) -> int:
    """The ``predict`` command: 0 after one result per image, 2 after one error line."""
    return guard(_predict_files, args)


def _predict_files(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from playground.imaging.images import open_image, open_photo
    from playground.imaging.photo import fit_photo
    from playground.imaging.preprocess import normalise, preprocess_digit
    from playground.nn.checkpoints import trained_classes
    from playground.nn.config import images_to_tensor
    from playground.nn.insight import judge

    loaded = load_model(args.model or default_model_path())
    channels, *side = loaded.spec.input_shape
    prepared = []  # read every file first: a bad one stops before any output
    for name in args.images:
        p = Path(name)
        if not p.is_file():
            raise EngineCliError(f"Image file not found: {name}." if not p.exists() else f"{name} is not a file.")
        try:
            img = (open_photo if channels == 3 else open_image)(p.read_bytes())
        except ValueError as err:
            raise EngineCliError(f"{name}: {err}") from None
        if channels == 3:  # a colour model: the photo's centre square, resized to the input
            prepared.append((name, None, images_to_tensor(fit_photo(img, tuple(side)).image[None])))
        else:
            pre = preprocess_digit(np.asarray(img))
            prepared.append((name, pre, None if pre.empty else torch.from_numpy(normalise(pre.image))))
    classes = trained_classes(loaded.metadata)
    for name, pre, x in prepared:
        if x is None:
            if args.json:
                print(json.dumps({"file": name, "label": None, "probabilities": None, "empty": True}))
            else:
                print(f"{name}: empty image (no ink found), nothing to classify")
            continue
        with torch.no_grad():
            probs = judge(loaded.model(x)[0].double().numpy()).probabilities
        label = int(probs.argmax())
        if args.json:
            record = {"file": name, "label": label, "probabilities": [round(float(v), 6) for v in probs]}
            if classes and classes[label] != str(label):
                record["class"] = classes[label]
            print(json.dumps(record))
        else:
            shown = " ".join(f"{j}:{v:.3f}" for j, v in enumerate(probs))
            cls = f" ({classes[label]})" if classes and classes[label] != str(label) else ""
            inverted = " (inverted scan)" if pre is not None and pre.inverted else ""
            print(f"{name}: {label}{cls} {100 * probs[label]:.1f} %{inverted}  [{shown}]")
    return 0
