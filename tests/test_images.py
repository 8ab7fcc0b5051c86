"""Safe image decoding: every kind of file a user can upload or a client can send as a drawing."""

from __future__ import annotations

import io

import numpy as np
import pytest
from apptest_support import png_declaring
from PIL import Image

from playground.imaging.images import ImageError, decode_canvas, open_image, to_gray, to_rgb


def encode(img: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def test_plain_png_becomes_rgba():
    img = open_image(encode(Image.new("L", (5, 3), 200)))
    assert img.mode == "RGBA" and img.size == (5, 3)
    assert np.allclose(to_gray(img), 200 / 255)


@pytest.mark.parametrize(
    "data, words",
    [
        (b"", "empty"),
        (b"this is a text file, not a picture", "not an image"),
        (encode(Image.new("RGB", (40, 40), "red"))[:60], "truncated or corrupt"),
        (png_declaring(10_000, 10_000), "10000×10000"),
    ],
    ids=["empty", "not-an-image", "truncated", "over-pixel-limit"],
)
def test_bad_files_get_one_sentence(data, words):
    with pytest.raises(ImageError) as err:
        open_image(data)
    assert words in str(err.value)
    assert "\n" not in str(err.value)


def test_pixel_limit_is_read_from_the_header_before_decoding():
    # 10,000 × 10,000 would need ~300 MB decoded; the refusal must come from the header alone.
    import tracemalloc

    tracemalloc.start()
    with pytest.raises(ImageError):
        open_image(png_declaring(10_000, 10_000))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 5_000_000


def test_palette_with_transparency_composites_on_black():
    img = Image.new("P", (4, 4), 1)
    img.putpalette([0, 0, 0, 255, 255, 255] + [0] * 762)
    img.info["transparency"] = 1
    out = open_image(encode(img, transparency=1))
    assert out.mode == "RGBA"
    assert np.allclose(to_gray(out), 0.0)  # the white palette entry is fully transparent


def test_cmyk_jpeg_is_converted():
    out = open_image(encode(Image.new("CMYK", (8, 8), (0, 0, 0, 0)), "JPEG"))
    assert out.mode == "RGBA"
    assert to_rgb(out).mean() > 0.95  # no ink = white paper


def test_sixteen_bit_grey_is_rescaled_not_clipped():
    arr = np.array([[0, 1000], [30000, 65535]], dtype=np.uint16)
    out = open_image(encode(Image.fromarray(arr)))
    gray = to_gray(out)
    assert gray[0, 0] == 0.0 and gray[1, 1] == pytest.approx(1.0)
    assert 0.4 < gray[1, 0] < 0.5


def test_animated_gif_keeps_the_first_frame():
    frames = [Image.new("L", (6, 6), v) for v in (255, 0, 0)]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50)
    assert to_gray(open_image(data)).mean() > 0.99


def test_exif_rotation_is_applied():
    img = Image.new("L", (30, 10), 0)
    img.paste(255, (0, 0, 5, 10))  # white bar on the left edge
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    out = open_image(encode(img, "JPEG", exif=exif.tobytes(), quality=95))
    assert out.size == (10, 30)
    gray = to_gray(out)
    assert gray[:5].mean() > 0.8 and gray[-5:].mean() < 0.2  # the bar is now at the top


def test_canvas_must_be_the_canvas_size_png():
    good = np.asarray(decode_canvas(encode(Image.new("RGBA", (280, 280), (255, 255, 255, 255)))))
    assert good.shape == (280, 280, 4) and good.dtype == np.uint8
    with pytest.raises(ImageError, match="280×280"):
        decode_canvas(png_declaring(10_000, 10_000))
    with pytest.raises(ImageError, match="not a PNG"):
        decode_canvas(b"garbage")
    with pytest.raises(ImageError, match="280×280 PNG"):
        decode_canvas(encode(Image.new("RGB", (280, 280)), "JPEG"))
    with pytest.raises(ImageError, match="empty"):
        decode_canvas(b"")
    with pytest.raises(ImageError, match="damaged .* canvas was reset"):
        decode_canvas(encode(Image.new("RGBA", (280, 280)))[:60])
