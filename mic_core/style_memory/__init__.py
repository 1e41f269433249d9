"""Style memory: a classifier whose top layer also holds a style, so it can redraw what it
saw (the paper "Style Memory: Making a Classifier Network Generative")."""
from mic_core.style_memory.analysis import (Neighbours, StyleEvaluation, StyleReading,
                                            evaluate_style_memory, interpolate_styles,
                                            label_swap, roughness,
                                            nearest_neighbours, neighbour_class_counts,
                                            read_sample, style_transfer)
from mic_core.style_memory.estimator import StyleMemoryClassifier
from mic_core.style_memory.network import StyleMemoryNet, style_memory_loss
from mic_core.style_memory.store import (StyleMemoryConfig, StyleMemoryFileError,
                                         default_style_config, find_style_memory,
                                         load_or_train_style_memory, load_style_memory,
                                         save_style_memory)

__all__ = [
    "Neighbours", "StyleEvaluation", "StyleReading", "read_sample", "evaluate_style_memory",
    "interpolate_styles", "label_swap", "roughness",
    "nearest_neighbours", "neighbour_class_counts", "style_transfer", "StyleMemoryClassifier",
    "StyleMemoryNet", "style_memory_loss", "StyleMemoryConfig", "StyleMemoryFileError",
    "default_style_config", "find_style_memory", "load_or_train_style_memory",
    "load_style_memory", "save_style_memory",
]
