"""MIC Studio's engine: Modular Inverse Classification with small generative LSTM experts."""
from mic_core.baselines import ForwardLSTMClassifier, NearestNeighbourDTW, NearestNeighbourMSE
from mic_core.classify import (Classification, DecisionRule, MICClassifier, classify,
                               default_rule)
from mic_core.data import DataConfig, Dataset, character_sequence, load_dataset
from mic_core.drawing import DrawingError, drawing_to_pen_trajectory, pen_trajectory_to_drawing
from mic_core.evaluation import Evaluation, drawn_test_set, evaluate
from mic_core.expert import Expert, ExpertConfig, ExpertSet
from mic_core.inversion import (InversionConfig, InversionRecord, InversionStep, invert,
                                invert_steps)
from mic_core.expert_file import ExpertFileError, load_experts, save_experts
from mic_core.persistence import load_or_train
from mic_core.seeding import set_seed
from mic_core.training import TrainConfig, TrainProgress, default_train_config, train_experts
from mic_core.inversion_ssl import InversionSSLClassifier, SSLConfig  # issue 13

__all__ = [
    "ForwardLSTMClassifier", "NearestNeighbourDTW", "NearestNeighbourMSE", "Classification",
    "DecisionRule", "classify", "default_rule",
    "MICClassifier", "DataConfig", "Dataset", "character_sequence", "load_dataset",
    "DrawingError", "drawing_to_pen_trajectory", "pen_trajectory_to_drawing", "Evaluation",
    "drawn_test_set", "evaluate", "Expert", "ExpertConfig", "ExpertSet", "InversionConfig",
    "InversionRecord", "InversionStep", "invert", "invert_steps", "ExpertFileError",
    "load_experts", "load_or_train", "save_experts", "set_seed", "TrainConfig",
    "TrainProgress", "default_train_config", "train_experts", "InversionSSLClassifier",
    "SSLConfig",
]
