"""tfrec.data.load_sessions, load_criteo and load_ctr_csv on the shared samples and tiny files.

Expected values come from an independent read of the same file with Python's csv module.
"""

import csv
import datetime
import doctest
import json

import numpy as np
import pandas as pd
import pytest

import tfrec.data.ctr
from tfrec.data import (
    CRITEO_SCHEMA,
    CTRSchema,
    DataFormatError,
    load_criteo,
    load_ctr_csv,
    load_sessions,
)

RSC15_TRAIN = "yoochoose-clicks-100k_train_full.txt"
RSC15_TEST = "yoochoose-clicks-100k_test.txt"
CRITEO_FILE = "criteo_sampled_data_10k.csv"


def _csv_rows(path, delimiter):
    with open(path, newline="") as f:
        reader = csv.reader(f, delimiter=delimiter)
        header = next(reader)
        return header, [row for row in reader if row]


# ----------------------------------------------------------------------------------------------
# Sessions


def test_rsc15_gru4rec_format(rsc15_path):
    clicks = load_sessions(rsc15_path / RSC15_TRAIN)
    header, rows = _csv_rows(rsc15_path / RSC15_TRAIN, "\t")
    assert header == ["SessionId", "ItemId", "Time"]
    assert list(clicks.columns) == ["SessionId", "ItemId", "Time"]
    assert len(clicks) == len(rows) == 70_278  # PROVENANCE.md: 70,278 clicks
    assert clicks["SessionId"].nunique() == len({r[0] for r in rows}) == 17_794
    assert clicks["SessionId"].tolist() == [r[0] for r in rows]
    assert clicks["ItemId"].tolist() == [r[1] for r in rows]
    np.testing.assert_array_equal(clicks["Time"].to_numpy(), np.array([float(r[2]) for r in rows]))
    assert pd.api.types.is_string_dtype(clicks["SessionId"]) and pd.api.types.is_string_dtype(clicks["ItemId"])
    assert clicks["Time"].dtype == np.float64


def test_rsc15_test_split(rsc15_path):
    clicks = load_sessions(rsc15_path / RSC15_TEST, sep="\t")
    assert len(clicks) == 13_568 and clicks["SessionId"].nunique() == 3_416


def test_click_log_csv_with_column_mapping(tmp_path):
    path = tmp_path / "clicks.csv"
    path.write_text("user,sid,ts,product,price\nu1,s1,10.5,p9,3\nu1,s1,12,p7,4\nu2,s2,11,p9,5\n")
    clicks = load_sessions(path, columns={"session": "sid", "item": "product", "time": "ts"})
    assert list(clicks.columns) == ["SessionId", "ItemId", "Time"]
    assert clicks["SessionId"].tolist() == ["s1", "s1", "s2"]
    assert clicks["ItemId"].tolist() == ["p9", "p7", "p9"]
    assert clicks["Time"].tolist() == [10.5, 12.0, 11.0]


def test_headerless_iso_times(tmp_path):
    path = tmp_path / "yoochoose-clicks.dat"  # the raw YOOCHOOSE layout: session,time,item,category
    path.write_text("1,2014-04-07T10:51:09.277Z,214536502,0\n1,2014-04-07T10:54:09.868Z,214536500,0\n")
    clicks = load_sessions(path, header=False, columns={"session": 0, "time": 1, "item": 2})
    utc = datetime.timezone.utc
    expected = [
        datetime.datetime(2014, 4, 7, 10, 51, 9, 277000, tzinfo=utc).timestamp(),
        datetime.datetime(2014, 4, 7, 10, 54, 9, 868000, tzinfo=utc).timestamp(),
    ]
    np.testing.assert_allclose(clicks["Time"].to_numpy(), expected, rtol=0, atol=1e-6)
    assert clicks["ItemId"].tolist() == ["214536502", "214536500"]


def test_sessions_bad_time_names_line(tmp_path):
    path = tmp_path / "s.tsv"
    path.write_text("SessionId\tItemId\tTime\n1\t5\t100.0\n1\t6\tlater\n")
    with pytest.raises(DataFormatError, match=r"s\.tsv:3: time 'later' is not a number") as info:
        load_sessions(path)
    assert info.value.content == "1\t6\tlater"


def test_sessions_truncated_line(tmp_path):
    path = tmp_path / "s.tsv"
    path.write_text("SessionId\tItemId\tTime\n1\t5\t100.0\n1\t6\n")
    with pytest.raises(DataFormatError, match=r"s\.tsv:3: expected 3 tab-separated fields.*found 2"):
        load_sessions(path)


def test_sessions_empty_item(tmp_path):
    path = tmp_path / "s.tsv"
    path.write_text("SessionId\tItemId\tTime\n1\t\t100.0\n")
    with pytest.raises(DataFormatError, match=r"s\.tsv:2: empty item field \('ItemId'\)"):
        load_sessions(path)


def test_sessions_missing_header_column(tmp_path):
    path = tmp_path / "s.tsv"
    path.write_text("session\tItemId\tTime\n1\t5\t100.0\n")
    with pytest.raises(DataFormatError, match=r"s\.tsv:1: the header lacks column\(s\) \['SessionId'\]"):
        load_sessions(path)


