"""Draw & Predict: draw a digit, see what the network sees, what it answers and what every layer does."""

import streamlit as st

from playground.ui import display, draw_view, fairness, links, models, photo_view

INTRO = (
    "Draw a digit and a trained convolutional network reads it. First the drawing is shrunk to the "
    "28 × 28 picture the network was trained on; then every layer turns it into **feature maps**: the "
    "convolutions detect strokes and edges, ReLU keeps the positive answers, pooling halves the size. "
    "The last layer scores the ten digits and softmax turns the scores into probabilities."
)
COLOUR_INTRO = (
    "A colour network reads a picture: a test image, or your photo cut to its centre square and shrunk to the "
    "small size the network was trained on. Each convolution of the first layer spans the red, green and blue "
    "channels at once; every layer turns the picture into **feature maps**, and the last layer scores the "
    "classes, which softmax turns into probabilities."
)
links.restore(draw_view.PAGE)  # a link may name the pretrained model (?model=colour)
head = display.header("Draw & Predict", COLOUR_INTRO if photo_view.reads_colour(models.in_use()) else INTRO)

with head.controls:
    st.header("Model")
    choice = draw_view.model_picker()
    links.publish(draw_view.PAGE)  # the address names the pretrained model in use
st.html(draw_view.PIXELATED)


@fairness.fragment
def drawing_and_answer(choice: models.ModelChoice | None) -> None:
    """Everything a stroke changes, in one fragment: a stroke reruns only this, not the header, the
    sidebar or the router (and only this part is sent to the browser)."""
    # Panels of fixed width in a row that wraps: the 280 px canvas is never squeezed or covered (in three
    # columns it sat in 180 px at 1024×768), and on a phone the answer comes right under the canvas.
    # Widths: 1366 px with the sidebar fits all three (876 of 906 px), 1024 px the canvas and the answer.
    row = st.container(horizontal=True, wrap=True, gap="small", key="draw-top")
    draw_col = row.container(width=284, key="draw-canvas-panel")
    answer_col = row.container(width=260, key="draw-answer-panel")
    seen_col = row.container(width=300, key="draw-seen-panel")
    with draw_col:  # a colour model reads a photo or a test image; a digit model, the canvas
        result = photo_view.photo_input(choice) if photo_view.reads_colour(choice) else draw_view.drawn(choice)
    with answer_col:
        draw_view.prediction(
            result, draw_view.nothing_yet(choice), choice.classes if choice is not None else draw_view.DIGITS
        )
    if result is not None:
        with seen_col:
            (photo_view.seen if result.photo is not None else draw_view.seen)(result)

    if result is not None and result.prediction is not None:
        st.header("Inside the network")
        draw_view.inside(choice, result)
        draw_view.why(choice, result)


drawing_and_answer(choice)
