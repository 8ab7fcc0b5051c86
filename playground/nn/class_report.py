"""What a model makes of a class's drawings: each drawing's answer and confidence, the class's confusion matrix
(the digit meant against the answer), the least confident drawings, and the data sets that fine-tune a model
on the class. Plain arrays in, plain arrays out: the class page lays them out, the store keeps the drawings.

Fine-tuning is judged on drawings it did not train on: every fifth labelled drawing (in the order sent) is held
out (``held_out``), so "before and after" is measured on the class's handwriting, not on what was learnt.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from playground.data.datasets import DIGITS, Dataset
from playground.imaging.preprocess import normalise

NONE = -1  # in ``meant``: the student did not say which digit they meant
HELD_OUT_EVERY = 5  # every fifth labelled drawing is kept out of fine-tuning to judge it


@dataclass(frozen=True)
class ClassReport:
    """One model's reading of a room's drawings, in the store's order (oldest first)."""

    ids: np.ndarray  # (N,) int64 drawing numbers
    images: np.ndarray  # (N, 28, 28) uint8
    meant: np.ndarray  # (N,) int64, NONE when not given
    probabilities: np.ndarray  # (N, K) float64 softmax
    students: int  # distinct senders

    @property
    def predicted(self) -> np.ndarray:
        return self.probabilities.argmax(1) if len(self.ids) else np.zeros(0, np.int64)

    @property
    def confidence(self) -> np.ndarray:
        return self.probabilities.max(1) if len(self.ids) else np.zeros(0)

    @property
    def labelled(self) -> np.ndarray:
        return self.meant != NONE

    @property
    def classes(self) -> int:
        return self.probabilities.shape[1] if self.probabilities.ndim == 2 else len(DIGITS)

    def confusion(self) -> np.ndarray:
        """(K, K) counts of labelled drawings: rows the digit meant, columns the model's answer."""
        k, m = self.classes, self.labelled
        return np.bincount(self.meant[m] * k + self.predicted[m], minlength=k * k).reshape(k, k)

    def accuracy(self, mask: np.ndarray | None = None) -> float | None:
        """Share of labelled drawings (within ``mask``) answered as meant; None when there are none."""
        m = self.labelled if mask is None else self.labelled & mask
        return float((self.predicted[m] == self.meant[m]).mean()) if m.any() else None

    def least_confident(self, n: int) -> np.ndarray:
        """Positions of the ``n`` drawings the model is least sure of, least sure first (ties: older first)."""
        return np.lexsort((self.ids, self.confidence))[:n]

    def groups(self) -> list[np.ndarray]:
        """For each answer 0..K-1, the positions of the drawings given it, most confident first."""
        order = np.lexsort((self.ids, -self.confidence))
        answers = self.predicted[order]
        return [order[answers == k] for k in range(self.classes)]


@torch.no_grad()
def probabilities(model: nn.Module, images: np.ndarray, batch: int = 256) -> np.ndarray:
    """Softmax (N, K) float64 of (N, 28, 28) uint8 drawings, in batches (no gradients, eval mode kept)."""
    out = [
        torch.softmax(model(torch.from_numpy(normalise(images[i : i + batch]))), 1)
        for i in range(0, len(images), batch)
    ]
    return torch.cat(out).double().numpy() if out else np.zeros((0, len(DIGITS)))


def report(
    model: nn.Module,
    ids: Sequence[int],
    images: np.ndarray,
    meant: Sequence[int | None],
    senders: Sequence[str],
    known: Mapping[int, np.ndarray] | None = None,
) -> tuple[ClassReport, dict[int, np.ndarray]]:
    """The report, and every drawing's probabilities by id; ``known`` (an earlier call's, for the same model)
    saves recomputing drawings already read, so a live screen pays only for what was sent since."""
    ids_ = np.asarray(ids, dtype=np.int64)
    imgs = np.asarray(images, dtype=np.uint8).reshape(-1, 28, 28)
    known = dict(known or {})
    new = [i for i, d in enumerate(ids_) if int(d) not in known]
    if new:
        for i, p in zip(new, probabilities(model, imgs[new])):
            known[int(ids_[i])] = p
    probs = np.stack([known[int(d)] for d in ids_]) if len(ids_) else np.zeros((0, len(DIGITS)))
    meant_ = np.array([NONE if m is None else int(m) for m in meant], dtype=np.int64)
    kept = {int(d): known[int(d)] for d in ids_}  # drawings deleted since are forgotten
    return ClassReport(ids_, imgs, meant_, probs, len(set(senders))), kept


def held_out(r: ClassReport) -> np.ndarray:
    """Which drawings judge a fine-tuning and are never trained on: every HELD_OUT_EVERY-th labelled drawing
    of the room in the order sent (the 5th, 10th, ...), so ten labelled drawings keep two out."""
    rank = np.cumsum(r.labelled) - 1  # each labelled drawing's place among the labelled ones
    return r.labelled & (rank % HELD_OUT_EVERY == HELD_OUT_EVERY - 1)


def class_dataset(r: ClassReport, mask: np.ndarray, code: str, split: str) -> Dataset:
    """The labelled drawings within ``mask`` as a data set (image numbers: the drawings' ids)."""
    m = r.labelled & mask
    return Dataset(
        "class",
        r.images[m],
        r.meant[m],
        r.ids[m],
        f"class room {code}: {int(m.sum())} labelled drawings",
        False,
        DIGITS,
        split,
    )


def fine_tune_data(r: ClassReport, mnist: Dataset, code: str, repeat: int = 5) -> Dataset:
    """What a fine-tuning trains on: the MNIST images given (so the model keeps reading MNIST) and the class's
    labelled drawings that are not held out, each ``repeat`` times (a class has tens, MNIST thousands)."""
    own = class_dataset(r, ~held_out(r), code, "train")
    images = np.concatenate([mnist.images, *([own.images] * repeat)])
    labels = np.concatenate([mnist.labels, *([own.labels] * repeat)]).astype(np.int64)
    indices = np.concatenate([mnist.indices, *([own.indices] * repeat)]).astype(np.int64)
    return Dataset(
        "mnist+class",
        images,
        labels,
        indices,
        f"{mnist.source} and class room {code}'s {len(own)} labelled drawings ×{repeat}",
        bool(mnist.synthetic),
        DIGITS,
        "train",
    )