def test_sessions_empty_file(tmp_path):
    path = tmp_path / "s.tsv"
    path.write_text("\n")
    with pytest.raises(DataFormatError, match="the file is empty"):
        load_sessions(path)


def test_sessions_bad_columns_argument(tmp_path):
    path = tmp_path / "s.tsv"
    path.write_text("SessionId\tItemId\tTime\n1\t5\t100.0\n")
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['user'\]"):
        load_sessions(path, columns={"user": "SessionId"})
    with pytest.raises(ValueError, match="header=False"):
        load_sessions(path, columns={"session": 0, "item": 1, "time": 2})


# ----------------------------------------------------------------------------------------------
# CTR


def test_criteo_sample(criteo_path):
    data = load_criteo(criteo_path / CRITEO_FILE)
    header, rows = _csv_rows(criteo_path / CRITEO_FILE, ",")
    assert header == list(CRITEO_SCHEMA.columns)
    frame = data.frame
    assert len(data) == len(rows) == 9_999
    assert list(frame.columns) == list(CRITEO_SCHEMA.columns)
    assert frame["label"].dtype == np.int64
    np.testing.assert_array_equal(data.labels, [int(r[0]) for r in rows])
    assert round(float(data.labels.mean()), 3) == 0.218  # README: CTR 0.218
    numeric = np.array([[float(v) if v else np.nan for v in r[1:14]] for r in rows])
    np.testing.assert_array_equal(data.numeric_matrix(), numeric)  # NaN where the field was blank
    assert all(frame[c].dtype == np.float64 for c in CRITEO_SCHEMA.numeric)
    categorical = [r[14:] for r in rows]
    assert frame[list(CRITEO_SCHEMA.categorical)].to_numpy().tolist() == categorical  # "" where blank
    assert sum(v == "" for r in categorical for v in r) > 0


def test_criteo_headerless_tsv_and_missing_marker(tmp_path):
    row1 = ["1", "5", ""] + ["1"] * 11 + ["68fd1e64", ""] + ["ab"] * 24
    row2 = ["0", "", "-1"] + ["2"] * 11 + ["80e26c9b", "fb936136"] + ["cd"] * 24
    path = tmp_path / "train.txt"
    path.write_text("\n".join("\t".join(r) for r in (row1, row2)) + "\n")
    data = load_criteo(path, missing="<missing>")
    assert data.labels.tolist() == [1, 0]
    np.testing.assert_array_equal(data.frame["I1"], [5.0, np.nan])
    np.testing.assert_array_equal(data.frame["I2"], [np.nan, -1.0])
    assert data.frame["C2"].tolist() == ["<missing>", "fb936136"]


def test_ctr_csv_with_schema(tmp_path):
    path = tmp_path / "clicks.csv"
    path.write_text('site,clicked,price,ignored,device\n"a,b",1,2.5,x,ios\nc,0,,y,\n')
    schema = CTRSchema(label="clicked", numeric=["price"], categorical=["site", "device"])
    data = load_ctr_csv(path, schema=schema)
    assert list(data.frame.columns) == ["clicked", "price", "site", "device"]
    assert data.labels.tolist() == [1, 0]
    np.testing.assert_array_equal(data.frame["price"], [2.5, np.nan])
    assert data.frame["site"].tolist() == ["a,b", "c"] and data.frame["device"].tolist() == ["ios", ""]


def test_ctr_label_not_binary(tmp_path):
    path = tmp_path / "clicks.csv"
    path.write_text("y,x\n1,2\n2,3\n")
    with pytest.raises(DataFormatError, match=r"clicks\.csv:3: label 'y' is 2; expected 0 or 1"):
        load_ctr_csv(path, CTRSchema(label="y", numeric=["x"]))


def test_ctr_numeric_not_a_number(tmp_path):
    path = tmp_path / "clicks.csv"
    path.write_text("y,x\n1,2\n0,abc\n")
    with pytest.raises(DataFormatError, match=r"clicks\.csv:3: field 'x': 'abc' is not a number or an empty field"):
        load_ctr_csv(path, CTRSchema(label="y", numeric=["x"]))


def test_criteo_truncated_line(tmp_path, criteo_path):
    lines = (criteo_path / CRITEO_FILE).read_text().splitlines()[:4]
    lines[3] = lines[3][: len(lines[3]) // 2]  # cut the third data line in the middle
    path = tmp_path / "criteo.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFormatError, match=r"criteo\.csv:4: expected 40 comma-separated fields"):
        load_criteo(path)


def test_ctr_schema_validation_and_config():
    with pytest.raises(ValueError, match=r"\['x'\] more than once"):
        CTRSchema(label="y", numeric=["x"], categorical=["x"])
    with pytest.raises(TypeError, match="needs a CTRSchema"):
        load_ctr_csv("unused.csv", schema={"label": "y"})
    config = json.loads(json.dumps(CRITEO_SCHEMA.to_config()))
    assert CTRSchema.from_config(config) == CRITEO_SCHEMA
    assert len(CRITEO_SCHEMA.numeric) == 13 and len(CRITEO_SCHEMA.categorical) == 26


def test_ctr_docstring_example_runs():
    result = doctest.testmod(tfrec.data.ctr)
    assert result.attempted >= 1 and result.failed == 0
