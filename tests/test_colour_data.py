"""Colour data end to end below the pages: the synthetic colour shapes (and their shortcut variant), CIFAR-10
through ``load_dataset``, colour tensors normalised per channel, photos fitted to a colour model's input, and
a colour model trained on them."""

from __future__ import annotations

import colorsys

import numpy as np
import pytest
import torch
from PIL import Image
from test_cifar import batch_bytes

from playground.data import cifar, shapes
from playground.data.datasets import DATASETS, DataError, load_dataset
from playground.imaging.photo import COLOUR_MEAN, COLOUR_STD, STAGE_RESIZED, channels_last, fit_photo
from playground.nn.config import ConfigError, TrainConfig, augment_batch, check_data, images_to_tensor
from playground.nn.presets import PRESETS
from playground.nn.shapes import infer_shapes
from playground.nn.trainer import Trainer


def ink_colours(n: int, shortcut: bool) -> tuple[np.ndarray, np.ndarray]:
    """The mean colour (n, 3) of each image's ink (where its shape's mask is full) and the labels."""
    images, labels = shapes.colour_shapes(n, 0, shortcut=shortcut)
    inks = []
    for k in range(n):
        mask = shapes.shape_mask(int(labels[k]), np.random.default_rng([0, 2, k]))  # the same draws as render
        inks.append(images[k][:, mask > 0.99].mean(1) / 255)
    return np.array(inks), labels


def centroid_accuracy(colours: np.ndarray, labels: np.ndarray) -> float:
    """Accuracy of nearest class-mean colour, fitted on the first half and scored on the second."""
    half = len(labels) // 2
    means = np.stack([colours[:half][labels[:half] == c].mean(0) for c in range(10)])
    guess = np.argmin(((colours[half:, None, :] - means[None]) ** 2).sum(-1), 1)
    return float((guess == labels[half:]).mean())


def test_colour_shapes_are_deterministic_balanced_and_sliceable():
    a, la = shapes.colour_shapes(30, 3)
    b, lb = shapes.colour_shapes(10, 3, start=20)
    assert a.shape == (30, 3, 32, 32) and a.dtype == np.uint8
    np.testing.assert_array_equal(a[20:], b)
    np.testing.assert_array_equal(la[20:], lb)
    for block in range(3):  # each aligned block of ten holds every class once
        assert sorted(la[block * 10 : block * 10 + 10]) == list(range(10))
    c, _ = shapes.colour_shapes(30, 4)
    assert not np.array_equal(a, c)  # another seed, other images
    assert a.std() > 40  # real pictures: colour and contrast, not a flat field


def test_colour_alone_gives_the_class_away_only_in_the_shortcut_variant():
    normal, labels = ink_colours(600, shortcut=False)
    shortcut, labels2 = ink_colours(600, shortcut=True)
    np.testing.assert_array_equal(labels, labels2)
    assert centroid_accuracy(normal, labels) < 0.2  # chance is 0.1
    assert centroid_accuracy(shortcut, labels) > 0.95
    hues = np.array([colorsys.rgb_to_hsv(*c)[0] for c in shortcut])
    off = np.abs((hues - labels / 10 + 0.5) % 1.0 - 0.5)  # distance round the colour circle
    assert off.max() < shapes.SHORTCUT_JITTER + 0.02  # class k's ink has hue k/10


def test_the_shortcut_variant_draws_the_same_shapes_in_the_same_places(monkeypatch):
    masks = {False: [], True: []}
    real = shapes.shape_mask
    for variant in (False, True):
        monkeypatch.setattr(
            shapes, "shape_mask", lambda label, rng, v=variant: masks[v].append(real(label, rng)) or masks[v][-1]
        )
        shapes.colour_shapes(20, 0, shortcut=variant)
    for normal, shortcut in zip(masks[False], masks[True], strict=True):
        np.testing.assert_array_equal(normal, shortcut)
        assert 0.02 < (normal > 0.5).mean() < 0.7  # a shape of some size, inside the picture


def test_synthetic_colour_sets_load_with_their_splits_and_say_what_they_are():
    info = DATASETS["shapes"]
    assert info.colour and info.input_shape == (3, 32, 32) and info.classes == shapes.CLASSES
    test = load_dataset("shapes", split="test", subset=50)
    assert test.images.shape == (50, 3, 32, 32) and test.input_shape == (3, 32, 32)
    assert test.indices[0] == 8_000 and test.synthetic
    assert "not CIFAR-10" in test.source and "Colour shapes" in test.source
    short = load_dataset("shapes-shortcut", split="test", subset=50)
    assert "own colour" in short.source
    np.testing.assert_array_equal(short.labels, test.labels)


