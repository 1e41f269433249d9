"""``python -m mic_core teach`` and ``classify/evaluate --experts DIR`` (issue 14)."""
import json

import numpy as np
import pytest

from mic_core.cli import main
from mic_core.teaching import SET_FILE
from test_teaching import ink_cross, star_drawings


@pytest.fixture(scope="module")
def star_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("drawings")
    paths = []
    for i, drawing in enumerate(star_drawings(7) + star_drawings(77, 1)):
        paths.append(folder / f"star{i}.json")
        paths[-1].write_text(json.dumps(drawing))
    return paths  # four to teach, the fifth is a fresh drawing


def run(capsys, *argv):
    main([str(a) for a in argv])
    return json.loads(capsys.readouterr().out)


def test_teach_then_the_star_wins_a_fresh_drawing(tmp_path, capsys, star_files):
    out = run(capsys, "teach", "--name", "star", "--drawing", *star_files[:4], "--out",
              tmp_path / "stars", "--steps", 2000, "--json")
    assert out["experts"][-1] == "star" and len(out["experts"]) == 21
    assert (tmp_path / "stars" / SET_FILE).exists()
    result = run(capsys, "classify", "--experts", tmp_path / "stars", "--drawing",
                 star_files[4], "--json")
    assert result["winner"] == "star"
    result = run(capsys, "evaluate", "--experts", tmp_path / "stars", "--limit", 20, "--json")
    assert result["n_test"] == 20 and result["accuracy"] > 0.7
    # a second class into the same set, from the set itself
    out = run(capsys, "teach", "--name", "star 2", "--drawing", *star_files[:4], "--base",
              tmp_path / "stars", "--out", tmp_path / "stars", "--steps", 20, "--no-check",
              "--json")
    assert out["experts"][-2:] == ["star", "star 2"]


def test_bad_input_is_refused_with_a_message_and_loses_nothing(tmp_path, capsys, star_files):
    run(capsys, "teach", "--name", "star", "--drawing", *star_files[:4], "--out",
        tmp_path / "mine", "--steps", 20, "--no-check", "--json")
    saved = (tmp_path / "mine" / SET_FILE).read_bytes()
    empty = tmp_path / "empty.json"
    empty.write_text('{"objects": []}')
    cases = [
        (["--drawing", *star_files[:3]], "needs 4 drawings"),
        (["--drawing", *star_files[1:4], empty], "drawing 4: the drawing is empty"),
        (["--drawing", *star_files[:4], "--name", "a"], "already has an expert 'a'"),
        (["--drawing", *star_files[:4], "--base", tmp_path / "mine", "--name", "star"],
         "already has an expert 'star'"),
        (["--drawing", *star_files[:4], "--dataset", "mnist", "--base", tmp_path / "mine"],
         "belongs to the characters data set, not mnist"),
    ]
    for extra, message in cases:
        argv = ["teach", "--out", tmp_path / "mine", "--steps", 20, "--no-check", *extra]
        if "--name" not in extra:
            argv += ["--name", "new"]
        with pytest.raises(SystemExit, match=message):
            main([str(a) for a in argv])
        assert (tmp_path / "mine" / SET_FILE).read_bytes() == saved
    with pytest.raises(SystemExit, match="not allowed"):
        main(["teach", "--name", "x", "--drawing", *map(str, star_files[:4]), "--out",
              str(tmp_path / "bad name!"), "--no-check", "--steps", "20"])
    with pytest.raises(SystemExit, match="not mnist"):
        main(["classify", "--dataset", "mnist", "--experts", str(tmp_path / "mine"),
              "--sample", "0"])


def test_a_digit_like_symbol_from_npy_files(tmp_path, capsys):
    files = []
    for s in range(5):
        files.append(tmp_path / f"cross{s}.npy")
        np.save(files[-1], ink_cross(s + 10))
    out = run(capsys, "teach", "--dataset", "mnist", "--name", "cross", "--drawing",
              *files[:4], "--out", tmp_path / "crosses", "--steps", 1500, "--no-check",
              "--json")
    assert out["experts"][-1] == "cross" and len(out["experts"]) == 11
