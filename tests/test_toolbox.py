"""The real-world toolbox: outlier filtering, recency-decayed popularity, new-item exploration, and the
popularity fallback and stoplist of an exported model served by ``tfrec serve``'s server."""

import json

import numpy as np
import pandas as pd
import pytest

from tfrec.data.filters import filter_outliers
from tfrec.data.item_features import stoplist_item_ids
from tfrec.data.training_data import TrainingData
from tfrec.recommenders.exploration import NewItemExploration, explore_slot, new_items
from tfrec.recommenders.popularity import PopularityRecommender


def _frame():
    # user counts: a 10, b 3, c 2, d 2, e 1 ; item "rare" rated once (by e)
    rows = [("a", f"m{i}") for i in range(10)] + [("b", "m0"), ("b", "m1"), ("b", "m2"), ("c", "m0"), ("c", "m1"),
                                                   ("d", "m1"), ("d", "m2"), ("e", "rare")]
    return pd.DataFrame(rows, columns=["user_id", "movie_id"])


def test_outlier_filter_removes_exactly_the_configured_users():
    kept, report = filter_outliers(_frame(), max_user_ratings=3)
    assert report["removed_users"] == ["a"] and sorted(kept["user_id"].unique()) == ["b", "c", "d", "e"]
    assert report["removed_rows"] == 10
    # counts 10,3,2,2,1: mean 3.6, std 3.26; z(a) = 1.96, every other z < 0
    _, report = filter_outliers(_frame(), max_user_zscore=1.5)
    assert report["removed_users"] == ["a"]
    kept, report = filter_outliers(_frame(), max_user_zscore=1.5, min_item_ratings=2)
    assert report["removed_items"] == ["rare"] and "rare" not in set(kept["movie_id"])
    assert set(kept["user_id"]) == {"b", "c", "d"}  # e had only the rare item


def test_outlier_filter_bad_threshold():
    with pytest.raises(ValueError, match="max_user_ratings must be a positive integer"):
        filter_outliers(_frame(), max_user_ratings=0)


def test_recency_decayed_popularity():
    day = 86400
    frame = pd.DataFrame({"user_id": list("abcd"), "movie_id": ["old", "old", "old", "new"],
                          "timestamp": [0, 0, 0, 30 * day]})
    pop = PopularityRecommender(half_life_days=15).fit(TrainingData(frame))
    old, new = pop.data.item_index(["old", "new"])
    s = pop.score(np.array([0]))[0]
    assert s[new] == pytest.approx(1.0) and s[old] == pytest.approx(3 * 0.25 / 1.0)  # 3 ratings 2 half-lives old
    with pytest.raises(ValueError, match="timestamp"):
        PopularityRecommender(half_life_days=15).fit(TrainingData(frame.drop(columns="timestamp")))


def test_exploration_slot_gets_a_new_item_not_listed_or_seen():
    recs = np.array([[0, 1, 2], [3, 4, 5]])
    seen = np.zeros((2, 10), bool)
    seen[0, 7] = True
    out = explore_slot(recs, new=np.array([1, 7, 8]), slot=1, seed=5, seen=seen)
    assert out[0, 1] == 8  # 1 is listed, 7 seen
    assert out[1, 1] in (1, 7, 8) and (out[:, [0, 2]] == recs[:, [0, 2]]).all()
    assert (explore_slot(recs, np.array([1, 7, 8]), 1, 5, seen) == out).all()  # seeded


def test_new_item_exploration_wraps_a_recommender():
    frame = _frame()
    data = TrainingData(frame)
    assert data.item_ids[new_items(data, max_ratings=1)].tolist() == ["m3", "m4", "m5", "m6", "m7", "m8", "m9", "rare"]
    algo = NewItemExploration(PopularityRecommender(), slot=0, max_ratings=1, seed=0).fit(data)
    recs, _ = algo.recommend(data.user_index(["b"]), k=3)
    new = set(new_items(data, max_ratings=1))
    assert recs[0, 0] in new and not (recs[0, 1:] == recs[0, 0]).any()


