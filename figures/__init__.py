"""Plotly figures of MIC Studio (UI side, no Streamlit): one module per system's views.

``figures.arena`` holds MIC's arena and the shared shape views; a new system adds its own
module here and re-exports nothing it does not need to.
"""
from figures.arena import *  # noqa: F401,F403  (the MIC views, used by most pages)
from figures.arena import __all__  # noqa: F401
