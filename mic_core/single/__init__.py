"""One generator for all classes (the exposé's design), beside the modular experts.

``generator``: the network, its training and persistence; ``inversion``: inverting its code
and the two decision rules; ``landscape``: reconstruction error over 2-D slices of an input
space and how irregular it is; ``cli``: ``--system single``; ``experiments``: its rows of the
results table.
"""
from mic_core.single.generator import (CAPACITIES, CODES, GeneratorFileError, SingleGenerator,
                                       SingleTrainConfig, default_single_config,
                                       find_generator, load_generator,
                                       load_or_train_generator, save_generator,
                                       train_single_generator)
from mic_core.single.inversion import (CodeInversionConfig, CodeInversionRecord,
                                       corner_errors, decide, invert_code, invert_code_steps)
from mic_core.single.landscape import Landscape, landscape

__all__ = ["CAPACITIES", "CODES", "GeneratorFileError", "SingleGenerator", "SingleTrainConfig",
           "default_single_config", "find_generator", "load_generator",
           "load_or_train_generator", "save_generator", "train_single_generator",
           "CodeInversionConfig", "CodeInversionRecord", "corner_errors", "decide",
           "invert_code", "invert_code_steps", "Landscape", "landscape"]
