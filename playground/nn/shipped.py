"""Where the shipped models live, and which model the pages and `predict` use by default.

Kept free of torch so that the command line can name it in its help without loading the engine.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SHIPPED_MODEL = PROJECT_ROOT / "assets" / "models" / "playground-mnist.safetensors"
# the colour model: 3×32×32 input, trained on the synthetic colour shapes (assets/models/README.md)
SHIPPED_COLOUR_MODEL = PROJECT_ROOT / "assets" / "models" / "playground-shapes.safetensors"
MODEL_ENV = "PLAYGROUND_MODEL"


def default_model_path() -> Path:
    """$PLAYGROUND_MODEL when set (a lecturer's own model), else the shipped model."""
    return Path(os.environ.get(MODEL_ENV) or SHIPPED_MODEL)
