"""Shared AppTest helpers for the page tests: run a page, read what it shows."""

from __future__ import annotations

import base64
import io
import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from playground import ops
from playground.imaging import images
from playground.ops import kernels

ROOT = Path(__file__).resolve().parents[1]
CONV = str(ROOT / "playground" / "pages" / "convolution.py")
POOL = str(ROOT / "playground" / "pages" / "pooling.py")


# ---------------------------------------------------------------- helpers
def app(path: str = CONV) -> AppTest:
    at = AppTest.from_file(path, default_timeout=30)
    at.run()
    assert not at.exception
    return at


def opened(path: str, query: dict) -> AppTest:
    """A fresh session of the page at ``path`` opened with the address's ``query``."""
    at = AppTest.from_file(path, default_timeout=60)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, at.exception
    return at


def query(at: AppTest) -> dict:
    """The page's address as it stands (one value per parameter)."""
    return {k: v[-1] if isinstance(v, list) else v for k, v in at.query_params.items()}


def rerun(target) -> AppTest:
    """Run the script again (``target`` is the AppTest or a widget just set) and check it did not fail."""
    at = target.run()
    assert not at.exception, at.exception
    return at


def arithmetic(at: AppTest) -> str:
    """The current cell's arithmetic as shown (the part after '=' in '**Output (r, c)** = ...')."""
    shown = [m.value for m in at.markdown if m.value.startswith("**Output (")]
    assert len(shown) == 1, shown
    return shown[0]


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def shown(at: AppTest) -> str:
    """All text on the page (markdown, captions, infos, warnings, errors)."""
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [i.value for i in at.info]
    return "\n".join(parts + [w.value for w in at.warning] + errors(at))


def engine_error(fn, *args, **kwargs) -> str:
    with pytest.raises((ops.OpError, kernels.KernelError, images.ImageError)) as e:
        fn(*args, **kwargs)
    return str(e.value)


def chart(at: AppTest, i: int = 0) -> dict:
    return json.loads(at.get("plotly_chart")[i].proto.spec)


def charts(at: AppTest) -> list[dict]:
    """Every Plotly figure on the page, parsed."""
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def trace_names(spec: dict) -> list[str]:
    """The names of a parsed figure's traces."""
    return [t.get("name") for t in spec.get("data", [])]


def trace_z(spec: dict, name: str) -> np.ndarray:
    z = next(t for t in spec["data"] if t.get("name") == name)["z"]
    if isinstance(z, dict):
        flat = np.frombuffer(base64.b64decode(z["bdata"]), dtype=np.dtype(z["dtype"]))
        return flat.reshape([int(n) for n in z["shape"].split(",")]).astype(float)
    return np.array(z, dtype=float)


def cell_of(step) -> str:
    r, c = step.out_pos
    return f"**Output ({r}, {c})** = {step.arithmetic()}"


def png(img: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def upload_files() -> dict[str, bytes]:
    good = Image.fromarray(np.tile(np.linspace(0, 255, 40, dtype=np.uint8), (20, 1)), mode="L")
    frames = [Image.new("P", (16, 16), i) for i in (10, 200)]
    gif = io.BytesIO()
    frames[0].save(gif, "GIF", save_all=True, append_images=frames[1:])
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    good_png = png(good)
    return {
        "good.png": good_png,
        "palette.png": png(good.convert("P")),
        "cmyk.jpg": png(Image.new("CMYK", (30, 20), (0, 0, 0, 40)), "JPEG"),
        "sixteen.png": png(Image.fromarray((np.arange(600).reshape(20, 30) * 100).astype(np.uint16))),
        "animated.gif": gif.getvalue(),
        "rotated.jpg": png(Image.new("RGB", (30, 10), "white"), "JPEG", exif=exif.tobytes()),
        "text.png": b"this is a text file, not an image",
        "empty.png": b"",
        "truncated.png": good_png[: len(good_png) // 2],
        "corrupt.png": good_png[:16] + bytes(range(256)) * 4,
        "huge.png": png(Image.new("L", (2100, 2100))),
    }


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares ``width`` × ``height`` (a decompression bomb's shape)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
