"""The systems the command line knows, by name (``--system NAME``; ``mic`` by default).

A system is one module with
  ``add_arguments(parser, command)``  its options of ``command`` ("train", "classify",
                                      "evaluate"; ``--system`` and ``--json`` are common),
  ``train(args)``, ``classify(args)``, ``evaluate(args)``  each returns a JSON-ready dict
                                      (``evaluate``'s holds ``accuracy``),
and optionally ``describe(command, result) -> str``, the one line printed without ``--json``.
Adding a system is one line here plus its module; ``mic_core.cli`` only dispatches.
Modules are imported when chosen, so a system's heavy dependencies cost the others nothing.
"""
from __future__ import annotations

import importlib
import sys
from types import ModuleType

SYSTEMS = {
    "mic": "mic_core.mic_cli",  # Modular Inverse Classification: one expert per class
    "single": "mic_core.single.cli",  # one generator for all classes (issue 11)
    "style": "mic_core.style_memory.cli",  # a classifier with a style memory (issue 12)
    "ssl": "mic_core.inversion_ssl.cli",  # network inversion, semi-supervised (issue 13)
}
COMMANDS = ("train", "classify", "evaluate")


def system(name: str) -> ModuleType:
    """The module of system ``name``."""
    if name not in SYSTEMS:
        raise ValueError(f"unknown system {name!r}; choose one of {sorted(SYSTEMS)}")
    return importlib.import_module(SYSTEMS[name])


def progress_bar(label: str):
    """A text progress bar on stderr: ``report(done, total, extra="")``."""
    def report(done, total, extra=""):
        width = 30
        filled = int(width * done / max(total, 1))
        end = "\n" if done >= total else ""
        print(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} {extra}",
              end=end, file=sys.stderr, flush=True)
    return report


def train_progress():
    """A progress callback for ``training.TrainProgress`` (steps, loss, seconds left)."""
    bar = progress_bar("training")
    return lambda p: bar(p.step, p.steps, f"loss {p.loss:.4f}, {p.seconds_left:.0f}s left")
