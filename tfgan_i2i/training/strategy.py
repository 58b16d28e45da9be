"""Pick a tf.distribute strategy (one device, local GPUs, TF_CONFIG workers, TPU) and the multi-worker chores around it.

`make_strategy(name)` returns the strategy; `is_chief()`, `global_batch_size()`, `shard_dataset()` and
`worker_dir()` cover the usual multi-worker pattern: the global batch is the per-replica batch times the replicas,
every worker reads the same (seeded) pipeline and keeps its share of each global batch, and only the chief writes
checkpoints, TensorBoard logs and samples; the other workers write their (required) checkpoint copies to a temporary
folder that is deleted afterwards. Models and optimizers must be created inside `strategy.scope()`
(`build_model(...)` and `compile()` there); `train(..., strategy=...)` does all of this.

The Keras 3 `fit` failures under MultiWorkerMirroredStrategy (tensorflow/tensorflow#72388) are worked around in
`TranslationGAN` itself (models/base.py: `_maybe_symbolic_build` and `record`), so user code needs nothing extra.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile

import keras
import numpy as np
import tensorflow as tf

STRATEGIES = ("auto", "default", "mirrored", "multi-worker", "tpu")

# Environment variables set on Cloud TPU VMs / pods and Colab TPU runtimes; without any of them (and no local TPU
# device) a TPU cannot be present, so `auto` and `tpu` decide at once instead of probing the network.
_TPU_ENV = ("TPU_NAME", "TPU_ACCELERATOR_TYPE", "TPU_WORKER_ID", "COLAB_TPU_ADDR", "KUBE_GOOGLE_CLOUD_TPU_ENDPOINTS")


class StrategyError(ValueError):
    """A distribution strategy cannot be set up here; the message says why and what to do."""


def tf_config() -> dict:
    """The parsed TF_CONFIG environment variable ({} when unset); a malformed value is a StrategyError."""
    raw = os.environ.get("TF_CONFIG", "").strip()
    if not raw:
        return {}
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as e:
        raise StrategyError(f"TF_CONFIG is not valid JSON ({e}); expected e.g. "
                            '{"cluster": {"worker": ["host0:port", "host1:port"]}, '
                            '"task": {"type": "worker", "index": 0}}') from None
    if not isinstance(config, dict):
        raise StrategyError(f"TF_CONFIG must be a JSON object with 'cluster' and 'task', got {raw[:100]!r}")
    return config


def cluster_tasks(config: dict | None = None) -> int:
    """Number of training tasks (chief + workers) in TF_CONFIG's cluster (0 without TF_CONFIG)."""
    cluster = (tf_config() if config is None else config).get("cluster", {})
    return sum(len(cluster.get(kind, [])) for kind in ("chief", "worker"))


def _task(config: dict | None = None) -> tuple[str | None, int]:
    """(task type, index) of this process from TF_CONFIG, (None, 0) without one."""
    task = (tf_config() if config is None else config).get("task", {})
    return task.get("type"), int(task.get("index", 0))


def is_chief(strategy: tf.distribute.Strategy | None = None) -> bool:
    """Whether this process is the one that writes checkpoints, logs and samples.

    The chief is task "chief" if the cluster has one, else worker 0. Given a strategy, its cluster resolver decides
    (a strategy without one, e.g. mirrored or default, runs in one process, which is the chief); without a
    strategy TF_CONFIG decides, and every process is the chief when there is none.
    """
    if strategy is not None:
        resolver = getattr(strategy, "cluster_resolver", None)
        if resolver is None or getattr(resolver, "task_type", None) is None:
            return True
        task_type, task_id = resolver.task_type, resolver.task_id or 0
        has_chief = "chief" in resolver.cluster_spec().as_dict()
    else:
        config = tf_config()
        task_type, task_id = _task(config)
        has_chief = bool(config.get("cluster", {}).get("chief"))
    if task_type is None:
        return True
    if task_type == "chief":
        return True
    return task_type == "worker" and task_id == 0 and not has_chief


def worker_id() -> str:
    """A short name of this process's task ("worker1", "chief0"; "local" without TF_CONFIG)."""
    task_type, index = _task()
    return f"{task_type}{index}" if task_type else "local"


