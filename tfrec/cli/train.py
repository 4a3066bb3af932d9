"""``tfrec train``: train one model from a YAML config and write its run folder."""

from __future__ import annotations

import argparse
import sys


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "train",
        help="train a model from a YAML config (MF, NCF, two-tower, ranking, DCN, DeepFM, ...)",
        description=(
            "Train the model of a config with the shared training loop: tf.data pipeline, optimizer and "
            "learning-rate schedule, early stopping on a validation split carved from the training rows, "
            "best/last checkpoints, TensorBoard logs, and a final evaluation on the test split. The run folder "
            "gets config.yaml, metrics.json, epochs.jsonl, vocab/users.txt, vocab/items.txt, model/ and logs/. "
            "A run killed at any point continues from its last completed epoch when the same command is run "
            "again. Example: tfrec train --config configs/train_mf_ml100k.yaml --set training.epochs=5 "
            "--run-dir runs/mf"
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--config", help="YAML config (sections data, model, training, evaluation, output); required unless "
                                      "--list-models")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key (dotted path; the value is read as YAML), e.g. --set "
                        "training.learning_rate=1e-3 --set model.params.embedding_dim=16; repeatable")
    p.add_argument("--run-dir", help="run folder (overrides output.run_dir)")
    p.add_argument("--data", help="dataset folder (overrides data.path)")
    p.add_argument("--encoding", help="text encoding of the data files, e.g. latin-1 or cp1252 (the same as "
                   "--set data.encoding=ENCODING; default: the format's, latin-1 for ml-100k/ml-1m, else utf-8)")
    p.add_argument("--overwrite", action="store_true",
                   help="delete the run folder first (otherwise an unfinished run resumes and a finished one is refused)")
    p.add_argument("--print-config", action="store_true", help="print the resolved config and exit without training")
    p.add_argument("--list-models", action="store_true", help="list the model families and their parameters and exit")
    p.set_defaults(func=run)


def run(args) -> int:
    from tfrec.training.config import trains
    from tfrec.training.families import registry

    if args.list_models:
        closed = []
        for name in registry.available():
            task = registry.get_task(name)
            if not trains(task):
                closed.append(name)
                continue
            params = ", ".join(f"{k}={v!r}" for k, v in task.defaults.items())
            print(f"{name:12s} {task.kind:9s} monitor {task.monitor:10s} params: {params}")
        print(f"fitted in closed form (tfrec evaluate only): {', '.join(closed)}")
        return 0
    from tfrec.training.config import load_config

    if not args.config:
        raise ValueError("--config is required (e.g. tfrec train --config configs/train_mf_ml100k.yaml); "
                         "tfrec train --list-models lists the model families.")
    overrides = list(args.overrides)
    if args.data:
        overrides.append(f"data.path={args.data}")
    if args.encoding:
        overrides.append(f"data.encoding={args.encoding}")
    config = load_config(args.config, overrides)
    if args.run_dir:
        config.output.run_dir = args.run_dir
    if args.print_config:
        print(config.to_yaml(tuning=False), end="")
        return 0
    from tfrec.training.strategy import DeviceError
    from tfrec.training.trainer import RunDirError, Trainer

    try:
        Trainer(config, overwrite=args.overwrite).fit()
    except (DeviceError, RunDirError) as e:
        print(f"tfrec train: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # python -m tfrec.cli.train ...
    parser = argparse.ArgumentParser(prog="tfrec")
    register(parser.add_subparsers(dest="command"))
    ns = parser.parse_args(["train"] + sys.argv[1:])
    sys.exit(ns.func(ns))
