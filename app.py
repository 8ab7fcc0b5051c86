"""CNN Playground router: page config and navigation, nothing else."""

import streamlit as st

st.set_page_config(page_title="CNN Playground", page_icon="🧠", layout="wide")

pages = [
    st.Page("playground/pages/draw.py", title="Draw & Predict", url_path="draw", default=True),
    st.Page("playground/pages/convolution.py", title="Convolution", url_path="convolution"),
    st.Page("playground/pages/pooling.py", title="Pooling", url_path="pooling"),
    st.Page("playground/pages/build.py", title="Build", url_path="build"),
    st.Page("playground/pages/train.py", title="Train", url_path="train"),
]
st.navigation(pages).run()