def num_workers(strategy: tf.distribute.Strategy | None = None) -> int:
    """Processes that train together (1 unless a multi-worker strategy or TF_CONFIG says otherwise)."""
    if strategy is not None and hasattr(strategy.extended, "_num_workers"):
        return int(strategy.extended._num_workers)
    return max(1, cluster_tasks())


def global_batch_size(per_replica: int, strategy: tf.distribute.Strategy) -> int:
    """The batch the input pipeline yields: `per_replica` examples for each replica in sync (over all workers)."""
    return int(per_replica) * int(strategy.num_replicas_in_sync)


def shard_dataset(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """`dataset` set to DATA auto-sharding: every worker runs the same pipeline and keeps its part of each batch.

    FILE sharding (the AUTO default when it can find reader ops) would give workers different files and, for a
    folder of images read with `tf.io.read_file`, falls back to DATA with a warning anyway. DATA sharding needs every
    worker to produce the same element order, which the seeded shuffle and crops of `paired_dataset` guarantee.
    """
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def worker_dir(directory: str, strategy: tf.distribute.Strategy | None = None) -> tuple[str, bool]:
    """(where this process writes, whether it is a temporary folder to delete afterwards).

    The chief writes to `directory`. Other workers still take part in every save (the usual multi-worker pattern:
    saving distributed variables may need collectives), so they write to an emptied temporary folder, removed with
    `cleanup`. Its name depends only on the task and `directory`, so a worker restarted after a kill (which could
    not clean up) reuses and empties the folder of its previous life instead of leaving another one behind.
    """
    directory = os.fspath(directory)
    if is_chief(strategy):
        return directory, False
    digest = hashlib.sha1(os.path.abspath(directory).encode()).hexdigest()[:10]
    path = os.path.join(tempfile.gettempdir(), f"tfgan_i2i_{worker_id()}_{digest}")
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path, True


def cleanup(directory: str, temporary: bool) -> None:
    """Delete a non-chief worker's temporary folder from `worker_dir` (no-op for the chief's real folder)."""
    if temporary:
        shutil.rmtree(directory, ignore_errors=True)


class SyncMovingStatistics(keras.callbacks.Callback):
    """Average the networks' non-trainable float variables (batch-norm moving statistics) over all replicas.

    Keras 3 creates BatchNormalization's moving mean/variance with aggregation "none", so under a strategy every
    replica updates only its own copy from its local batch (tf.keras 2 used ON_READ/MEAN variables instead). On one
    machine that only means the first replica's copy is used and saved; across workers it means each worker ends
    with different statistics. Averaging them at the end of every epoch (before the checkpoint is written) keeps
    all workers identical and saves the mean over replicas. Trainable weights need nothing: their gradients are
    all-reduced. Runs collectively, so every worker must have this callback (train() adds it).
    """

    def __init__(self, strategy: tf.distribute.Strategy):
        super().__init__()
        self.strategy = strategy
        self._variables = self._step = None

    def _build(self):
        """The variables to average and a tf.function returning each replica's copies flattened into one vector."""
        self._variables = [v for net in self.model.nets.values() for v in net.non_trainable_variables
                           if "float" in str(v.dtype)]

        @tf.function
        def local_copies():
            # In replica context a mirrored "none"-aggregation variable reads as this replica's own copy.
            return self.strategy.run(
                lambda: tf.concat([tf.reshape(tf.identity(v.value), [-1]) for v in self._variables], 0))

        self._step = local_copies

    def sync(self):
        """Replace every replica's copy of each variable by the mean over all replicas."""
        if self.strategy.num_replicas_in_sync < 2:
            return
        if self._variables is None:
            self._build()
        if not self._variables:
            return
        # one reduce of one flat vector: `reduce` takes a single value, not a nest, under multi-worker strategies
        mean = self.strategy.reduce("MEAN", self._step(), axis=None)
        offset = 0
        for v in self._variables:
            size = int(np.prod(v.shape))
            v.assign(tf.reshape(mean[offset:offset + size], v.shape))
            offset += size

    def on_epoch_end(self, epoch, logs=None):
        self.sync()


# --- strategy selection ------------------------------------------------------------------------------------------
def _tpu_resolver():
    """A TPUClusterResolver if a TPU is reachable from here, else None; never waits on the network without a hint."""
    local = bool(tf.config.list_physical_devices("TPU"))
    if not local and not any(os.environ.get(k) for k in _TPU_ENV):
        return None
    try:
        return tf.distribute.cluster_resolver.TPUClusterResolver(tpu="local" if local else None)
    except (ValueError, RuntimeError, tf.errors.OpError):
        return None


def _tpu_strategy():
    """TPUStrategy on the resolved TPU (its system initialised), or a StrategyError saying none is present."""
    resolver = _tpu_resolver()
    if resolver is None:
        raise StrategyError(
            "--strategy tpu: no TPU found (no local TPU device and none of " + ", ".join(_TPU_ENV) + " is set). "
            "Run on a Cloud TPU VM or Colab TPU runtime, or pick --strategy auto|default|mirrored|multi-worker.")
    try:
        if resolver.master() not in ("", "local"):
            tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, RuntimeError, tf.errors.OpError) as e:
        first_line = str(e).splitlines()[0][:200]
        raise StrategyError(f"--strategy tpu: the TPU could not be initialised ({first_line})") from None
    return tf.distribute.TPUStrategy(resolver)


