"""``python -m mic_core teach``: teach a new class from four drawing files into a named
expert set (``mic_core.teaching``); ``classify``/``evaluate --experts DIR`` then use it."""
from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from mic_core.data import DATASETS, DataConfig, load_dataset
from mic_core.persistence import load_or_train
from mic_core.teaching import (N_DRAWINGS, TeachingError, base_set, check_usability,
                               drawings_to_sequences, load_set, teach)
from mic_core.training import default_train_config

MAX_FILE_BYTES = 5_000_000


def read_drawing(path: Path, dataset: str):
    """A drawing file: canvas JSON for letters; for digits a ``.npy`` ink array (H, W) in
    [0, 1] or an image (PNG ...: dark ink on a light background, or ink in alpha)."""
    path = Path(path)
    if not path.is_file():
        raise TeachingError(f"{path}: no such drawing file")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise TeachingError(f"{path} is larger than {MAX_FILE_BYTES} bytes")
    if dataset == "characters":
        return path.read_text(errors="replace")
    try:
        if path.suffix == ".npy":
            return np.load(path, allow_pickle=False).astype(np.float64)
        from PIL import Image
        image = np.asarray(Image.open(path).convert("RGBA"), dtype=np.float64) / 255.0
    except Exception as exc:  # PIL and numpy raise many kinds for a bad file
        raise TeachingError(f"{path} is not a readable image: {exc}") from None
    alpha = image[:, :, 3]
    return alpha if alpha.min() < 1.0 else 1.0 - image[:, :, :3].mean(axis=2)


def add_parser(commands) -> None:
    """The ``teach`` sub-command."""
    p = commands.add_parser("teach", help="teach a new class from four drawings into a "
                            "named expert set", description="Train one new expert on four "
                            "drawings (its types) with the recipe of the set it joins; write "
                            "the set (base + taught experts) to --out, whose folder name is "
                            "the set's name.")
    p.add_argument("--name", required=True, help="the new class's name")
    p.add_argument("--drawing", nargs="+", required=True, type=Path,
                   help="four drawing files: canvas JSON (letters), .npy or image (digits)")
    p.add_argument("--dataset", choices=DATASETS, default="characters")
    p.add_argument("--base", type=Path, default=None,
                   help="a saved set to add to (default: the data set's shipped experts)")
    p.add_argument("--out", type=Path, required=True, help="the set's folder")
    p.add_argument("--replace", action="store_true",
                   help="the class exists: replace its expert (your own handwriting)")
    p.add_argument("--join-strokes", action="store_true",
                   help="join several strokes in drawing order instead of refusing")
    p.add_argument("--steps", type=int, default=None,
                   help="training steps (default: the recipe of the set it joins)")
    p.add_argument("--no-check", action="store_true", help="skip the usability check")
    p.add_argument("--cache-dir", type=Path, default=None)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_teach)


def cmd_teach(args) -> None:
    from mic_core.systems import train_progress as _train_progress
    try:
        if len(args.drawing) != N_DRAWINGS:
            raise TeachingError(f"teaching needs {N_DRAWINGS} drawings of the new class, got "
                                f"{len(args.drawing)}")
        if args.base is not None:
            base = load_set(args.base, args.dataset)
            dataset = load_dataset(base.data)
        else:
            dataset = load_dataset(DataConfig(dataset=args.dataset))
            train = default_train_config(args.dataset)
            base = base_set(load_or_train(dataset, train, args.cache_dir), dataset.config,
                            train, "base")
        drawings = [read_drawing(f, args.dataset) for f in args.drawing]
        if not args.no_check:
            check = check_usability(base.experts, dataset,
                                    drawings_to_sequences(dataset, drawings, args.join_strokes))
            for message in check.messages():
                print(f"warning: {message} (teaching anyway)", file=sys.stderr)
        train = base.base_train if args.steps is None else replace(base.base_train,
                                                                    steps=args.steps)
        result = teach(base, dataset, args.name, drawings, args.out, args.replace,
                       args.join_strokes, train, progress=_train_progress())
    except TeachingError as exc:
        raise SystemExit(f"error: {exc}") from None
    out = {"set": result.named.name, "path": str(result.path), "class": args.name.strip(),
           "replaced": result.replaced, "teach_seconds": round(result.seconds, 2),
           "experts": list(result.named.experts.class_names)}
    print(json.dumps(out) if args.json else
          f"taught {out['class']!r} in {result.seconds:.1f} s; the set {out['set']!r} "
          f"({len(out['experts'])} experts) is in {result.path.parent}")


def experts_from_set(directory: Path, dataset: str):
    """``--experts DIR`` of classify/evaluate: (data set, recipe, composed experts)."""
    try:
        named = load_set(directory, dataset)
    except TeachingError as exc:
        raise SystemExit(f"error: {exc}") from None
    return load_dataset(named.data), named.base_train, named.experts