def write_cifar(folder, per_batch: int = 20) -> dict[str, tuple]:
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for i, name in enumerate((*cifar.TRAIN_FILES, cifar.TEST_FILE)):
        data, images, labels = batch_bytes(per_batch, i)
        (folder / name).write_bytes(data)
        written[name] = (images, labels)
    return written


def test_cifar10_loads_through_the_data_sets_with_its_own_splits(tmp_path):
    written = write_cifar(tmp_path / cifar.FOLDER)
    train = load_dataset("cifar10", tmp_path, split="train", download_ok=False)
    val = load_dataset("cifar10", tmp_path, split="val", download_ok=False)
    test = load_dataset("cifar10", tmp_path, split="test", download_ok=False)
    both = load_dataset("cifar10", tmp_path, split="trainval", download_ok=False)
    all_train = np.concatenate([written[n][0] for n in cifar.TRAIN_FILES])
    assert len(train) == 90 and len(val) == 10 and len(both) == 100  # nine to one, like 45,000 / 5,000
    np.testing.assert_array_equal(both.images, all_train)
    np.testing.assert_array_equal(test.images, written[cifar.TEST_FILE][0])
    assert train.input_shape == (3, 32, 32) and not train.synthetic
    assert test.source.startswith("CIFAR-10 test_batch.bin")
    with pytest.raises(DataError, match="kept apart"):
        load_dataset("cifar10", tmp_path, split="all", download_ok=False)


def test_cifar10_offline_names_the_folder(tmp_path):
    with pytest.raises(DataError, match=str(tmp_path).replace("\\", "\\\\") + ".*cifar-10-binary.tar.gz"):
        load_dataset("cifar10", tmp_path, split="train", download_ok=False)


def test_colour_tensors_are_normalised_channel_by_channel():
    images = np.random.default_rng(0).integers(0, 256, (4, 3, 5, 6), dtype=np.uint8)
    x = images_to_tensor(images)
    assert x.shape == (4, 3, 5, 6) and x.dtype == torch.float32
    for c in range(3):
        want = (images[:, c] / 255.0 - COLOUR_MEAN[c]) / COLOUR_STD[c]
        np.testing.assert_allclose(x[:, c].numpy(), want, atol=1e-5)
    grey = images_to_tensor(images[:, 0])
    assert grey.shape == (4, 1, 5, 6)
    moved = augment_batch(x, torch.Generator().manual_seed(0))
    assert moved.shape == x.shape and not torch.equal(moved, x)


def test_a_model_and_data_of_different_channels_are_one_sentence():
    grey_model, colour_model = PRESETS["keras-mnist"], PRESETS["keras-notes"]
    colour = load_dataset("shapes", split="val", subset=8)
    grey = load_dataset("synthetic", split="val", subset=8)
    cfg = TrainConfig(epochs=1)
    with pytest.raises(ConfigError, match=r"colour 3×32×32 .* reads 1×28×28 grey images"):
        check_data(grey_model, cfg, colour, None)
    with pytest.raises(ConfigError, match=r"grey 1×28×28 .* reads 3×32×32 colour images"):
        check_data(colour_model, cfg, grey, None)
    with pytest.raises(ConfigError, match="Canvas-style copies"):
        check_data(colour_model, TrainConfig(epochs=1, canvas_copies=1), colour, None)
    assert check_data(colour_model, cfg, colour, colour) == 8


def test_the_lecture_notes_colour_model_is_as_written():
    infos = infer_shapes(PRESETS["keras-notes"])
    assert [i.text for i in infos] == [
        "Conv 32 3×3, stride 1, pad 0",
        "ReLU",
        "Max pool 2×2, stride 2",
        "Flatten",
        "Dense 10",
    ]
    assert infos[0].in_shape == (3, 32, 32) and infos[0].out_shape == (32, 30, 30)
    assert infos[0].params == 32 * 3 * 9 + 32 and infos[-1].in_shape == (32 * 15 * 15,)
    assert sum(i.params for i in infos) == 896 + 72_010  # Keras's model.summary() for this network
    assert infer_shapes(PRESETS["tinyvgg-rgb"])[0].in_shape == (3, 32, 32)


def test_a_colour_model_trains_on_colour_shapes():
    train = load_dataset("shapes", split="train", subset=800)
    val = load_dataset("shapes", split="val", subset=200)
    trainer = Trainer(
        PRESETS["keras-notes"], TrainConfig(optimizer="adam", epochs=3, batch_size=32, lr=3e-3, seed=0), train, val
    )
    result = trainer.run()
    assert result.state == "finished"
    losses = [loss for _, loss in result.train_loss]
    assert np.mean(losses[-5:]) < np.mean(losses[:5])
    assert result.val_acc > 0.2  # learning: chance is 0.1
    assert trainer.metadata()["data"]["train"]["name"] == "shapes"


