"""``tfrec evaluate``: --protocol keeps the config's params it takes; a failing algorithm keeps the others' results."""

import json

import pytest

from tfrec.cli.main import build_parser, main
from tfrec.recommenders.popularity import PopularityRecommender


class Broken(PopularityRecommender):
    """An algorithm whose fit fails (registered as "broken" by the tests below)."""

    def fit(self, data):
        raise RuntimeError("out of memory in fit")


def _resolve(cfg_text, tmp_path, *argv):
    from tfrec.cli.evaluate import resolve

    cfg = tmp_path / "c.yaml"
    cfg.write_text(cfg_text)
    return resolve(build_parser().parse_args(["evaluate", "--config", str(cfg), *argv]))


def test_protocol_override_keeps_the_params_it_accepts(tmp_path, capsys):
    text = "protocol: {name: msr_stratified, params: {ratio: 0.6, seed: 7}}\nalgorithms: [popularity]\n"
    resolved = _resolve(text, tmp_path, "--protocol", "random")
    assert resolved.protocol.name == "random" and resolved.protocol.params == {"ratio": 0.6, "seed": 7}
    assert capsys.readouterr().err == ""


def test_protocol_override_drops_params_it_does_not_take_with_a_note(tmp_path, capsys):
    text = "protocol: {name: random, params: {ratio: 0.6, seed: 7}}\nalgorithms: [popularity]\n"
    resolved = _resolve(text, tmp_path, "--protocol", "leave_one_out", "--set", "protocol.params.pick=random")
    assert resolved.protocol.name == "leave_one_out"
    assert resolved.protocol.params == {"seed": 7, "pick": "random"}
    err = capsys.readouterr().err
    assert "dropped protocol.params ratio=0.6 of 'random'" in err


def _ml_folder(tmp_path):
    folder = tmp_path / "ml"
    folder.mkdir()
    lines = [f"{u},{i},{(u * i) % 5 + 1}.0,{100 * u + i}\n" for u in range(1, 21) for i in range(1, 9) if (u + i) % 3]
    (folder / "ratings.csv").write_text("userId,movieId,rating,timestamp\n" + "".join(lines))
    (folder / "movies.csv").write_text("movieId,title,genres\n" + "".join(f"{i},M{i} (1990),Drama\n"
                                                                         for i in range(1, 9)))
    return folder


def _register_broken(monkeypatch):
    from tfrec.training.families import registry
    from tfrec.training.families.closed_form import ClosedFormTask, NoParams

    monkeypatch.setitem(registry.TASKS, "broken", ClosedFormTask("broken", f"{__name__}:Broken", "ranking", NoParams))


def test_failing_algorithm_keeps_the_finished_results(tmp_path, monkeypatch, capsys):
    _register_broken(monkeypatch)
    cfg = tmp_path / "c.yaml"
    cfg.write_text("protocol: {name: random}\nk: 3\nalgorithms: [popularity, broken, random]\n")
    rc = main(["evaluate", "--config", str(cfg), "--data", str(_ml_folder(tmp_path)), "--run-dir",
               str(tmp_path / "run"), "--no-progress"])
    assert rc == 1
    res = json.loads((tmp_path / "run" / "results.json").read_text())
    assert [r["algorithm"] for r in res["results"]] == ["popularity", "random"]
    assert res["failures"] == [{"algorithm": "broken", "error": "RuntimeError: out of memory in fit"}]
    csv = (tmp_path / "run" / "results.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in csv[1:]] == ["popularity", "random"]
    assert "algorithm broken failed: RuntimeError: out of memory in fit" in capsys.readouterr().err


def test_evaluator_raises_by_default(tmp_path, monkeypatch):
    from tfrec.data import load_movielens
    from tfrec.evaluation import Evaluator
    from tfrec.training import build_algorithm

    _register_broken(monkeypatch)
    ev = Evaluator(load_movielens(_ml_folder(tmp_path)).ratings, "random", k=3, progress=False)
    with pytest.raises(RuntimeError, match="out of memory"):
        ev.run([build_algorithm("broken")])
    with pytest.raises(ValueError, match="on_error must be"):
        ev.run([build_algorithm("popularity")], on_error="skip")
