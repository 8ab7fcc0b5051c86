"""CNN Playground router: page config and navigation, nothing else."""

import streamlit as st

st.set_page_config(page_title="CNN Playground", page_icon="🧠", layout="wide")

pages = [
    st.Page("playground/pages/convolution.py", title="Convolution", url_path="convolution", default=True),
    st.Page("playground/pages/pooling.py", title="Pooling", url_path="pooling"),
]
st.navigation(pages).run()