def test_a_photo_is_cropped_to_its_centre_square_and_resized():
    photo = np.zeros((200, 300, 4), np.uint8)
    photo[..., 3] = 255
    photo[:, 150:, 0] = 255  # right half red, left half black
    photo[:10, :, 3] = 0  # a transparent band at the top: laid on white
    fitted = fit_photo(Image.fromarray(photo, "RGBA"), (32, 32))
    assert fitted.crop == (50, 0, 250, 200) and fitted.size == (300, 200)
    assert fitted.image.shape == (3, 32, 32) and fitted.image.dtype == np.uint8
    mid = fitted.image[:, 16]
    assert mid[0, -1] == 255 and mid[1, -1] == 0  # red on the right
    assert mid[:, 0].max() == 0  # black on the left
    assert fitted.image[:, 0, 4].min() > 200  # the transparent top is white
    np.testing.assert_array_equal(channels_last(fitted.image), fitted.stages[STAGE_RESIZED])
    grey = fit_photo(Image.fromarray(np.full((40, 20), 77, np.uint8), "L"), (32, 32))
    assert grey.image.shape == (3, 32, 32) and (grey.image == 77).all()
    assert grey.crop == (0, 10, 20, 30)


def test_one_cifar_record_is_read_alone_and_counted_from_the_file(tmp_path):
    written = write_cifar(tmp_path / cifar.FOLDER, per_batch=7)
    test_file = tmp_path / cifar.FOLDER / cifar.TEST_FILE
    images, labels = written[cifar.TEST_FILE]
    assert cifar.record_count(test_file) == 7
    for k in (0, 6):
        image, label = cifar.read_record(test_file, k)
        np.testing.assert_array_equal(image, images[k])
        assert label == labels[k]
    with pytest.raises(DataError, match="holds 7 images; image 8 is not one of them"):
        cifar.read_record(test_file, 7)
    from playground.data.datasets import held_out_count, held_out_image

    assert held_out_count("cifar10", tmp_path) == 7
    image, label, what = held_out_image("cifar10", 3, tmp_path)
    assert what == "CIFAR-10 test image 4 of 7" and label == labels[3]
    test_file.write_bytes(test_file.read_bytes()[:-5])  # cut short
    with pytest.raises(DataError, match="not a whole number of 3,073-byte CIFAR-10 records"):
        cifar.record_count(test_file)
    damaged = bytearray(batch_bytes(2, 9)[0])
    damaged[cifar.RECORD] = 12  # the second record's label byte
    test_file.write_bytes(bytes(damaged))
    with pytest.raises(DataError, match="record 1 has label 12"):
        cifar.read_record(test_file, 1)


def test_a_phone_sized_jpeg_is_decoded_small_and_a_huge_png_is_refused():
    import io

    from playground.imaging import images

    rng = np.random.default_rng(0)
    photo = Image.fromarray(rng.integers(0, 255, (3024, 4032, 3), dtype=np.uint8))
    buf = io.BytesIO()
    photo.save(buf, "JPEG", quality=70)
    opened = images.open_photo(buf.getvalue())
    assert opened.size == (1008, 756)  # a quarter of each side, still at least 512 on the shorter
    with pytest.raises(images.ImageError, match="more than the 4,000,000 allowed"):
        images.open_image(buf.getvalue())  # a drawing or a scan keeps the smaller limit
    buf = io.BytesIO()
    Image.new("L", (5000, 4000)).save(buf, "PNG")
    with pytest.raises(images.ImageError, match="5000×4000 pixels, more than the 13,000,000 allowed"):
        images.open_photo(buf.getvalue())


def test_colour_saliency_is_the_gradient_times_the_pixels_themselves():
    from playground.nn import insight
    from playground.nn.model import build

    spec = PRESETS["keras-notes"]
    model = build(spec, seed=1).eval()
    picture = np.zeros((3, 32, 32), np.uint8)
    picture[:, 8:24, 8:24] = np.array([200, 40, 90], np.uint8)[:, None, None]  # a patch on black
    a = insight.analyse_photo(model, spec, fit_photo(Image.fromarray(channels_last(picture)), (32, 32)))
    assert a.saliency.shape == (32, 32)
    assert np.all(a.saliency[:8] == 0) and np.all(a.saliency[:, :8] == 0)  # black pixels carry nothing
    x = images_to_tensor(picture[None]).requires_grad_(True)
    score = model(x)[0, a.prediction.label]
    (grad,) = torch.autograd.grad(score, x)
    want = (grad[0] * torch.from_numpy(picture / 255.0).float()).sum(0).clamp(min=0).numpy()
    np.testing.assert_allclose(a.saliency, want / want.max(), atol=1e-6)
