"""``tfrec tune``: hyperparameter search over config keys with keras-tuner."""

from __future__ import annotations

import argparse
import sys


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "tune",
        help="search hyperparameters of a config (keras-tuner random, hyperband, bayesian, distributed; or a cross-validated grid over any algorithm)",
        description=(
            "Search the keys of a config's search_space section (dotted config keys; types int, float, choice, "
            "bool; sampling linear/log) with keras-tuner. Every trial trains on the training rows and reports its "
            "best validation value of tuner.objective (the test split is not touched). Prints the trials sorted by "
            "the objective and writes results.json, results.csv and best_config.yaml (ready for tfrec train) into "
            "<tuner.directory>/<tuner.project_name>. Running the same command again continues the search. "
            "Distributed: start one `--distributed chief` and any number of `--distributed worker` processes "
            "with the same config and --oracle-ip/--oracle-port. "
            "With --search grid (tuner.search: grid) every combination of the search_space values is scored by "
            "k-fold cross-validation on the training rows (tuner.cv: {folds, seed}), for any registered algorithm "
            "(svd, item_knn, ... and the Keras models); results.json holds the best parameters and the full grid. "
            "Example: tfrec tune --config configs/tune_mf_ml100k.yaml --set tuner.max_trials=8; "
            "tfrec tune --config configs/tune_svd_grid_ml100k.yaml --search grid"
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--config", required=True, help="YAML training config with tuner and search_space sections")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key, e.g. --set tuner.max_trials=20 --set tuner.algorithm=bayesian")
    p.add_argument("--search", choices=["keras_tuner", "grid"],
                   help="keras_tuner: random/hyperband/bayesian over a validation carve (Keras models); grid: every "
                        "combination of the search_space values, scored by k-fold cross-validation (tuner.cv) on the "
                        "training rows, for any registered algorithm (overrides tuner.search)")
    p.add_argument("--data", help="dataset folder (overrides data.path)")
    p.add_argument("--directory", help="search folder (overrides tuner.directory)")
    p.add_argument("--overwrite", action="store_true", help="start the search afresh (tuner.overwrite=true)")
    p.add_argument("--distributed", choices=["chief", "worker"],
                   help="role in a distributed search: the chief serves the oracle and writes the results, "
                        "workers run trials (sets KERASTUNER_TUNER_ID/ORACLE_IP/ORACLE_PORT)")
    p.add_argument("--oracle-ip", default="127.0.0.1", help="address of the chief's oracle")
    p.add_argument("--oracle-port", type=int, default=8000, help="port of the chief's oracle")
    p.add_argument("--tuner-id", help="id of this worker (default tuner<pid>); must be unique per worker")
    p.add_argument("--quiet-trials", action="store_true", help="hide the per-epoch lines of each trial")
    p.set_defaults(func=run)


def run(args) -> int:
    from tfrec.training.config import load_config

    overrides = list(args.overrides)
    if args.search:
        overrides.insert(0, f"tuner.search={args.search}")
    if args.data:
        overrides.append(f"data.path={args.data}")
    if args.directory:
        overrides.append(f"tuner.directory={args.directory}")
    if args.overwrite:
        overrides.append("tuner.overwrite=true")
    config = load_config(args.config, overrides)
    from tfrec.training import tuner

    if args.distributed:
        tuner.distributed_env(args.distributed, args.oracle_ip, args.oracle_port, args.tuner_id)
    else:
        tuner.distributed_env(None)
    log = lambda m: print(m, flush=True)  # noqa: E731
    out = tuner.tune(config, role=args.distributed, log=log, quiet_trials=args.quiet_trials)
    if args.distributed == "worker":
        log(f"worker done: ran {out['trials_run']} trial(s)")
    return 0


if __name__ == "__main__":  # python -m tfrec.cli.tune ...
    parser = argparse.ArgumentParser(prog="tfrec")
    register(parser.add_subparsers(dest="command"))
    ns = parser.parse_args(["tune"] + sys.argv[1:])
    sys.exit(ns.func(ns))
