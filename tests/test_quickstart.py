"""``tfrec quickstart`` end to end on the real MovieLens 100K, then ``tfrec recommend`` against ``tfrec serve``.

The run plays a fresh machine: an empty data folder, no ``--data``, and ``TFREC_DATA_URL`` pointing at
a local HTTP server that serves an ``ml-100k.zip`` built from ../shared/data; quickstart downloads it,
verifies the checksums and finishes.
"""

import json

import pytest

import tfrec  # noqa: F401
from tfrec.cli.main import build_parser


@pytest.fixture(scope="module")
def quickstart_run(ml100k_path, tmp_path_factory, mirror):
    out = tmp_path_factory.mktemp("qs")
    zips, cache = tmp_path_factory.mktemp("mirror"), tmp_path_factory.mktemp("cache")
    mirror.build_zip(ml100k_path, zips, "ml-100k")
    with mirror.serve(zips) as url, pytest.MonkeyPatch.context() as mp:
        mp.setenv("TFREC_DATA", str(cache))
        mp.setenv("TFREC_DATA_URL", url)
        args = build_parser().parse_args(["quickstart", "--output", str(out),
                                          "--epochs", "2", "--ranking-epochs", "2", "--user", "42"])
        rc = args.func(args)
    return rc, out, cache


@pytest.mark.slow
def test_quickstart_downloads_trains_evaluates_exports_and_prints(quickstart_run, ml100k_path):
    rc, out, cache = quickstart_run
    assert rc == 0
    assert (cache / "ml-100k" / "u.data").read_bytes() == (ml100k_path / "u.data").read_bytes()
    assert json.loads((cache / "ml-100k" / ".tfrec-download.json").read_text())["verified"]["files_sha256"]
    metrics = json.loads((out / "metrics.json").read_text())
    # random ranking puts a held-out item in the top 100 of ~1650 movies about 6% of the time
    assert metrics["retrieval"]["top_100_accuracy"] > 2 * 100 / 1650
    # predicting the mean training rating gives RMSE ~1.12 on this split
    assert metrics["ranking"]["rmse"] < 1.12
    base = out / "models"
    assert sorted(p.name for p in base.iterdir() if p.is_dir()) == ["movies", "movies_ranking", "movies_scann"]
    assert (base / "movies" / "1" / "assets.extra" / "tf_serving_warmup_requests").is_file()
    assert metrics["export"]["scann"]["reached_target"]


@pytest.mark.slow
def test_recommend_against_the_served_quickstart_models(quickstart_run, ml100k_path, capsys):
    from tfrec.serving.config import parse_config_file
    from tfrec.serving.server import ModelServer

    _, out, _ = quickstart_run
    server = ModelServer(parse_config_file(out / "models" / "models.config"), rest_port=0, grpc_port=0,
                         host="127.0.0.1", poll_seconds=0).start()
    try:
        capsys.readouterr()
        for target in (server.rest_url, server.grpc_target):
            args = build_parser().parse_args(["recommend", "--server", target, "--model", "movies_scann", "--user", "42",
                                              "-k", "5", "--titles", str(ml100k_path)])
            assert args.func(args) == 0
            printed = capsys.readouterr().out.splitlines()
            assert printed[0].startswith("top 5 for user 42 from movies_scann")
            rows = printed[2:]
            assert len(rows) == 5 and all("(19" in r or "(20" in r for r in rows)  # titles carry the year
        args = build_parser().parse_args(["recommend", "--server", server.rest_url, "--model", "nosuch", "--user", "42"])
        assert args.func(args) == 1
        assert "Servable not found for request: Latest(nosuch)" in capsys.readouterr().err
    finally:
        server.stop(drain_seconds=5)


def test_quickstart_without_data_offline_says_what_to_do(monkeypatch, tmp_path, capsys, mirror):
    monkeypatch.setenv("TFREC_DATA", str(tmp_path / "cache"))
    monkeypatch.setenv("TFREC_DATA_URL", mirror.closed_port_url())
    args = build_parser().parse_args(["quickstart", "--output", str(tmp_path / "out")])
    assert args.func(args) == 2
    err = capsys.readouterr().err
    assert "Could not download ml-100k" in err and "tfrec quickstart --data /path/to/ml-100k" in err
    assert not (tmp_path / "out" / "metrics.json").exists()
    assert not (tmp_path / "cache" / "ml-100k").exists()
