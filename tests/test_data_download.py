"""``tfrec data download`` against a local mirror: a zip built from ../shared/data served on 127.0.0.1."""

import hashlib
import zipfile

import pytest

from tfrec.cli.main import main
from tfrec.data.download import DATASETS, DownloadError, download_dataset, text_sha256


def test_checksums_match_the_shared_copies(data_root):
    # the pinned hashes are those of the files in ../shared/data (whose PROVENANCE.md lists them)
    for name in ("ml-100k", "ml-latest-small"):
        for f, expected in DATASETS[name].files.items():
            assert hashlib.sha256((data_root / name / f).read_bytes()).hexdigest() == expected, (name, f)


def test_text_sha256_ignores_crlf_only(tmp_path):
    lf, crlf, other = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    lf.write_bytes(b"1,2\n3,4\n")
    crlf.write_bytes(b"1,2\r\n3,4\r\n")
    other.write_bytes(b"1,2\n3,5\n")
    assert text_sha256(lf) == text_sha256(crlf) == hashlib.sha256(b"1,2\n3,4\n").hexdigest()
    assert text_sha256(other) != text_sha256(lf)


def test_download_from_mirror_verifies_and_reuses(ml100k_path, tmp_path, monkeypatch, capsys, mirror):
    mirror.build_zip(ml100k_path, tmp_path / "mirror", "ml-100k")
    root = tmp_path / "cache"
    monkeypatch.setenv("TFREC_DATA", str(root))
    with mirror.serve(tmp_path / "mirror") as url:
        monkeypatch.setenv("TFREC_DATA_URL", url)
        assert main(["data", "download", "ml-100k"]) == 0
    out = capsys.readouterr()
    assert out.out.strip() == str(root / "ml-100k")
    assert "20 files' SHA-256 verified" in out.err
    assert (root / "ml-100k" / "u.data").read_bytes() == (ml100k_path / "u.data").read_bytes()
    assert sorted(p.name for p in root.iterdir()) == ["ml-100k"]  # no temp folder left
    # verified copy present: no network needed (the server is gone)
    assert download_dataset("ml-100k", log=lambda m: None) == root / "ml-100k"


def test_crlf_copy_of_ml_latest_small_passes(ml_latest_small_path, tmp_path, monkeypatch, mirror):
    mirror.build_zip(ml_latest_small_path, tmp_path / "mirror", "ml-latest-small", crlf=True)
    with mirror.serve(tmp_path / "mirror") as url:
        monkeypatch.setenv("TFREC_DATA_URL", url)
        folder = download_dataset("ml-latest-small", tmp_path / "cache", log=lambda m: None)
    assert (folder / "ratings.csv").read_bytes().count(b"\r\n") == 100837


def test_corrupt_download_is_rejected_and_nothing_is_left(ml100k_path, tmp_path, monkeypatch, capsys, mirror):
    mirror.build_zip(ml100k_path, tmp_path / "mirror", "ml-100k", corrupt="u.item")
    root = tmp_path / "cache"
    with mirror.serve(tmp_path / "mirror") as url:
        monkeypatch.setenv("TFREC_DATA_URL", url)
        assert main(["data", "download", "ml-100k", "--root", str(root)]) == 1
    err = capsys.readouterr().err
    assert "checksum mismatch" in err and "u.item has SHA-256" in err and "nothing was written" in err
    assert list(root.iterdir()) == []


def test_zip_md5_is_checked_where_no_file_hashes_exist(tmp_path, monkeypatch, mirror):
    # ml-1m is checked by the MD5 of GroupLens' zip: any other zip is refused
    zips = tmp_path / "mirror"
    zips.mkdir()
    with zipfile.ZipFile(zips / "ml-1m.zip", "w") as zf:
        for f in ("ratings.dat", "movies.dat", "users.dat"):
            zf.writestr(f"ml-1m/{f}", "1::1::5::978300760\n")
    with mirror.serve(zips) as url:
        monkeypatch.setenv("TFREC_DATA_URL", url)
        with pytest.raises(DownloadError, match="has MD5 .*expected c4d9eecfca2ab87c1945afe126590906"):
            download_dataset("ml-1m", tmp_path / "cache", log=lambda m: None)
    assert list((tmp_path / "cache").iterdir()) == []


def test_offline_says_exactly_what_to_do(tmp_path, monkeypatch, capsys, mirror):
    monkeypatch.setenv("TFREC_DATA_URL", mirror.closed_port_url())
    assert main(["data", "download", "ml-100k", "--root", str(tmp_path / "cache"), "--timeout", "5"]) == 1
    err = capsys.readouterr().err
    assert "Could not download ml-100k" in err
    assert "tfrec data download ml-100k" in err
    assert "https://files.grouplens.org/datasets/movielens/ml-100k.zip" in err
    assert f"{tmp_path / 'cache' / 'ml-100k' / 'u.data'} exists" in err
    assert "TFREC_DATA_URL" in err and "--data /path/to/ml-100k" in err
    assert list((tmp_path / "cache").iterdir()) == []


def test_existing_folder_that_does_not_verify_is_not_replaced_without_force(ml100k_path, tmp_path):
    folder = tmp_path / "ml-100k"
    folder.mkdir()
    (folder / "u.data").write_text("1\t1\t5\t0\n")
    with pytest.raises(DownloadError, match=r"does not verify: .*--force"):
        download_dataset("ml-100k", tmp_path, log=lambda m: None)
    assert (folder / "u.data").read_text() == "1\t1\t5\t0\n"


def test_unknown_dataset_names_the_known_ones():
    with pytest.raises(ValueError, match=r"Unknown dataset 'ml-100'.*Did you mean 'ml-100k'"):
        download_dataset("ml-100")


def test_file_url_mirror(ml100k_path, tmp_path, monkeypatch, mirror):
    mirror.build_zip(ml100k_path, tmp_path / "mirror", "ml-100k")
    monkeypatch.setenv("TFREC_DATA_URL", (tmp_path / "mirror").as_uri())
    assert (download_dataset("ml-100k", tmp_path / "cache", log=lambda m: None) / "u.data").is_file()


def test_unwritable_data_folder_says_to_set_tfrec_data(tmp_path):
    not_a_folder = tmp_path / "data"
    not_a_folder.write_text("")
    with pytest.raises(DownloadError, match=r"cannot write into the data folder .*data .*set TFREC_DATA to a writable"):
        download_dataset("ml-100k", not_a_folder, log=lambda m: None)
