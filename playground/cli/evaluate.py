"""``python -m playground evaluate``: accuracy, per-class accuracy and the confusion matrix of a saved model
on one split, with a warning when the model was trained or validated on those images.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

from playground.cli.common import EngineCliError, guard, load_model


def run_evaluate(args: argparse.Namespace) -> int:
    """The ``evaluate`` command: 0 after printing the scores, 2 after one error line."""
    return guard(_evaluate, args)


def overlap_warnings(metadata: dict[str, Any], dataset: str, indices: Any, split: str) -> list[str]:
    """Sentences saying which of the evaluated images (``indices``) the model was trained or validated on."""
    import numpy as np

    idx = np.asarray(indices, dtype=np.int64)
    out = []
    data = metadata.get("data") if isinstance(metadata, dict) else None
    if not isinstance(data, dict):
        return out
    for role, verb in (("train", "trained"), ("val", "selected (validated)")):
        rec = data.get(role)
        if not isinstance(rec, dict) or rec.get("name") != dataset:
            continue
        seen = np.zeros(len(idx), dtype=bool)
        for pair in rec.get("index_ranges") or []:
            try:
                a, b = int(pair[0]), int(pair[1])
            except (TypeError, ValueError, IndexError):
                continue
            seen |= (idx >= a) & (idx <= b)
        n = int(seen.sum())
        if n:
            out.append(
                f"the model was {verb} on {n:,} of the {len(idx):,} images of the {split} split, "
                f"so this score overstates how it does on new images."
            )
    return out


def _evaluate(args: argparse.Namespace) -> int:
    from playground.data.datasets import ProgressBar, load_dataset
    from playground.nn.checkpoints import trained_classes
    from playground.nn.trainer import evaluate

    loaded = load_model(args.model)
    data = load_dataset(
        args.dataset,
        args.data_dir,
        split=args.split,
        progress=ProgressBar("downloading"),
        seed=int((loaded.metadata.get("config") or {}).get("seed", 0) or 0),
    )
    n_out = loaded.spec.num_classes  # the model was built from its spec and its tensors checked against it
    if n_out != len(data.classes):
        raise EngineCliError(f"The model has {n_out} outputs but {args.dataset} has {len(data.classes)} classes.")
    if data.input_shape != tuple(loaded.spec.input_shape):
        wanted, got = ("×".join(map(str, s)) for s in (loaded.spec.input_shape, data.input_shape))
        raise EngineCliError(
            f"The model reads {wanted} images but {args.dataset}'s are {got}: evaluate it on a data set of its "
            f"own kind ({'colour' if loaded.spec.input_shape[0] == 3 else 'grey'})."
        )
    for warning in overlap_warnings(loaded.metadata, data.name, data.indices, args.split):
        print(f"warning: {warning}", file=sys.stderr)
    trained = trained_classes(loaded.metadata)
    if trained is not None and tuple(trained) != tuple(data.classes):
        print(
            f"warning: the model was trained to tell {', '.join(trained[:3])}, … apart, not {args.dataset}'s "
            f"{', '.join(data.classes[:3])}, …: its answers are numbered alike but mean other things.",
            file=sys.stderr,
        )
    res = evaluate(loaded.model, data)
    per_class = [None if math.isnan(v) else float(v) for v in res.per_class_accuracy]
    if args.json:
        print(
            json.dumps(
                {
                    "model": str(args.model),
                    "dataset": data.name,
                    "split": args.split,
                    "source": data.source,
                    "synthetic": data.synthetic,
                    "count": len(data),
                    "accuracy": res.accuracy,
                    "loss": res.loss if math.isfinite(res.loss) else None,
                    "classes": list(data.classes),
                    "per_class_accuracy": per_class,
                    "confusion": res.confusion.tolist(),
                }
            )
        )
        return 0
    print(
        f"{data.source}{' (synthetic)' if data.synthetic and 'ynthetic' not in data.source else ''}: "
        f"{len(data):,} images"
    )
    print(f"accuracy {100 * res.accuracy:.2f} % ({int(res.confusion.trace()):,}/{len(data):,}), loss {res.loss:.4f}")
    print("per class:")
    for name, acc, total in zip(data.classes, per_class, res.confusion.sum(1)):
        print(f"  {name:>12}  {'n/a' if acc is None else f'{100 * acc:6.2f} %'}  ({int(total):,} images)")
    k = len(data.classes)
    print("confusion matrix (rows: true class, columns: predicted class):")
    print("      " + "".join(f"{j:>6}" for j in range(k)))
    for i in range(k):
        print(f"{i:>6}" + "".join(f"{int(v):>6}" for v in res.confusion[i]))
    return 0
