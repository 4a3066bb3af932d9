"""``tfrec data convert`` and the streamed input: real files to shards, shards back through tf.data,
and every damaged shard named before a row is used."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tfrec.cli.main import main
from tfrec.data import DataFormatError
from tfrec.data.convert import convert
from tfrec.data.manifest import read_manifest
from tfrec.data.stream import read_columns, shard_dataset

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
ML100K = DATA / "ml-100k"
RSC15 = DATA / "rsc15-yoochoose-100k" / "yoochoose-clicks-100k_test.txt"
CRITEO = DATA / "criteo-10k" / "criteo_sampled_data_10k.csv"


def _need(path):
    if not path.exists():
        pytest.skip(f"{path} not found (the shared data folder is absent)")


class _Context:  # the two fields of tf.distribute.InputContext the reader uses
    def __init__(self, pipeline, pipelines):
        self.input_pipeline_id, self.num_input_pipelines = pipeline, pipelines


def test_movielens_to_parquet_keeps_every_rating_and_maps_ids(tmp_path):
    _need(ML100K)
    m = convert(ML100K, tmp_path / "p", shards=3, chunk_rows=7_000)
    raw = pd.read_csv(ML100K / "u.data", sep="\t", header=None, names=["u", "i", "r", "t"])
    cols = read_columns(tmp_path / "p", ["user", "item", "rating", "timestamp"])
    users = (tmp_path / "p" / "vocab" / "user.txt").read_text().split()
    items = (tmp_path / "p" / "vocab" / "item.txt").read_text().split()
    assert m.rows == 100_000 and m.cardinality == {"user": 943, "item": 1682}
    assert cols["user"].dtype == np.int32 and cols["rating"].dtype == np.float32
    np.testing.assert_array_equal(np.asarray(users, dtype=np.int64)[cols["user"]], raw.u)
    np.testing.assert_array_equal(np.asarray(items, dtype=np.int64)[cols["item"]], raw.i)
    np.testing.assert_array_equal(cols["rating"], raw.r)


@pytest.mark.parametrize("fmt", ["parquet", "tfrecord"])
def test_two_pipelines_read_disjoint_files_covering_every_row(tmp_path, fmt):
    _need(RSC15)
    convert(RSC15, tmp_path / "s", to=fmt, shards=4, chunk_rows=5_000)
    m = read_manifest(tmp_path / "s")
    seen = [np.concatenate([b["session"].numpy() for b in shard_dataset(m, ["session"], 512,
                                                                        input_context=_Context(i, 2))])
            for i in range(2)]
    raw = pd.read_csv(RSC15, sep="\t")
    assert sum(len(s) for s in seen) == len(raw)
    assert not set(seen[0]) & set(seen[1])  # FILE sharding, and no session spans two shards
    times = np.concatenate([b["time"].numpy() for b in shard_dataset(m, ["time"], 4096)])
    np.testing.assert_allclose(np.sort(times), np.sort(raw.Time.to_numpy()), rtol=0, atol=1e-6)


def test_criteo_rare_and_missing_values_share_index_zero(tmp_path):
    _need(CRITEO)
    m = convert(CRITEO, tmp_path / "c", min_count=5)
    cols = read_columns(m, ["label", "I12", "C3"])
    raw = pd.read_csv(CRITEO, dtype=str, keep_default_na=False)
    rare = raw.C3.map(raw.C3.value_counts()) < 5
    assert ((cols["C3"] == 0) == (rare | (raw.C3 == "")).to_numpy()).all()
    assert np.isnan(cols["I12"]).sum() == (raw.I12 == "").sum()
    assert cols["label"].sum() == raw.label.astype(int).sum()


def test_damaged_shards_are_named(tmp_path):
    _need(ML100K)
    convert(ML100K, tmp_path / "p", shards=2)
    first = tmp_path / "p" / "part-00000-of-00002.parquet"
    other = pd.read_parquet(first).rename(columns={"rating": "score"})
    other.to_parquet(first, index=False)  # another schema, and another size than the manifest lists
    with pytest.raises(DataFormatError, match="part-00000-of-00002.parquet.*truncated or replaced"):
        shard_dataset(tmp_path / "p", ["user"], 10)
    m = read_manifest(tmp_path / "p", check_files=False)
    with pytest.raises(DataFormatError, match="part-00000-of-00002.parquet: has no column 'rating'"):
        shard_dataset(m, ["user"], 10)


def test_bad_line_names_file_and_line_and_leaves_no_folder(tmp_path):
    src = tmp_path / "ml"
    src.mkdir()
    (src / "ratings.csv").write_text("userId,movieId,rating,timestamp\n1,10,4.0,100\n1,11,four,101\n")
    with pytest.raises(DataFormatError, match=r"ratings.csv:3: column 'rating': expected a number, found 'four'"):
        convert(src, tmp_path / "out")
    assert not any(p.name.startswith(".out") or p.name == "out" for p in tmp_path.iterdir())


def test_cli_convert(tmp_path, capsys):
    _need(ML100K)
    assert main(["data", "convert", str(ML100K), "--out", str(tmp_path / "o"), "--shards", "2"]) == 0
    assert "wrote 100,000 ratings rows in 2 parquet shards" in capsys.readouterr().out
    assert main(["data", "convert", str(ML100K), "--out", str(tmp_path / "o")]) == 2
    assert "exists" in capsys.readouterr().err
