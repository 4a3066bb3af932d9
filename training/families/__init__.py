"""The model families of ``tfrec train``: one file per family, a typed parameter schema each, one registry.

Public API:

* :class:`Task` (``base``) -- what a family says: data, examples, model, loss, final evaluation.
* :class:`FamilyParams`, :func:`validate_params` (``params``) -- typed ``model.params`` schemas.
* :func:`get_task`, :func:`available`, :func:`monitor_of`, ``TASKS`` (``registry``).
* :class:`KerasPairAlgorithm` (``pair_algorithm``) -- a trained (user, item) scorer as an evaluation algorithm.
* The families: :class:`MFTask` (mf), :class:`GMFTask` / :class:`MLPTask` / :class:`NeuMFTask`
  (gmf, mlp, neumf), :class:`BPRTask` (bpr), :class:`TwoTowerTask` (two_tower), :class:`RankingTask`
  (ranking), :class:`CTRTask` (dcn, deepfm, fm, logreg), :class:`AutoRecTask` (i_autorec, u_autorec),
  :class:`RBMTask` (rbm), :class:`GRU4RecTask` (gru4rec), :class:`MultiTaskTask` (multitask),
  :class:`TwoStageTask` (two_stage), each with its ``*Params`` schema; :class:`ClosedFormTask`
  (``closed_form``): algorithms fitted by their own ``fit`` (random, popularity, global_mean, item_mean,
  item_knn, ...).

Importing this package does not import TensorFlow.
"""

from tfrec.training.families.autorec import AutoRecParams, AutoRecTask
from tfrec.training.families.base import Task
from tfrec.training.families.bpr import BPRParams, BPRTask
from tfrec.training.families.closed_form import ClosedFormTask
from tfrec.training.families.ctr import CTRParams, CTRTask
from tfrec.training.families.gru4rec import GRU4RecParams, GRU4RecTask
from tfrec.training.families.mf import MFParams, MFTask
from tfrec.training.families.multitask import MultiTaskParams, MultiTaskTask
from tfrec.training.families.ncf import GMFParams, GMFTask, MLPParams, MLPTask, NeuMFParams, NeuMFTask
from tfrec.training.families.pair_algorithm import KerasPairAlgorithm
from tfrec.training.families.params import FamilyParams, validate_params
from tfrec.training.families.ranking import RankingParams, RankingTask
from tfrec.training.families.rbm import RBMParams, RBMTask
from tfrec.training.families.registry import RENAMED, TASKS, available, get_task, monitor_of, register
from tfrec.training.families.two_stage import TwoStageParams, TwoStageTask
from tfrec.training.families.two_tower import TwoTowerParams, TwoTowerTask

__all__ = [
    "AutoRecParams",
    "AutoRecTask",
    "BPRParams",
    "BPRTask",
    "CTRParams",
    "CTRTask",
    "ClosedFormTask",
    "FamilyParams",
    "GMFParams",
    "GMFTask",
    "GRU4RecParams",
    "GRU4RecTask",
    "KerasPairAlgorithm",
    "MFParams",
    "MFTask",
    "MLPParams",
    "MLPTask",
    "MultiTaskParams",
    "MultiTaskTask",
    "NeuMFParams",
    "NeuMFTask",
    "RENAMED",
    "RankingParams",
    "RankingTask",
    "RBMParams",
    "RBMTask",
    "TASKS",
    "Task",
    "TwoStageParams",
    "TwoStageTask",
    "TwoTowerParams",
    "TwoTowerTask",
    "available",
    "get_task",
    "monitor_of",
    "register",
    "validate_params",
]
