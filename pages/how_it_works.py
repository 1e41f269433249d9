"""How it works: the method in short, with links to the pages."""
import streamlit as st

import cached  # noqa: F401  (a first visit by this page's own address: cached.route_through_app)

st.title("How it works")
st.markdown(
    "**Modular Inverse Classification** recognises a character by asking a team of generators "
    "which one can *draw* it best. There is one small generator — an *expert* — per class.")

with st.expander("1 · An expert learns to draw four examples of its class", expanded=True):
    st.markdown(
        "Each expert is a small LSTM (10 cells for letters, 20 for digits) with a linear "
        "read-out at every time step. It is trained on just **four** sequences of its class, "
        "its *types*, chosen by k-means (DTW barycentres for pen trajectories) or at random. "
        "Type *k* is selected by the one-hot vector *e_k* given at the first time step; all "
        "later inputs are zero. After training, the vector `(1, 0, 0, 0)` makes the expert "
        "draw type 1, and a mixture such as `(0.5, 0.5, 0, 0)` makes it draw something in "
        "between. Noise on the input during training makes these in-between drawings smooth.")
    st.page_link("pages/experts.py", label="See the experts and mix their types", icon=":material/psychology:")

with st.expander("2 · To classify, every expert searches for its best mixture"):
    st.markdown(
        "Given a new character, every expert starts from the uniform mixture "
        "`(¼, ¼, ¼, ¼)` and changes **only that input vector** — never its weights — by 50 "
        "gradient steps on the reconstruction error (an Adam-like step; after each step the "
        "vector is projected back onto the simplex, so it stays a set of mixture weights). "
        "The record of each search — mixture weights, reconstruction and error at every "
        "iteration — is what the Compete page plays back. A single start can get stuck; by "
        "default (chosen on validation) every expert also starts from each of its four "
        "types' corners, such as `(1, 0, 0, 0)`, and keeps the start that ends lowest.")

with st.expander("3 · The expert that gets closest wins"):
    st.markdown(
        "After the last step, the expert with the lowest reconstruction error names the "
        "class. Experts of other classes can bend their four types only so far, so they stay "
        "further away. People draw a single letter without the connecting strokes that the "
        "cursive training samples carry; the decision therefore lets each expert's drawing "
        "drop up to a quarter of its path at either end, at a small price per cut.")
    st.page_link("pages/compete.py", label="Draw a letter and watch the race",
                 icon=":material/sports_score:")

with st.expander("4 · What the figures on Compete show"):
    st.markdown(
        "- **The race**: every expert's error at the current iteration, sorted; the leader in "
        "red, the true class (for a held-out sample) in blue. The last position is the "
        "decision: the errors that decide (with free ends for letters), the winner on top.\n"
        "- **The heat map**: experts × iterations, filled up to the current iteration.\n"
        "- **All reconstructions**: every expert's attempt over the drawing (grey).\n"
        "- **The selected expert**: its reconstruction, large, over the drawing, and its "
        "mixture weights over its four types; at the decision, the part of it that was "
        "compared. Click any expert to select it; ← → step, space plays.\n"
        "- **Its starts** (with restarts on): each start's path over the selected expert's "
        "mixture weights (the corners of the square are its four types) and each start's "
        "error; the start it keeps is drawn in orange.")

st.caption("Method: Hobbhahn (2019), *Modular Inverse Classification using Generative Models*; "
           "ESANN 2020, *Sequence Classification using Ensembles of Recurrent Generative "
           "Expert Modules*. Data: UCI Character Trajectories (CC BY 4.0), MNIST (CC BY-SA 3.0).")
