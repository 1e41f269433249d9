"""Single generator: one network for all classes (the exposé's design) beside the experts:
its code inversion, the latent landscapes of both designs, and what it generates."""
from __future__ import annotations

import streamlit as st

import cached
import single_ui
from widgets import expert_set_ui

cached.init_state()
single_ui._defaults()
expert_set_ui()
st.title("Single generator")
st.caption("One LSTM for all classes, trained on the same four types per class as the "
           "experts. Its first-step input is a *code*: one-hot over the classes (the exposé) "
           "or over all (class, type) pairs. To classify, the code is inverted and the class "
           "with the most mass wins; or, without inversion, the class whose corner code "
           "reconstructs best.")
train, inversion = single_ui.single_options_ui()
cached.sync_url()
data = cached.dataset(st.session_state["dataset"])
generator = single_ui.single_generator_ui(data, train)
if generator is None:
    st.stop()
target, truth = single_ui.target_ui(data)
if target is None:
    st.stop()
record = single_ui.single_contest_ui(data, generator, train, inversion, target, truth)
single_ui.landscape_ui(data, generator, train, inversion, target, truth, record)
single_ui.generations_ui(generator)
