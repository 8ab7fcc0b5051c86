"""Fine-tune on the class: the lecture's punchline. The model that reads the room is trained a few epochs
more on the class's labelled drawings (each several times) mixed with MNIST training images, in a training
child through the server's training queue, and judged before and after on what it never trained on: every
fifth labelled drawing (``nn.class_report.held_out``) and MNIST's validation images.

The scores after training are computed in the training child (the run's test set is the held-out drawings
followed by the MNIST validation images); only the "before" reading of MNIST's validation images runs in
the server process, once per start (1,000 images, a fraction of a second).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from torch import nn

from playground.data.datasets import DIGITS, Dataset
from playground.nn.architecture import ModelSpec
from playground.nn.class_report import ClassReport, class_dataset, fine_tune_data, held_out
from playground.nn.config import ConfigError, TrainConfig, evaluate
from playground.serve import jobs
from playground.serve.process_trainer import ProcessTrainer
from playground.serve.worker import weights

MIN_LABELLED = 10  # labelled drawings needed before fine-tuning makes sense (two of them held out)
MNIST_IMAGES = 2000  # MNIST training images mixed in, so the model keeps reading MNIST
REPEAT = 5  # each labelled class drawing is seen this many times an epoch
TUNE_CONFIG = TrainConfig(optimizer="adam", lr=3e-4, batch_size=64, epochs=3, augment=True, seed=0, threads=1)


@dataclass(frozen=True)
class Scores:
    """Accuracy 0..1 (None without images) on the held-out class drawings and on MNIST's validation images."""

    held_out: float | None
    held_out_n: int
    mnist_val: float | None
    mnist_n: int


@dataclass
class Tuning:
    """One fine-tuning of a room's model: what it started from, the run, and the outcome once it ended."""

    code: str
    model_name: str
    trained_on: int  # labelled class drawings trained on (each REPEAT times)
    before: Scores
    test: Dataset  # what "after" is measured on: the held-out drawings, then MNIST's validation images
    trainer: ProcessTrainer
    ticket: jobs.Ticket
    queue: jobs.JobQueue
    after: Scores | None = None
    model: nn.Module | None = None  # the fine-tuned model, once the run finished

    @property
    def position(self) -> int | None:
        return self.queue.position(self.ticket)

    def stop(self) -> None:
        self.queue.cancel(self.ticket)
        self.trainer.stop()

    def finish(self) -> bool:
        """Once the run has ended: the fine-tuned model and its scores (from the child's test evaluation).
        True when this call did it."""
        if self.after is not None or self.trainer.result is None:
            return False
        ev = self.trainer.test_evaluation
        n_held = self.before.held_out_n
        if self.trainer.result.state == "finished" and ev is not None:
            right = ev.predictions == np.asarray(self.test.labels)
            self.after = Scores(
                float(right[:n_held].mean()) if n_held else None,
                n_held,
                float(right[n_held:].mean()) if len(right) > n_held else None,
                len(right) - n_held,
            )
            self.model = self.trainer.model_copy()
        else:
            self.after = Scores(None, n_held, None, 0)
        return True


def check(r: ClassReport) -> str:
    """ "" when the room has enough labelled drawings to fine-tune on, else the sentence saying why not."""
    labelled = int(r.labelled.sum())
    if labelled < MIN_LABELLED:
        return (
            f"Fine-tuning needs at least {MIN_LABELLED} drawings whose digit the students said (two of them are kept "
            f"out to judge it); this room has {labelled}."
        )
    return ""


def start(
    code: str,
    model_name: str,
    model: nn.Module,
    spec: ModelSpec,
    r: ClassReport,
    mnist_train: Dataset,
    mnist_val: Dataset,
    queue: jobs.JobQueue | None = None,
    config: TrainConfig = TUNE_CONFIG,
    classes: tuple[str, ...] = DIGITS,
) -> Tuning:
    """Queue the fine-tuning of ``model`` on room ``code``'s labelled drawings; ConfigError says why not."""
    problem = check(r)
    if problem:
        raise ConfigError(problem, "class")
    if tuple(classes) != DIGITS or tuple(mnist_train.classes) != DIGITS:
        raise ConfigError("Only a digit model can be fine-tuned on the class's digits.", "model")
    held = class_dataset(r, held_out(r), code, "test")
    n = min(MNIST_IMAGES, len(mnist_train))
    mnist = dataclasses.replace(
        mnist_train,
        images=mnist_train.images[:n],
        labels=mnist_train.labels[:n],
        indices=mnist_train.indices[:n],
        source=f"{mnist_train.source}, first {n:,}",
    )
    train = fine_tune_data(r, mnist, code, repeat=REPEAT)
    test = Dataset(
        "class+mnist-val",
        np.concatenate([held.images, mnist_val.images]),
        np.concatenate([held.labels, mnist_val.labels]).astype(np.int64),
        np.concatenate([held.indices, mnist_val.indices]).astype(np.int64),
        f"{held.source} (held out) and {mnist_val.source}",
        False,
        DIGITS,
        "test",
    )
    val_before = evaluate(model, mnist_val)
    before = Scores(r.accuracy(held_out(r)), len(held), val_before.accuracy if val_before else None, len(mnist_val))
    trainer = ProcessTrainer(spec, config, train, held, test, start_weights=weights(model))
    queue = queue or jobs.default_queue()
    trained_on = (len(train) - len(mnist)) // REPEAT
    return Tuning(code, model_name, trained_on, before, test, trainer, queue.submit(trainer), queue)
