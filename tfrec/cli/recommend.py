"""``tfrec recommend``: ask a running model server for recommendations from any exported model kind.

The model's signatures (from the server's metadata) say how to query it:

* top-k models (retrieval, pair-scoring ranking): ``user_id`` -> ``item_ids``, ``scores``; ``--user``;
* session models: ``item_ids`` [batch, seq] -> ``item_ids``, ``scores``; ``--items`` (the session so far);
* scoring models (feature-based ranking, CTR): features -> ``score`` / ``probability``; ``--candidates``
  are scored for ``--user`` (the item input is the one named like ``*_id`` other than ``user_id``), other
  inputs come from ``--feature NAME=VALUE``; without an item input one row of features is scored.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Dict, List, Optional, Tuple

USER_INPUT = "user_id"
SCORE_OUTPUTS = ("score", "probability")


class RecommendError(ValueError):
    """The model cannot be queried with the given arguments; the message says what to pass."""


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "recommend",
        help="recommendations from a running server (tfrec serve or TF Serving), for every exported model kind",
        description=(
            "Send predict requests to a model server speaking TF Serving's API and print the top-k items "
            "with their scores (and MovieLens titles with --titles). --server is http://HOST:PORT for REST or "
            "HOST:PORT / grpc://HOST:PORT for gRPC. How the model is queried follows its signatures: retrieval "
            "and pair-scoring ranking exports take --user; session exports take --items (the session so far); "
            "feature-based ranking exports score --candidates for --user (other inputs from --feature "
            "NAME=VALUE); CTR exports score one row of --feature values. "
            "Examples: tfrec recommend --model movies --user 42 -k 10 --titles ../shared/data/ml-100k; "
            "tfrec recommend --model movies_ranking --user 42 --candidates 1 50 181; "
            "tfrec recommend --model sessions --items 214536502 214536500"
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--server", default="http://localhost:8501", help="REST URL or gRPC host:port")
    p.add_argument("--model", required=True, help="model name (e.g. movies or movies_scann)")
    p.add_argument("--user", help="user id (as in the training data, e.g. 42)")
    p.add_argument("--items", nargs="+", metavar="ITEM", help="session models: the items of the session so far")
    p.add_argument("--candidates", nargs="+", metavar="ITEM", help="scoring models: the items to rank")
    p.add_argument("--feature", action="append", default=[], metavar="NAME=VALUE",
                   help="a model input's value (repeatable), e.g. --feature year=1995")
    p.add_argument("-k", type=int, default=10, help="items to print (at most the k the model was exported with)")
    p.add_argument("--exclude", nargs="+", metavar="ITEM", help="item ids to leave out (uses the 'exclude' signature)")
    p.add_argument("--version", type=int, help="a specific model version (default: the latest)")
    p.add_argument("--titles", metavar="PATH", help="MovieLens folder whose movie titles are printed beside the ids")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the server")
    p.set_defaults(func=run)


def make_client(server: str, timeout: float = 30.0):
    """``RestClient`` for ``http(s)://...``, ``GrpcClient`` for ``host:port`` or ``grpc://host:port``."""
    if server.startswith(("http://", "https://")):
        from tfrec.serving.client import RestClient

        return RestClient(server, timeout=timeout)
    from tfrec.serving.client import GrpcClient

    return GrpcClient(server[len("grpc://"):] if server.startswith("grpc://") else server, timeout=timeout)


def signatures(client, model: str, version: Optional[int] = None) -> Dict[str, Dict[str, Any]]:
    """Signature name -> ``{"inputs": {name: (dtype, rank)}, "outputs": [names]}`` from the server's metadata."""
    from google.protobuf import json_format

    raw = client.metadata(model, version)
    out = {}
    for name, sig in raw.items():
        if not isinstance(sig, dict):  # gRPC: a SignatureDef proto
            sig = json_format.MessageToDict(sig, preserving_proto_field_name=True)
        inputs = {k: (v.get("dtype", ""), len(v.get("tensor_shape", {}).get("dim", [])))
                  for k, v in sig.get("inputs", {}).items()}
        out[name] = {"inputs": inputs, "outputs": sorted(sig.get("outputs", {}))}
    return out


