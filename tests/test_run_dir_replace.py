"""A run that failed before training anything is replaced by the corrected command; one that trained is kept."""

import json

import pytest

import tfrec  # noqa: F401
from tfrec.data import DataFormatError
from tfrec.training import RunDirError, Trainer, from_dict


def _ml_folder(tmp_path):
    folder = tmp_path / "ml"
    folder.mkdir()
    lines = [f"{u},{i},{(u * i) % 5 + 1}.0,{100 * u + i}\n" for u in range(1, 31) for i in range(1, 11) if (u + i) % 3]
    lines.append("1,1,5.0,999\n")  # (1, 1) rated again: an error unless data.duplicates says otherwise
    (folder / "ratings.csv").write_text("userId,movieId,rating,timestamp\n" + "".join(lines))
    (folder / "movies.csv").write_text("movieId,title,genres\n" + "".join(f"{i},M{i} (1990),Drama\n"
                                                                         for i in range(1, 11)))
    return folder


def _config(folder, run_dir, **data):
    return from_dict({
        "data": {"path": str(folder), "protocol": "random", "validation_ratio": 0.2, **data},
        "model": {"name": "mf", "params": {"embedding_dim": 4}},
        "training": {"epochs": 1, "batch_size": 64, "verbose": 0},
        "evaluation": {"enabled": False},
        "output": {"run_dir": str(run_dir), "saved_model": False, "tensorboard": False},
    })


def test_run_that_failed_on_bad_data_is_replaced_without_overwrite(tmp_path):
    folder, run_dir = _ml_folder(tmp_path), tmp_path / "run"
    with pytest.raises(DataFormatError, match="rated again"):
        Trainer(_config(folder, run_dir), log=lambda m: None).fit()
    assert (run_dir / "config.yaml").is_file() and not (run_dir / "epochs.jsonl").exists()
    lines = []
    Trainer(_config(folder, run_dir, duplicates="keep-last"), log=lines.append).fit()
    assert any("trained nothing" in line and "data.duplicates" in line for line in lines)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["status"] == "completed" and len(metrics["history"]) == 1
    assert "duplicates: keep-last" in (run_dir / "config.yaml").read_text()


def test_run_that_trained_an_epoch_still_needs_overwrite(tmp_path):
    folder, run_dir = _ml_folder(tmp_path), tmp_path / "run"
    Trainer(_config(folder, run_dir, duplicates="keep-last"), log=lambda m: None).fit()
    (run_dir / "metrics.json").unlink()  # as if it died after its first epoch
    with pytest.raises(RunDirError, match=r"another config \(differs in: data.duplicates\)"):
        Trainer(_config(folder, run_dir, duplicates="mean"), log=lambda m: None).fit()
    assert (run_dir / "epochs.jsonl").read_text().strip()  # nothing was deleted
