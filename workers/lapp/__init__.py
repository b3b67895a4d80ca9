"""LAPP (Layer Adaptive Progressive Pruning, Zhai et al. 2023), reconstructed: see docs/lapp.md."""

from workers.lapp.bypass import Bypass, fold_bypass
from workers.lapp.cost_model import ChannelCostModel
from workers.lapp.extract import calibrate_keep, extract_pruned, freeze_masks
from workers.lapp.gates import ChannelGate
from workers.lapp.prunable import LappBlock, block_paths, install_lapp_blocks
from workers.lapp.prune import LappSettings, PruneResult, PruningStopped, prune
from workers.lapp.training import evaluate, pad_crop_flip, train_dense
from workers.lapp.uniform import uniform_config

__all__ = [
    "Bypass",
    "ChannelCostModel",
    "ChannelGate",
    "LappBlock",
    "LappSettings",
    "PruneResult",
    "PruningStopped",
    "block_paths",
    "calibrate_keep",
    "evaluate",
    "extract_pruned",
    "fold_bypass",
    "freeze_masks",
    "install_lapp_blocks",
    "pad_crop_flip",
    "prune",
    "train_dense",
    "uniform_config",
]