def _typed(text: str, dtype: str, name: str):
    try:
        if dtype in ("DT_FLOAT", "DT_DOUBLE", "DT_HALF", "DT_BFLOAT16"):
            return float(text)
        if dtype.startswith(("DT_INT", "DT_UINT")):
            return int(text)
        if dtype == "DT_BOOL":
            return {"true": True, "false": False, "1": True, "0": False}[text.lower()]
    except (ValueError, KeyError):
        raise RecommendError(f"--feature {name}={text}: input '{name}' is {dtype}; {text!r} is not such a "
                             "value") from None
    return text


def _features(args) -> Dict[str, str]:
    out = {}
    for item in args.feature:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise RecommendError(f"--feature {item!r}: write NAME=VALUE, e.g. --feature year=1995")
        out[name] = value
    return out


def plan(sigs: Dict[str, Dict[str, Any]], args) -> Tuple[str, str, Dict[str, Any]]:
    """Which signature to call with which inputs: ``(mode, signature, inputs)``.

    ``mode`` is ``topk`` (outputs ``item_ids``/``scores`` of one row) or ``score`` (one output per
    candidate row, ranked here).

    Raises:
      RecommendError: the arguments do not fit the model, or no signature can be queried.
    """
    default = sigs.get("serving_default")
    if default is None:
        raise RecommendError(f"model {args.model} has no serving_default signature (it has: {', '.join(sigs)})")
    inputs, outputs = default["inputs"], default["outputs"]
    features = _features(args)
    topk = {"item_ids", "scores"} <= set(outputs)
    if args.candidates:
        return _score_plan(sigs, args, features)
    if topk and set(inputs) == {USER_INPUT}:
        if not args.user:
            raise RecommendError(f"model {args.model} recommends for a user: pass --user USER_ID")
        if args.exclude:
            if "exclude" not in sigs:
                raise RecommendError(f"model {args.model} has no 'exclude' signature; drop --exclude")
            return "topk", "exclude", {USER_INPUT: [args.user], "exclude_items": [list(args.exclude)]}
        return "topk", "serving_default", {USER_INPUT: [args.user]}
    if topk and set(inputs) == {"item_ids"}:
        if not args.items:
            raise RecommendError(f"model {args.model} is a session model: pass --items ITEM... (the session so far)")
        return "topk", "serving_default", {"item_ids": [list(args.items)]}
    if any(o in outputs for o in SCORE_OUTPUTS):
        item = _item_input(inputs)
        if item is not None:
            raise RecommendError(f"model {args.model} scores (user, item) rows: pass --candidates ITEM... to rank "
                                 f"(its inputs: {', '.join(inputs)})")
        return _score_plan(sigs, args, features)
    raise RecommendError(
        f"model {args.model} cannot be queried by tfrec recommend: its serving_default takes "
        f"{', '.join(inputs) or 'nothing'} and returns {', '.join(outputs) or 'nothing'}; supported are top-k "
        "models (user_id -> item_ids, scores), session models (item_ids -> item_ids, scores) and scoring "
        "models (-> score or probability)")


def _item_input(inputs: Dict[str, Any]) -> Optional[str]:
    ids = [n for n in inputs if n != USER_INPUT and (n.endswith("_id") or n == "item")]
    for preferred in ("item_id", "movie_id"):
        if preferred in ids:
            return preferred
    return ids[0] if len(ids) == 1 else None


def _score_plan(sigs, args, features: Dict[str, str]) -> Tuple[str, str, Dict[str, Any]]:
    name = next((s for s, sig in sigs.items() if s == "score" and any(o in sig["outputs"] for o in SCORE_OUTPUTS)),
                None) or next((s for s, sig in sigs.items() if any(o in sig["outputs"] for o in SCORE_OUTPUTS)), None)
    if name is None:
        raise RecommendError(f"model {args.model} has no signature returning {' or '.join(SCORE_OUTPUTS)}; "
                             "drop --candidates")
    inputs = sigs[name]["inputs"]
    item = _item_input(inputs)
    if args.candidates and item is None:
        raise RecommendError(f"model {args.model} ({name} signature) has no item input to put --candidates in "
                             f"(its inputs: {', '.join(inputs)}); pass its inputs with --feature NAME=VALUE")
    rows = list(args.candidates) if args.candidates else [None]
    unknown = [f for f in features if f not in inputs]
    if unknown:
        raise RecommendError(f"--feature {unknown[0]}: model {args.model} has no such input "
                             f"(its inputs: {', '.join(inputs)})")
    out: Dict[str, Any] = {}
    missing = []
    for n, (dtype, rank) in inputs.items():
        if n == item:
            out[n] = [_typed(c, dtype, n) for c in rows]
        elif n == USER_INPUT and args.user and n not in features:
            out[n] = [_typed(args.user, dtype, n)] * len(rows)
        elif n in features:
            value = _typed(features[n], dtype, n) if rank <= 1 else [_typed(v, dtype, n)
                                                                      for v in features[n].split(",")]
            out[n] = [value] * len(rows)
        else:
            missing.append(n)
    if missing:
        hint = "--user USER_ID" if missing == [USER_INPUT] else "--feature NAME=VALUE for each"
        raise RecommendError(f"model {args.model} needs inputs {', '.join(missing)}: pass {hint}")
    return "score", name, {n: _array(v, inputs[n][0]) for n, v in out.items()}