def test_stoplist_ids_from_titles_genres_and_ids():
    movies = pd.DataFrame({"movie_id": ["1", "2", "3"], "movie_title": ["Sex Tape", "Up", "Scream"],
                           "movie_genres": [[4], [2], [10]]})
    names = ["g0", "g1", "Animation", "g3", "Comedy", "g5", "g6", "g7", "g8", "g9", "Horror"]
    assert stoplist_item_ids(movies, ids=["99"], title_keywords=["sex"], genres=["horror"],
                             genre_names=names).tolist() == ["1", "3", "99"]
    with pytest.raises(ValueError, match="unknown genre"):
        stoplist_item_ids(movies, genres=["Noir"], genre_names=names)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    import tfrec  # noqa: F401
    import tensorflow as tf

    from tfrec.export.signatures import export_ranking
    from tfrec.export.testing import TinyPairModel
    from tfrec.serving.config import configs_from_base_path
    from tfrec.serving.server import ModelServer

    base = tmp_path_factory.mktemp("models")
    model = TinyPairModel(4, 6, seed=3)
    model({"user_idx": tf.constant([0]), "item_idx": tf.constant([0])})
    items = [f"m{i}" for i in range(6)]
    popularity = np.array([0.1, 0.9, 0.5, 1.0, 0.2, 0.3], np.float32)
    cold = np.array([False, False, False, True])  # user u3 has too few ratings
    path = export_ranking(base, "pairs", model, [f"u{i}" for i in range(4)], items, k=3, version=1,
                          fallback_scores=popularity, cold_users=cold, stoplist=["m3"])
    export_ranking(base, "explore", model, [f"u{i}" for i in range(4)], items, k=3, version=1,
                   stoplist=["m3"], explore_items=[3, 4, 5], explore_slot=1)
    srv = ModelServer(configs_from_base_path(base), rest_port=0, grpc_port=0, host="127.0.0.1", poll_seconds=0,
                      warmup=False).start()
    yield srv, path, model
    srv.stop(drain_seconds=2)


def _rest(srv, body):
    from tfrec.serving.client import RestClient

    client = RestClient(f"http://127.0.0.1:{srv.rest_port}", timeout=30)
    return client.predict("pairs", body, signature="serving_default")


def test_served_unknown_and_cold_users_get_popularity_without_stoplisted_items(served):
    srv, path, _ = served
    assert (path / "assets" / "stoplist.txt").read_text() == "m3\n"
    for user in ("somebody-new", "u3"):
        out = _rest(srv, {"user_id": np.array([user], object)})
        ids = [i.decode() if isinstance(i, bytes) else i for i in np.asarray(out["item_ids"])[0]]
        assert ids == ["m1", "m2", "m5"]  # popularity order 3, 1, 2, 5, ... with m3 stoplisted
    info = json.loads((path / "assets.extra" / "tfrec_export.json").read_text())
    assert "fallback" in info and "stoplist" in info


def test_served_known_user_gets_model_scores_minus_the_stoplist(served):
    import tensorflow as tf

    srv, _, model = served
    out = _rest(srv, {"user_id": np.array(["u1"], object)})
    ids = [i.decode() if isinstance(i, bytes) else i for i in np.asarray(out["item_ids"])[0]]
    scores = model({"user_idx": tf.fill([6], 1), "item_idx": tf.range(6)}).numpy()
    scores[3] = -np.inf
    assert ids == [f"m{i}" for i in np.argsort(-scores, kind="stable")[:3]]


def test_served_exploration_slot_holds_a_new_item_drawn_per_request(served):
    import tensorflow as tf
    from tfrec.serving.client import RestClient

    srv, _, model = served
    client = RestClient(f"http://127.0.0.1:{srv.rest_port}", timeout=30)
    scores = model({"user_idx": tf.fill([6], 1), "item_idx": tf.range(6)}).numpy()
    scores[3] = -np.inf  # stoplisted: never explored either
    ranked = [f"m{i}" for i in np.argsort(-scores, kind="stable")[:3]]
    drawn = set()
    for _ in range(12):
        out = client.predict("explore", {"user_id": np.array(["u1"], object)}, signature="serving_default")
        ids = [i.decode() if isinstance(i, bytes) else i for i in np.asarray(out["item_ids"])[0]]
        assert ids[0] == ranked[0] and ids[2] == ranked[2]  # only slot 1 explores
        assert ids[1] in {"m4", "m5"} - {ranked[0], ranked[2]}  # new, not elsewhere in the list, not m3
        assert np.asarray(out["scores"])[0][1] == pytest.approx(scores[int(ids[1][1:])], rel=1e-5)
        drawn.add(ids[1])
    if not {"m4", "m5"} & {ranked[0], ranked[2]}:
        assert drawn == {"m4", "m5"}  # a fresh draw per request (12 draws of 2: all-same has p = 2 * 0.5**12)
    # excluded items are never explored
    excl = np.array([["m4"]], object)
    out = client.predict("explore", {"user_id": np.array(["u1"], object), "exclude_items": excl}, signature="exclude")
    assert [i.decode() if isinstance(i, bytes) else i for i in np.asarray(out["item_ids"])[0]][1] != "m4"


def test_exploration_slot_is_checked():
    from tfrec.export.signatures import PairScoringModule
    from tfrec.export.testing import TinyPairModel

    with pytest.raises(ValueError, match=r"explore_slot must be in \[0, k=3\)"):
        PairScoringModule(TinyPairModel(2, 4), ["a", "b"], list("wxyz"), k=3, explore_items=[1], explore_slot=3)
    with pytest.raises(ValueError, match="explore_items must be item indices in"):
        PairScoringModule(TinyPairModel(2, 4), ["a", "b"], list("wxyz"), k=3, explore_items=[9], explore_slot=0)
