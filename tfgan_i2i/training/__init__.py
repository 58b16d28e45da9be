"""Training: callbacks (the presets' LR schedules, sample grids, exact checkpoint/resume) and the one-call `train`."""
from .callbacks import (CheckpointCallback, CheckpointError, LinearDecay, LRSchedule, SampleGrid, check_compatible,
                        find_checkpoint_dir, load_for_inference, read_checkpoint_epoch, restore_latest)
from .strategy import StrategyError, global_batch_size, is_chief, make_strategy
from .train import train

__all__ = ["CheckpointCallback", "CheckpointError", "LinearDecay", "LRSchedule", "SampleGrid", "check_compatible",
           "find_checkpoint_dir", "load_for_inference", "read_checkpoint_epoch", "restore_latest", "train",
           "make_strategy", "is_chief", "global_batch_size", "StrategyError"]
