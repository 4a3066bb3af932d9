"""``tfrec recommend``: ask a running model server for a user's top-k (with movie titles)."""

from __future__ import annotations

import argparse
import sys
from typing import Dict, List, Optional


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "recommend",
        help="top-k items for a user from a running server (tfrec serve or TF Serving)",
        description=(
            "Send one predict request to a model server speaking TF Serving's API and print the "
            "user's top-k items with their scores (and MovieLens titles with --titles). --server is "
            "http://HOST:PORT for REST or HOST:PORT / grpc://HOST:PORT for gRPC. The model must take "
            "user_id and return item_ids and scores (retrieval and ranking exports do). "
            "Example: tfrec recommend --server http://localhost:8501 --model movies --user 42 -k 10 "
            "--titles ../shared/data/ml-100k"
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--server", default="http://localhost:8501", help="REST URL or gRPC host:port")
    p.add_argument("--model", required=True, help="model name (e.g. movies or movies_scann)")
    p.add_argument("--user", required=True, help="user id (as in the training data, e.g. 42)")
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


def run(args) -> int:
    from tfrec.serving.client import ServingClientError

    if args.k < 1:
        print(f"tfrec recommend: error: -k must be a positive integer, got {args.k}", file=sys.stderr)
        return 2
    titles = load_titles(args.titles) if args.titles else None
    client = make_client(args.server, args.timeout)
    inputs = {"user_id": [str(args.user)]}
    signature = "serving_default"
    if args.exclude:
        inputs["exclude_items"] = [list(args.exclude)]
        signature = "exclude"
    try:
        out = client.predict(args.model, inputs, signature=signature, version=args.version)
    except ServingClientError as e:
        print(f"tfrec recommend: error: {args.server} answered {e.status}: {e.message}", file=sys.stderr)
        return 1
    if "item_ids" not in out or "scores" not in out:
        print(f"tfrec recommend: error: model {args.model} returned {sorted(out)}, not item_ids and scores; "
              "pick a retrieval or ranking model", file=sys.stderr)
        return 1
    items = [_text(v) for v in list(out["item_ids"][0])]
    scores = [float(v) for v in list(out["scores"][0])]
    if args.k > len(items):
        print(f"(model {args.model} was exported with k={len(items)}; showing {len(items)})", file=sys.stderr)
    print(f"top {min(args.k, len(items))} for user {args.user} from {args.model} at {args.server}:")
    print(format_table(items[:args.k], scores[:args.k], titles))
    return 0
