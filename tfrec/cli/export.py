"""``tfrec export``: a trained run folder -> TF Serving's ``<base>/<name>/<version>/`` layout."""

from __future__ import annotations

import argparse
import json
import sys


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "export",
        help="export a trained run as TF Serving SavedModels (+ a ScaNN variant for retrieval)",
        description=(
            "Export the model of a `tfrec train` run folder into TF Serving's layout "
            "<model-base-path>/<name>/<version>/ (written to a temporary folder, then renamed, so a server "
            "polling the base path never sees a partial version), with warm-up requests in assets.extra/ "
            "and models.config (every model, for `tfrec serve`) plus models.tfserving.config (no ScaNN "
            "models, for stock tensorflow_model_server). Retrieval models are exported twice: <name> "
            "(brute force; loads in stock TF Serving) and <name>_scann (ScaNN index tuned to --scann-recall; "
            "needs the ScaNN ops, i.e. `tfrec serve`). "
            "Example: tfrec export runs/mf_ml100k --model-base-path models/ --name movies"
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="a finished `tfrec train` run folder")
    p.add_argument("--model-base-path", required=True, help="TF Serving model base path (created if missing)")
    p.add_argument("--name", help="model name (default: the run folder's name)")
    p.add_argument("--version", type=int, help="version number (default: one more than the latest)")
    p.add_argument("-k", type=int, default=10, help="top-k list length of the retrieval signatures")
    p.add_argument("--scann-recall", type=float, default=0.95,
                   help="recall@k against brute force that the ScaNN settings must reach")
    p.add_argument("--no-scann", action="store_true", help="export retrieval models without the ScaNN variant")
    p.add_argument("--config-root", help="path prefix written in models.config instead of the absolute base path "
                   "(e.g. /models when the base path is mounted there in the tensorflow/serving image)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --version")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a key of the run's config.yaml (the value is read as YAML), e.g. --set "
                        "data.path=/data/ml-100k when the dataset moved since training; repeatable")
    p.add_argument("--no-popularity-fallback", action="store_true",
                   help="pair-scoring models (mf, neumf, ...): score unknown users with the model instead of serving "
                        "them the training popularity list")
    p.add_argument("--cold-user-ratings", type=int, default=0, metavar="N",
                   help="pair-scoring models: users with fewer than N training ratings also get the popularity list")
    p.add_argument("--stoplist-ids", nargs="+", default=[], metavar="ITEM",
                   help="pair-scoring models: item ids never recommended (saved as assets/stoplist.txt in the "
                        "SavedModel and applied inside its top-k signatures, so stock TF Serving applies it too)")
    p.add_argument("--stoplist-keywords", nargs="+", default=[], metavar="WORD",
                   help="pair-scoring models: never recommend items whose title contains one of these words "
                        "(case-insensitive)")
    p.add_argument("--stoplist-genres", nargs="+", default=[], metavar="GENRE",
                   help="pair-scoring models: never recommend items of these genres, e.g. Horror")
    p.add_argument("--explore-slot", type=int, metavar="POS",
                   help="pair-scoring models: list position POS (0-based) of every served top-k list goes to a random "
                        "new item (drawn per request; never listed twice, stoplisted or excluded)")
    p.add_argument("--explore-max-ratings", type=int, metavar="N",
                   help="with --explore-slot: an item is new with at most N training ratings (default 5)")
    p.add_argument("--explore-days", type=float, metavar="D",
                   help="with --explore-slot: or when first rated at most D days before the newest training rating")
    p.set_defaults(func=run)


def run(args) -> int:
    if args.k < 1:
        print(f"tfrec export: error: -k must be a positive integer, got {args.k}", file=sys.stderr)
        return 2
    if not 0.0 < args.scann_recall <= 1.0:
        print(f"tfrec export: error: --scann-recall must be in (0, 1], got {args.scann_recall}", file=sys.stderr)
        return 2
    if args.version is not None and args.version < 1:
        print(f"tfrec export: error: --version must be a positive integer, got {args.version}", file=sys.stderr)
        return 2
    if args.explore_slot is None and (args.explore_max_ratings is not None or args.explore_days is not None):
        print("tfrec export: error: --explore-max-ratings/--explore-days need --explore-slot", file=sys.stderr)
        return 2
    if args.explore_slot is not None and not 0 <= args.explore_slot < args.k:
        print(f"tfrec export: error: --explore-slot must be in [0, k={args.k}), got {args.explore_slot}",
              file=sys.stderr)
        return 2
    explore = None
    if args.explore_slot is not None:
        explore = {"slot": args.explore_slot, "days": args.explore_days}
        if args.explore_max_ratings is not None or args.explore_days is None:
            explore["max_ratings"] = 5 if args.explore_max_ratings is None else args.explore_max_ratings
    import tfrec  # noqa: F401  (tf_keras before TensorFlow)
    from tfrec.export.run import export_run

    result = export_run(args.run_dir, args.model_base_path, name=args.name, version=args.version, k=args.k,
                        scann=not args.no_scann, scann_recall=args.scann_recall, config_root=args.config_root,
                        overwrite=args.overwrite, overrides=args.overrides,
                        popularity_fallback=not args.no_popularity_fallback, cold_user_ratings=args.cold_user_ratings,
                        stoplist={k: v for k, v in (("ids", args.stoplist_ids), ("title_keywords", args.stoplist_keywords),
                                                    ("genres", args.stoplist_genres)) if v} or None,
                        explore=explore)
    for model, path in result.paths.items():
        print(f"{model}: {path}")
    if result.tuning:
        t = result.tuning
        s = t["settings"]
        print("ScaNN settings: " + json.dumps({k: s[k] for k in ("num_leaves", "num_leaves_to_search",
                                                                   "num_reordering_candidates")})
              + f"; recall@{t['k']} {t['recall']:.3f}; {t['scann_latency_ms']:.3f} ms/query vs "
              f"{t['brute_force_latency_ms']:.3f} ms brute force")
    for f in result.config_files:
        print(f"wrote {f}")
    return 0
