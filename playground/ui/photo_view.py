"""The Draw & Predict page for a colour model: a photo (uploaded, any size and mode) or a held-out test image
in place of the canvas, the steps that fit it to the model's input, and the colour first-layer kernels. The
numbers come from ``playground.nn.insight.analyse_photo``; this module lays them out.
"""

from __future__ import annotations

import hashlib

import streamlit as st
from PIL import Image

from playground.data.datasets import DATASETS, DataError, held_out_count, held_out_image
from playground.figures import draw as fig
from playground.imaging import images
from playground.imaging.photo import PHOTO_STAGES, STAGE_RESIZED, FittedPhoto, channels_last, fit_photo
from playground.nn import insight
from playground.ui import display, inputs, models, state, widgets

PAGE = "draw"
TEST_IMAGE, PHOTO = "A test image", "Upload a photo"
COLOURS = ("red", "green", "blue")


def reads_colour(choice: models.ModelChoice | None) -> bool:
    """Whether the model reads colour pictures (3 input channels) rather than grey digits."""
    return choice is not None and choice.spec.input_shape[0] == 3


def _test_sets(classes: tuple[str, ...]) -> list[str]:
    """The colour data sets whose classes are the model's: where its test images come from."""
    return [n for n, info in DATASETS.items() if info.colour and info.classes == tuple(classes)]


def _side(choice: models.ModelChoice) -> tuple[int, int]:
    return tuple(choice.spec.input_shape[1:])  # type: ignore[return-value]


def _test_image(choice: models.ModelChoice) -> FittedPhoto | None:
    sets = _test_sets(choice.classes)
    if not sets:
        st.info("This model's classes are not those of a data set here: upload a photo instead.")
        return None
    name = sets[0]
    if len(sets) > 1:
        name = st.selectbox(
            "Test images of", sets, format_func=lambda n: DATASETS[n].title, **state.keep(PAGE, "test_set")
        )
    try:
        count = held_out_count(name)
    except DataError as e:
        st.info(f"{e} Upload a photo instead.")
        return None
    number = st.number_input(
        f"Test image (1 to {count:,})",
        min_value=1,
        max_value=count,
        step=1,
        **state.keep(PAGE, "test_number"),
        help="Images of the held-out test split: never used for training or for choosing a model.",
    )
    try:
        image, label, what = held_out_image(name, int(number) - 1)
    except DataError as e:
        st.info(f"{e} Upload a photo instead.")
        return None
    fitted = fit_photo(Image.fromarray(channels_last(image)), _side(choice))
    st.caption(f"{what}; its true class: **{DATASETS[name].classes[label]}**.")
    return fitted


def _photo(choice: models.ModelChoice) -> FittedPhoto | None:
    last = widgets.kept_upload(
        PAGE,
        "photo",
        "A photo (JPEG, PNG, GIF, BMP, WebP, TIFF)",
        inputs.UPLOAD_TYPES,
        lambda data: fit_photo(images.open_photo(data), _side(choice)),
        what="photo",
        salt="×".join(map(str, _side(choice))),
        help="A JPEG straight from a phone's camera is fine at any size; other formats up to "
        f"{images.PHOTO_MAX_PIXELS / 1e6:.0f} megapixels.",
    )
    if last is None:
        st.info("Upload a photo: its largest centred square is cut out and shrunk to the model's input.")
        return None
    return last[0]


def photo_input(choice: models.ModelChoice) -> insight.DigitAnalysis | None:
    """The colour model's input, chosen by the user, and what the model makes of it (once per picture)."""
    source = (
        st.segmented_control(
            "Input",
            (TEST_IMAGE, PHOTO),
            default=TEST_IMAGE,
            **state.keep(PAGE, "colour_source"),
            label_visibility="collapsed",
        )
        or TEST_IMAGE
    )
    fitted = _test_image(choice) if source == TEST_IMAGE else _photo(choice)
    if fitted is None:
        return None
    st.image(fig.png_data_url(fitted.stages[STAGE_RESIZED]), caption="The model's input", width=196)
    h = hashlib.sha1(fitted.image.tobytes())
    h.update(f"{choice.name}|{choice.token}".encode())
    return state.memo(
        PAGE,
        "analysis",
        h.hexdigest(),
        lambda: insight.analyse_photo(choice.model, choice.spec, fitted, choice.classes),
    )


def seen(result: insight.DigitAnalysis) -> None:
    """The photo, its centre square and the picture the network reads, with what was done."""
    photo = result.photo
    cells = st.columns(len(PHOTO_STAGES))
    for cell, stage in zip(cells, PHOTO_STAGES):
        cell.image(fig.png_data_url(photo.stages[stage]), caption=stage, width=84)
    w, h = photo.size
    left, top, right, bottom = photo.crop
    c, oh, ow = photo.image.shape
    cw = right - left
    fitted = (
        f"It is read as it is: {ow}×{oh}, the model's input size."
        if (w, h) == (ow, oh)
        else f"Its largest centred {'square' if ow == oh else 'box of the input shape'} ({cw}×{bottom - top}, "
        f"from column {left}, row {top}) is {'shrunk' if cw > ow else 'enlarged'} to {ow}×{oh}."
    )
    st.caption(
        f"The picture is {w}×{h} pixels. {fitted} The network reads its {c} channels, red, green and blue, each "
        "normalised with the mean and spread of CIFAR-10's training images, as every colour model here is."
    )


def kernels(choice: models.ModelChoice, width_px: int) -> None:
    """The first layer's 3-channel kernels: colour patches, then each input channel on its own."""

    def build():
        weights = insight.first_layer_kernels(choice.model)
        per_channel = [
            fig.kernels_figure(
                weights, width_px=width_px, channel=c, title=f"{colour} channel", all_channels_scale=True
            )
            for c, colour in enumerate(COLOURS)
        ]
        return fig.colour_kernels_figure(weights, width_px=width_px), per_channel

    try:
        patches, per_channel = state.memo(PAGE, "colour_kernels", f"{choice.name}|{choice.token}|{width_px}", build)
    except ValueError:  # first_layer_kernels: no convolution at all
        st.caption("This model has no convolution layer, so there are no kernels to show.")
        return
    display.chart(patches, "first-layer-kernels", key=state.key(PAGE, "kernels"), theme="streamlit")
    st.caption(
        "Each filter's red, green and blue weights as one colour per cell, stretched from its smallest "
        "weight (black) to its largest (white). Below, each colour channel's weights on one scale shared by all "
        "three, so the channels compare."
    )
    for colour, figure in zip(COLOURS, per_channel):
        display.chart(
            figure, f"first-layer-kernels-{colour}", key=state.key(PAGE, f"kernels_{colour}"), theme="streamlit"
        )
