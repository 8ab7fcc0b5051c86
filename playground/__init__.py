"""CNN Playground: a visual playground for convolutional neural networks.

Layers (imports point one way only):
- ``ops``, ``kernels``, ``images``, ``preprocess``, ``data``: numpy / Pillow, no torch, no streamlit;
- ``model``, ``train``, ``checkpoints``: the PyTorch backend, no streamlit;
- ``figures``: plotly builders, arrays in, figures out;
- ``ui`` and ``pages``: the only code that imports streamlit.
"""

__version__ = "0.1.0"
