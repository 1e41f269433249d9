"""MIC Studio: draw a character and watch the experts compete. Entry point: navigation only."""
import streamlit as st

st.set_page_config(page_title="MIC Studio", page_icon="assets/icon.png", layout="wide",
                   initial_sidebar_state="collapsed")
st.navigation([
    st.Page("pages/compete.py", title="Compete", icon=":material/sports_score:", default=True),
    st.Page("pages/experts.py", title="Experts", icon=":material/psychology:"),
    st.Page("pages/teach.py", title="Teach", icon=":material/school:"),
    st.Page("pages/inversion_ssl.py", title="Inversion", icon=":material/flip:"),
    st.Page("pages/single_generator.py", title="Single generator", icon=":material/hub:"),
    st.Page("pages/experiments.py", title="Experiments", icon=":material/bar_chart:"),
    st.Page("pages/style_memory.py", title="Style memory", icon=":material/palette:"),
    st.Page("pages/how_it_works.py", title="How it works", icon=":material/menu_book:"),
], position="top").run()
