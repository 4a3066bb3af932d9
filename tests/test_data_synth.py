"""``tfrec data synth`` and the shard manifest: exact row counts, planted structure, checked shards."""

import json

import numpy as np
import pandas as pd
import pytest

from tfrec.cli.main import main
from tfrec.data import DataFormatError
from tfrec.data.manifest import read_manifest
from tfrec.data.synth import SynthSpec, synthesize


def _frame(manifest):
    return pd.concat([pd.read_parquet(p) for p in manifest.paths()], ignore_index=True)


def test_user_counts_cover_the_rows_when_heavy_users_reach_the_item_cap():
    """A power-law user at the item cap cannot take its share; the others take it (25M rows over
    ml-25m's users once left the last shards empty)."""
    from tfrec.data.synth import _powerlaw_weights, _user_counts

    activity = _powerlaw_weights(2_000, 0.9, np.random.default_rng(0))
    assert np.minimum(300, np.maximum(1, np.floor(activity * 200_000))).sum() < 200_000  # the old counts
    counts = _user_counts(activity, 200_000, 300)
    assert counts.sum() >= 200_000 and counts.max() <= 300 and counts.min() >= 1
    assert np.all(np.diff(counts[np.argsort(-activity, kind="stable")]) <= 0)  # still ordered by activity



def test_ratings_at_the_item_cap_still_have_exact_rows_in_every_shard(tmp_path):
    m = synthesize(SynthSpec(like="ml-25m", rows=20_000, seed=0, users=500, items=60), tmp_path / "cap", shards=4)
    assert [s.rows for s in m.shards] == [5_000] * 4
    assert not _frame(m).duplicated(["user", "item"]).any()


def test_ratings_have_exact_rows_unique_pairs_and_planted_groups(tmp_path):
    m = synthesize(SynthSpec(like="ml-25m", rows=60_000, seed=3), tmp_path / "r", shards=3)
    df = _frame(read_manifest(tmp_path / "r"))
    assert m.rows == len(df) == 60_000 and [s.rows for s in m.shards] == [20_000] * 3
    assert not df.duplicated(["user", "item"]).any()
    assert df.rating.between(0.5, 5.0).all() and 3.2 < df.rating.mean() < 3.8
    assert df.user.max() < m.cardinality["user"] and df.item.max() < m.cardinality["item"]
    # power-law activity: the top 1% of users hold far more than 1% of the ratings
    per_user = df.user.value_counts().to_numpy()
    assert per_user[: max(1, len(per_user) // 100)].sum() > 0.05 * len(df)


def test_same_seed_same_files_other_seed_other_files(tmp_path):
    a = synthesize(SynthSpec(like="rsc15", rows=5_000, seed=1), tmp_path / "a", shards=2)
    b = synthesize(SynthSpec(like="rsc15", rows=5_000, seed=1), tmp_path / "b", shards=2)
    c = synthesize(SynthSpec(like="rsc15", rows=5_000, seed=2), tmp_path / "c", shards=2)
    assert _frame(a).equals(_frame(b)) and not _frame(a).equals(_frame(c))
    sessions = _frame(a).groupby("session").size()
    assert sessions.min() >= 1 and sessions.sum() == 5_000


def test_criteo_ctr_and_planted_cross_is_learnable_only_when_planted(tmp_path):
    planted = _frame(synthesize(SynthSpec(like="criteo", rows=40_000, seed=5, crosses=1, cross_strength=1.5),
                                tmp_path / "p", shards=2))
    null = _frame(synthesize(SynthSpec(like="criteo", rows=40_000, seed=5, crosses=0), tmp_path / "n", shards=2))
    assert 0.2 < planted.label.mean() < 0.32 and 0.2 < null.label.mean() < 0.32

    def cross_gain(df):  # CTR spread over (C6, C14) pairs beyond what C6 and C14 explain alone
        pair = df.groupby(["C6", "C14"]).label.transform("mean")
        additive = (df.groupby("C6").label.transform("mean") + df.groupby("C14").label.transform("mean")
                    - df.label.mean())
        return float(np.mean((pair - additive) ** 2))

    assert cross_gain(planted) > 3 * cross_gain(null)


def test_manifest_names_truncated_shard_and_row_mismatch(tmp_path):
    synthesize(SynthSpec(like="ml-25m", rows=2_000, seed=0), tmp_path / "d", shards=2)
    shard = sorted((tmp_path / "d").glob("part-*.parquet"))[1]
    shard.write_bytes(shard.read_bytes()[:-10])
    with pytest.raises(DataFormatError, match=r"part-00001-of-00002.parquet.*truncated"):
        read_manifest(tmp_path / "d")
    doc = json.loads((tmp_path / "d" / "manifest.json").read_text())
    doc["rows"] = 123
    (tmp_path / "d" / "manifest.json").write_text(json.dumps(doc))
    with pytest.raises(DataFormatError, match="'rows' is 123 but the shards' row counts add up to 2000"):
        read_manifest(tmp_path / "d", check_files=False)


def test_cli_synth_writes_and_refuses_a_non_empty_folder(tmp_path, capsys):
    out = tmp_path / "s"
    assert main(["data", "synth", "--like", "ml-25m", "--rows", "1000", "--out", str(out), "--shards", "2"]) == 0
    assert "wrote 1,000 ratings rows in 2 parquet shards" in capsys.readouterr().out
    assert main(["data", "synth", "--like", "ml-25m", "--rows", "1000", "--out", str(out)]) == 2
    assert "is not empty" in capsys.readouterr().err


def test_parquet_row_groups_are_bounded_whatever_the_shard_size(tmp_path):
    """A reader holds a whole row group's column chunks: bounded row groups keep streaming memory flat
    as shards grow (one 150k-row shard is three row groups, none over ROW_GROUP_ROWS)."""
    import pyarrow.parquet as pq

    from tfrec.data.shard_writer import ROW_GROUP_ROWS

    m = synthesize(SynthSpec(like="criteo", rows=150_000, seed=0, crosses=0), tmp_path / "c", shards=1)
    meta = pq.ParquetFile(m.paths()[0]).metadata
    sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
    assert sum(sizes) == 150_000 and max(sizes) <= ROW_GROUP_ROWS and len(sizes) == 3
