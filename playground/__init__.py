"""CNN Playground: a visual playground for convolutional neural networks.

One subpackage per layer, imports pointing one way (README, "Layout"): ``ops`` (the numpy teaching
engine), ``imaging``, ``data``, ``nn`` (torch), ``serve`` (the training queue and worker), ``figures``
(plotly), ``ui`` and ``pages`` (streamlit), ``cli``. ``errors`` holds the one base class of every error a
user can cause.
"""

__version__ = "0.2.0"
