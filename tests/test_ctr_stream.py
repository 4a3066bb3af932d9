"""Streaming CTR input: one-pass numeric statistics equal the in-memory fit; batches normalized in tf.data."""

import numpy as np
import pytest

from tfrec.data.ctr_stream import ctr_dataset, numeric_normalizers
from tfrec.data.errors import DataFormatError
from tfrec.data.preprocessing import Normalizer
from tfrec.data.stream import read_columns
from tfrec.data.synth import SynthSpec, synthesize

NUMERIC = [f"I{j}" for j in range(1, 14)]
CATEGORICAL = [f"C{j}" for j in range(1, 27)]


@pytest.fixture(scope="module")
def criteo_shards(tmp_path_factory):
    out = tmp_path_factory.mktemp("ctr") / "train"
    return synthesize(SynthSpec(like="criteo", rows=3000, seed=1, max_cardinality=1000), out, shards=3)


def test_streamed_statistics_equal_in_memory_fit(criteo_shards):
    # small reads: many partial sums per column
    streamed = numeric_normalizers(criteo_shards, NUMERIC, read_rows=257)
    columns = read_columns(criteo_shards, NUMERIC)
    for c in NUMERIC:
        ref = Normalizer.fit(columns[c], log1p=True)
        assert streamed[c].mean == pytest.approx(ref.mean, rel=1e-9, abs=1e-12), c
        assert streamed[c].std == pytest.approx(ref.std, rel=1e-9), c


def test_dataset_applies_the_normalizers(criteo_shards):
    norms = numeric_normalizers(criteo_shards, NUMERIC)
    features, label = next(iter(ctr_dataset(criteo_shards, norms, CATEGORICAL, batch_size=3000)))
    columns = read_columns(criteo_shards, ["label", *NUMERIC, *CATEGORICAL])
    expected = np.stack([norms[c].transform(columns[c]) for c in NUMERIC], axis=1)
    np.testing.assert_allclose(features["numeric"].numpy(), expected, rtol=1e-5, atol=1e-5)
    assert not np.isnan(features["numeric"].numpy()).any()  # NaN (missing) -> the training mean (0)
    np.testing.assert_array_equal(features["C3"].numpy(), columns["C3"])
    np.testing.assert_array_equal(label.numpy(), columns["label"].astype(np.float32))


def test_unknown_column_is_named(criteo_shards):
    norms = numeric_normalizers(criteo_shards, NUMERIC[:2])
    with pytest.raises(DataFormatError, match="C99"):
        ctr_dataset(criteo_shards, norms, ["C99"], batch_size=8)
