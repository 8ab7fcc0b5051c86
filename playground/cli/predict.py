"""``python -m playground predict``: the label and the ten class probabilities of image files (canvas
drawings or scans), after the Draw page's MNIST-style preprocessing.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from playground.cli.common import EngineCliError, guard, load_model
from playground.nn.shipped import default_model_path


def run_predict(args: argparse.Namespace) -> int:
    """The ``predict`` command: 0 after one result per image, 2 after one error line."""
    return guard(_predict_files, args)


def _predict_files(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from playground.imaging.images import open_image
    from playground.imaging.preprocess import normalise, preprocess_digit

    prepared = []  # read every file first: a bad one stops before any output
    for name in args.images:
        p = Path(name)
        if not p.is_file():
            raise EngineCliError(f"Image file not found: {name}." if not p.exists() else f"{name} is not a file.")
        try:
            img = open_image(p.read_bytes())
        except ValueError as err:
            raise EngineCliError(f"{name}: {err}") from None
        prepared.append((name, preprocess_digit(np.asarray(img))))
    loaded = load_model(args.model or default_model_path())
    classes = _classes(loaded.metadata)
    for name, pre in prepared:
        if pre.empty:
            if args.json:
                print(json.dumps({"file": name, "label": None, "probabilities": None, "empty": True}))
            else:
                print(f"{name}: empty image (no ink found), nothing to classify")
            continue
        with torch.no_grad():
            logits = loaded.model(torch.from_numpy(normalise(pre.image)))
        probs = torch.softmax(logits.double(), dim=1)[0].numpy()
        label = int(probs.argmax())
        if args.json:
            print(json.dumps({"file": name, "label": label, "probabilities": [round(float(v), 6) for v in probs]}))
        else:
            shown = " ".join(f"{j}:{v:.3f}" for j, v in enumerate(probs))
            cls = f" ({classes[label]})" if classes and classes[label] != str(label) else ""
            print(
                f"{name}: {label}{cls} {100 * probs[label]:.1f} %{' (inverted scan)' if pre.inverted else ''}"
                f"  [{shown}]"
            )
    return 0


def _classes(metadata: dict[str, Any]) -> tuple[str, ...] | None:
    from playground.data.datasets import DATASETS

    name = ((metadata.get("data") or {}).get("train") or {}).get("name") if isinstance(metadata, dict) else None
    return DATASETS[name].classes if name in DATASETS else None