def _array(values, dtype: str):
    """Values as an array of the input's dtype (gRPC sends the array's own dtype)."""
    import numpy as np
    import tensorflow as tf
    from tensorflow.core.framework import types_pb2

    if dtype == "DT_STRING":
        return np.asarray(values, dtype=object)
    return np.asarray(values, dtype=tf.dtypes.as_dtype(types_pb2.DataType.Value(dtype)).as_numpy_dtype)


def load_titles(path: str) -> Dict[str, str]:
    """movie_id -> title of a MovieLens folder."""
    from tfrec.data import load_movielens

    movies = load_movielens(path).movies
    return dict(zip(movies["movie_id"].astype(str), movies["movie_title"].astype(str)))


def _text(v) -> str:
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)


def format_table(item_ids: List[str], scores: List[float], titles: Optional[Dict[str, str]] = None) -> str:
    """Rank, item id, score (and title) lines."""
    width = max([len(i) for i in item_ids] + [4])
    lines = [f"{'rank':>4}  {'item':<{width}}  {'score':>9}" + ("  title" if titles else "")]
    for r, (item, score) in enumerate(zip(item_ids, scores), 1):
        line = f"{r:>4}  {item:<{width}}  {score:>9.4f}"
        if titles:
            line += "  " + titles.get(item, "(unknown title)")
        lines.append(line)
    return "\n".join(lines)


def _flat(values) -> List[float]:
    import numpy as np

    return [float(v) for v in np.asarray(values, dtype=np.float64).reshape(-1)]


def run(args) -> int:
    from tfrec.serving.client import ServingClientError

    if args.k < 1:
        print(f"tfrec recommend: error: -k must be a positive integer, got {args.k}", file=sys.stderr)
        return 2
    titles = load_titles(args.titles) if args.titles else None
    client = make_client(args.server, args.timeout)
    try:
        sigs = signatures(client, args.model, args.version)
        mode, signature, inputs = plan(sigs, args)
        out = client.predict(args.model, inputs, signature=signature, version=args.version)
    except RecommendError as e:
        print(f"tfrec recommend: error: {e}", file=sys.stderr)
        return 2
    except ServingClientError as e:
        print(f"tfrec recommend: error: {args.server} answered {e.status}: {e.message}", file=sys.stderr)
        return 1
    who = f"user {args.user}" if args.user else (f"session {' '.join(args.items)}" if args.items else "these features")
    if mode == "topk":
        items = [_text(v) for v in list(out["item_ids"][0])]
        scores = _flat(out["scores"][0])
        if args.k > len(items):
            print(f"(model {args.model} was exported with k={len(items)}; showing {len(items)})", file=sys.stderr)
    else:
        output = next(o for o in SCORE_OUTPUTS if o in sigs[signature]["outputs"])
        scores = _flat(out[output] if output in out else next(iter(out.values())))  # REST: one output is unnamed
        if not args.candidates:
            print(f"{output} for {who} from {args.model} at {args.server}: {scores[0]:.6f}")
            return 0
        ranked = sorted(zip(args.candidates, scores), key=lambda p: -p[1])
        items, scores = [i for i, _ in ranked], [s for _, s in ranked]
    print(f"top {min(args.k, len(items))} for {who} from {args.model} at {args.server}:")
    print(format_table(items[:args.k], scores[:args.k], titles))
    return 0
