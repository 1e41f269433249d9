"""``python -m mic_core.style_memory {train,classify,evaluate,experiments} ...``."""
from mic_core.style_memory.cli import main

main()