def _mirrored_strategy():
    """MirroredStrategy over every local GPU, else over every logical CPU device (one CPU: a single replica)."""
    gpus = tf.config.list_logical_devices("GPU")
    devices = [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]
    return tf.distribute.MirroredStrategy(devices)


def _multi_worker_strategy(communication_timeout: float | None = None):
    """MultiWorkerMirroredStrategy over the TF_CONFIG cluster; a StrategyError if TF_CONFIG is missing or broken."""
    config = tf_config()
    if not config:
        raise StrategyError(
            "--strategy multi-worker needs the TF_CONFIG environment variable on every worker, e.g. "
            'TF_CONFIG=\'{"cluster": {"worker": ["host0:12345", "host1:12345"]}, "task": {"type": "worker", '
            '"index": 0}}\' (index 1 on the second host). For one machine use --strategy mirrored or default.')
    if cluster_tasks(config) < 1 or _task(config)[0] is None:
        raise StrategyError(f"TF_CONFIG needs a 'cluster' with 'worker' (and optionally 'chief') addresses and this "
                            f"process's 'task' (type, index); got {json.dumps(config)[:300]}")
    options = None
    if communication_timeout:
        options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=float(communication_timeout))
    return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)


def make_strategy(name: str | tf.distribute.Strategy | None = "auto") -> tf.distribute.Strategy:
    """The tf.distribute strategy called `name` (a Strategy instance is returned as is; None means "default").

    * default: the default (one-device) strategy.
    * mirrored: MirroredStrategy over all local GPUs (or all logical CPU devices when there is no GPU).
    * multi-worker: MultiWorkerMirroredStrategy over the hosts in TF_CONFIG (set on every worker).
    * tpu: TPUStrategy; fails at once with a StrategyError when no TPU is present.
    * auto: tpu if a TPU resolves, multi-worker if TF_CONFIG lists more than one task, mirrored if there is more
      than one GPU, else default.
    Must be called before any other TensorFlow work in the process for multi-worker and TPU (they configure the
    runtime).
    """
    if isinstance(name, tf.distribute.Strategy):
        return name
    name = "default" if name is None else str(name).lower().replace("_", "-")
    if name not in STRATEGIES:
        raise StrategyError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
    if name == "auto":
        if _tpu_resolver() is not None:
            name = "tpu"
        elif cluster_tasks() > 1:
            name = "multi-worker"
        elif len(tf.config.list_physical_devices("GPU")) > 1:
            name = "mirrored"
        else:
            name = "default"
    if name == "tpu":
        return _tpu_strategy()
    if name == "multi-worker":
        return _multi_worker_strategy()
    if name == "mirrored":
        return _mirrored_strategy()
    return tf.distribute.get_strategy()


def strategy_name(strategy: tf.distribute.Strategy) -> str:
    """A short description for logs: the strategy's class, replicas and workers."""
    return (f"{type(strategy).__name__} ({strategy.num_replicas_in_sync} replica(s), "
            f"{num_workers(strategy)} worker(s))")


__all__ = ["STRATEGIES", "StrategyError", "SyncMovingStatistics", "make_strategy", "is_chief", "worker_id",
           "num_workers", "global_batch_size", "shard_dataset", "worker_dir", "cleanup", "tf_config", "cluster_tasks", "strategy_name"]
