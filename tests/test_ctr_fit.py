"""fit_model: argument checks and restore_initial (the starting weights count as epoch 0)."""

import numpy as np
import pytest

import tfrec  # noqa: F401

from ctr_helpers import SPEC, make_frame, trained_lr
from tfrec.features import frame_to_dataset
from tfrec.models.ctr_builder import build_model
from tfrec.recommenders.ctr_fit import fit_model


def test_fit_model_rejects_bad_epochs():
    model = build_model("logreg", SPEC, make_frame())
    with pytest.raises(ValueError, match="epochs must be a positive integer. Received: epochs=0"):
        fit_model(model, None, epochs=0)


def test_fit_model_restore_initial_keeps_start_when_no_epoch_improves():
    frame = make_frame()
    lr, x = trained_lr(frame)
    before = lr(x).numpy()
    ds = frame_to_dataset(frame.assign(label=1.0 - (frame["user"] < "c")), lr.linear_layer, label="label",
                          batch_size=16, encoder=lr.linear_layer)  # flipped labels: every step hurts the
    val = frame_to_dataset(frame.assign(label=(frame["user"] < "c").astype(np.float32)), lr.linear_layer,
                           label="label", batch_size=64, encoder=lr.linear_layer)  # validation loss
    info = fit_model(lr, ds, val, epochs=2, learning_rate=0.1, patience=1, run_eagerly=True, restore_initial=True)
    assert info["best_epoch"] == 0 and min(info["history"]["val_loss"]) >= info["initial_val_loss"]
    np.testing.assert_allclose(lr(x).numpy(), before, atol=1e-7)
