"""A class room's drawings as one ZIP file the lecturer downloads: every drawing as a 28×28 PNG, a CSV of
what was meant and what the model answered, and the labelled drawings in MNIST's IDX format (the format
``playground.data.idx.read_idx`` and every MNIST loader read), so the class's handwriting becomes a data set.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Sequence
from pathlib import Path
from tempfile import TemporaryDirectory

import numpy as np
from PIL import Image

from playground.data.idx import write_idx

IMAGES_IDX = "class-images-idx3-ubyte.gz"
LABELS_IDX = "class-labels-idx1-ubyte.gz"
CSV_FIELDS = ("id", "file", "meant", "predicted", "confidence", "sent_at_utc")


def _png(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8), mode="L").save(buf, "PNG")
    return buf.getvalue()


def export_zip(
    code: str,
    ids: Sequence[int],
    images: np.ndarray,
    meant: Sequence[int],
    predicted: Sequence[int],
    confidence: Sequence[float],
    sent_at: Sequence[float],
    model_name: str,
) -> bytes:
    """The ZIP of room ``code``: ``meant`` uses -1 for "not said"; ``predicted``/``confidence`` are the
    answers of the model called ``model_name`` (named in the README inside)."""
    buf = io.BytesIO()
    rows = io.StringIO()
    writer = csv.writer(rows, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    images = np.asarray(images, dtype=np.uint8).reshape(-1, 28, 28)
    meant_ = np.asarray(meant, dtype=np.int64)
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for i, img, m, p, c, t in zip(ids, images, meant_, predicted, confidence, sent_at):
            name = f"drawings/{int(i):06d}.png"
            z.writestr(f"{code}/{name}", _png(img))
            when = dt.datetime.fromtimestamp(float(t), dt.UTC).isoformat(timespec="seconds")
            writer.writerow((int(i), name, "" if m < 0 else int(m), int(p), f"{float(c):.4f}", when))
        z.writestr(f"{code}/labels.csv", rows.getvalue())
        labelled = meant_ >= 0
        with TemporaryDirectory() as tmp:
            for name, array in (
                (IMAGES_IDX, images[labelled]),
                (LABELS_IDX, meant_[labelled].astype(np.uint8)),
            ):
                z.write(write_idx(Path(tmp) / name, array), f"{code}/{name}")
        z.writestr(f"{code}/README.txt", _readme(code, len(images), int(labelled.sum()), model_name))
    return buf.getvalue()


def _readme(code: str, n: int, labelled: int, model_name: str) -> str:
    return (
        f"CNN Playground class room {code}: {n} drawings, {labelled} with the digit the student meant.\n\n"
        "drawings/NNNNNN.png  each drawing as the 28x28 picture the network read (white ink on black)\n"
        f"labels.csv           id, file, meant (empty: not said), predicted and confidence by {model_name},\n"
        "                     and when it was sent (UTC)\n"
        f"{IMAGES_IDX}  the {labelled} labelled drawings in MNIST's IDX format (N x 28 x 28 bytes)\n"
        f"{LABELS_IDX}  their digits, in the same order\n\n"
        "No names, addresses or other personal data are stored with the drawings.\n"
    )
