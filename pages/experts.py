"""Experts: train a configuration on demand, look at each expert, explore its latent space."""
from __future__ import annotations

import streamlit as st

import cached
from widgets import expert_set_ui
from figures import shapes_figure, training_curve_figure
from mic_core.inversion import project_to_simplex
from mic_core.persistence import find_experts
from mic_core.training import type_errors

cached.init_state()
st.title("Experts")
st.caption("One small LSTM per class, trained on only four sequences of its class (its "
           "types). Choose a configuration; one that was never trained is trained here once, "
           "then kept on disk for every visitor.")

expert_set_ui()
cached.sync_url()

data = cached.dataset(st.session_state["dataset"])
train = cached.train_config()
if not st.session_state["expert_set"] and find_experts(data.config, train) is None:
    note = st.empty()  # the note and its button go once the experts are trained
    with note.container():
        st.info(f"These experts are not trained yet ({train.steps} training steps; about a "
                f"minute for letters).", icon=":material/hourglass_empty:")
        train_now = st.button("Train them now", type="primary", icon=":material/model_training:")
    if not train_now:
        st.stop()
    note.empty()
experts, _ = cached.competing_experts_ui(data.name, train)
errors = type_errors(experts)
st.success(f"{experts.n_experts} experts; the largest error on a type is {errors.max():.3g} "
           f"(mean {errors.mean():.3g}).", icon=":material/check_circle:")

names = list(experts.class_names)
e = st.selectbox("Expert", range(len(names)), format_func=lambda i: names[i], key="experts_page_expert")
K = experts.config.n_types
st.subheader(f"Expert {names[e]}: its four types, and what it generates for each")
st.plotly_chart(shapes_figure(experts.types[e], [f"type {k + 1}" for k in range(K)], height=180),
                key="types")
generated = experts.generate_types()[e]
st.plotly_chart(shapes_figure(generated, [f"from one-hot {k + 1} (error {errors[e, k]:.3g})"
                                          for k in range(K)], height=180), key="generated")

st.subheader("Explore the latent space")
st.caption("Mix the four types: the weights are projected onto the simplex (they sum to one), "
           "exactly as during inversion.")
sliders = st.columns(K)
raw = [sliders[k].slider(f"type {k + 1}", 0.0, 1.0, 0.25, 0.05, key=f"mix_{k}")
       for k in range(K)]
mixture = project_to_simplex(raw)
st.plotly_chart(shapes_figure([experts.generate_mixture(e, mixture)],
                              ["mixture " + ", ".join(f"{w:.2f}" for w in mixture)], height=320),
                key="latent")

if experts.training_curve is not None and len(experts.training_curve):
    st.subheader("Training curves")
    st.plotly_chart(training_curve_figure(experts.training_curve, names), key="curve")
