"""Streamlit glue: the only package (besides ``playground.pages``) that imports streamlit."""
