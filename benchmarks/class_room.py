"""What the lecturer's live screen costs the server per refresh, for a room of N drawings (default 500).

Run: python -m benchmarks.class_room [--drawings N] [--repeat R] [--postgres URL]

Fills a throwaway class store (SQLite, or the PostgreSQL server at URL) with held-out MNIST test digits redrawn
as canvas drawings, then times, each as the median of R repeats:
- an idle refresh's question to the store: the room's version (while no one sends, the screen asks only
  this; its report and figures are kept from the last change);
- a refresh after one new drawing: every drawing read back, only the new one read by the model, the grouped
  figure, the least-sure strip and the confusion matrix built (what the screen does while the class sends);
- the first refresh: the model reads the whole room (a model switch, or a restart);
- one student's send (the transaction that checks the limits and stores the drawing).
Ratios are against the first refresh, measured in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch

from benchmarks.harness import mnist_dir
from playground.data.datasets import DIGITS, load_dataset
from playground.figures import classroom as fig
from playground.figures.training import confusion_figure
from playground.imaging.canvas_style import canvas_style_digits
from playground.nn.checkpoints import load_checkpoint
from playground.nn.shipped import SHIPPED_MODEL
from playground.serve.class_room import room_report
from playground.serve.class_store import open_store


def _median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def _figures(r) -> None:
    pred, conf = r.predicted, r.confidence

    def thumbs(positions):
        return [fig.Thumb(r.images[i], int(r.ids[i]), int(r.meant[i]), int(pred[i]), float(conf[i])) for i in positions]

    fig.grouped_figure([thumbs(g) for g in r.groups()], DIGITS).to_dict()
    fig.strip_figure(thumbs(r.least_confident(12)), DIGITS, per_row=6).to_dict()
    confusion_figure(r.confusion(), DIGITS, true_label="meant").to_dict()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--drawings", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--postgres", default=None, help="a postgresql:// URL instead of a throwaway SQLite file")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)  # as a page's script thread runs it
    model = load_checkpoint(SHIPPED_MODEL).model.eval()
    test = load_dataset("mnist", mnist_dir(), split="test", download_ok=False)
    n = min(args.drawings, len(test))
    drawn = canvas_style_digits(test.images[:n], seed=0)
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(args.postgres or str(Path(tmp) / "class.sqlite3"))
        room, _ = store.open_room()
        for i in range(n - 1):
            store.send(room.code, f"s{i % 60}", drawn[i], int(test.labels[i]), now=float(4 * i))
        first = _median_ms(lambda: _figures(room_report(store.drawings(room.code), model)[0]), max(3, args.repeat // 5))
        _, known = room_report(store.drawings(room.code), model)
        idle = _median_ms(lambda: store.version(room.code), args.repeat)
        sends = []

        def one_more() -> None:
            i = len(sends)
            t = time.perf_counter()
            store.send(room.code, f"new{i}", drawn[n - 1], int(test.labels[n - 1]), now=1e9 + 4 * i)
            sends.append((time.perf_counter() - t) * 1000)
            r, _ = room_report(store.drawings(room.code), model, known)
            _figures(r)

        new = _median_ms(one_more, args.repeat)
        store.close()
    kind = "PostgreSQL" if args.postgres else "SQLite"
    print(f"class room of {n:,} drawings ({kind}, one torch thread):")
    print(f"  idle refresh: version check      {idle:8.2f} ms")
    print(
        f"  refresh after one new drawing    {new:8.1f} ms  (send + read-back and figures; {new / first:.2f}× the first)"
    )
    print(f"  first refresh (whole room read)  {first:8.1f} ms")
    print(f"  one student's send               {statistics.median(sends):8.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
