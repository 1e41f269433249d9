"""Seeding: one call that seeds every random number generator the project touches."""
import random

import numpy as np
import torch


def set_seed(seed: int) -> None:
    """Seed ``random``, ``numpy`` and ``torch`` (CPU and CUDA).

    Core functions take a ``seed`` or a ``RandomState`` instead of relying on this; it is for
    scripts and the reference implementations in ``benchmarks/``.
    """
    # TRY NOT TO MODIFY: seeding
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)
