"""Shared base of the paired translation GANs: networks from a Config, optimizers, translate/sample, logging."""
from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from .. import losses as L
from ..config import Config, ConfigError
from ..layers import replica_seed
from ..networks import conv_encoder, patch_discriminator, resnet_encoder, resnet_generator, unet_generator
from ..optimizers import adam


def latent_codes(k, nz: int, seed):
    """The k codes (k, nz) that `sample(images, k, seed)` uses: the same in the Keras models and their exports."""
    return tf.random.stateless_normal([k, nz], seed=tf.stack([tf.cast(seed, tf.int32), 0]))


def build_generator(c: Config, name: str = "G") -> keras.Model:
    """G(A, z) -> B from the config (U-Net or ResNet, z where_add input|all)."""
    common = dict(input_nc=c.input_nc, output_nc=c.output_nc, nz=c.nz, ngf=c.ngf, norm=c.norm,
                  use_dropout=c.use_dropout, where_add=c.where_add, init_type=c.init_type, init_gain=c.init_gain,
                  name=name)
    if c.netG == "unet":
        return unet_generator(c.image_size, upsample=c.upsample, **common)
    return resnet_generator(n_blocks=c.g_blocks, **common)


def build_encoder(c: Config, name: str = "E") -> keras.Model:
    """E(B) -> (mu, logvar) from the config (ResNet or conv encoder on the output-domain image)."""
    build = resnet_encoder if c.netE == "resnet" else conv_encoder
    depth = dict(n_blocks=c.e_blocks_resolved) if c.netE == "resnet" else dict(n_layers=c.e_blocks_resolved)
    return build(c.output_nc, c.nz, c.nef, norm=c.norm, init_type=c.init_type, init_gain=c.init_gain, name=name, **depth)


def build_discriminator(c: Config, name: str = "D") -> keras.Model:
    """Multi-scale PatchGAN D on B (or on [A, B] with conditional_D) from the config."""
    input_nc = c.output_nc + (c.input_nc if c.conditional_D else 0)
    return patch_discriminator(input_nc, c.ndf, c.d_layers_resolved, c.num_D, c.d_norm_resolved, c.spectral_norm,
                               c.init_type, c.init_gain, name=name)


def _reduces_logs_on_axis0(strategy) -> bool:
    """Whether Keras' `fit` reduces train_step logs with `strategy.reduce("MEAN", log, axis=0)`: multi-worker MWMS.

    Mirrors keras.src.backend.tensorflow.trainer._collective_all_reduce_multi_worker.
    """
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return False
    in_multi_worker = getattr(strategy.extended, "_in_multi_worker_mode", None)
    return bool(in_multi_worker()) if in_multi_worker is not None else True


class TranslationGAN(keras.Model):
    """A paired image-to-image GAN trained with `fit`; subclasses define the networks and `train_step`.

    Subclasses set `loss_names` (one logged metric each) and implement `build_networks()` returning
    {name: network}; every network gets its own Adam optimizer (the references' lr and betas).
    """

    loss_names: tuple[str, ...] = ()
    ema_targets: tuple[str, ...] = ("G",)          # networks whose weights get an EMA when config.ema_decay > 0
    generator_groups: tuple[str, ...] = ("G", "E")  # optimizers stepped every n_critic-th step only

    def __init__(self, config: Config | dict | None = None, **kwargs):
        kwargs.setdefault("name", type(self).__name__.lower())
        super().__init__(**kwargs)
        if isinstance(config, dict):
            config = Config.from_dict(config)
        self.config = (config or Config()).validate()
        self.seed_generator = keras.random.SeedGenerator(self.config.seed)
        self.trackers = {n: keras.metrics.Mean(name=n) for n in self.loss_names}
        nets = self.build_networks()
        for name, net in nets.items():
            setattr(self, name, net)  # G, E, D, D2 as attributes, so they are tracked and saved
        self.net_names = tuple(nets)
        self.optimizers_by_name: dict[str, keras.optimizers.Optimizer] = {}
        self.ema_weights = self._make_ema() if self.config.ema_decay > 0 else {}
        self.built = True

    def _make_ema(self) -> dict:
        """{id(variable): its EMA copy} over the ema_targets' trainable variables (shared layers once).

        The copies start at the initial weights; ONLY_FIRST_REPLICA aggregation lets every replica of a strategy
        assign the (identical) new average in replica context.
        """
        ema = {}
        for name in self.ema_targets:
            for v in self.nets[name].trainable_variables:
                if id(v) not in ema:
                    # a tensor copy: keras.Variable(tf.Variable) would wrap the same variable, not copy it
                    ema[id(v)] = keras.Variable(tf.identity(v.value), trainable=False, aggregation="only_first_replica",
                                                name=f"ema_{v.path.replace('/', '_')}")
        self._ema_list = list(ema.values())  # tracked by Keras, so checkpoints and .keras files hold them
        return ema

    def update_ema(self, names):
        """w_ema <- d * w_ema + (1 - d) * w for the EMA'd variables of the networks in `names` (after their step)."""
        d = self.config.ema_decay
        seen = set()
        for name in names:
            if name not in self.ema_targets:
                continue
            for v in self.nets[name].trainable_variables:
                if id(v) in seen:
                    continue
                seen.add(id(v))
                ema = self.ema_weights[id(v)]
                ema.assign(d * ema + (1.0 - d) * ops.cast(v, ema.dtype))

    def training_state(self) -> dict:
        """Besides networks, optimizers and the EMA (`_ema_list`): the model's seed stream and any image pools."""
        state = {"seed": self.seed_generator.state}
        for name in ("pool_A", "pool_B"):
            if getattr(self, name, None) is not None:
                state[name] = getattr(self, name)
        return state

    # --- construction --------------------------------------------------------------
    def build_networks(self) -> dict[str, keras.Model]:
        raise NotImplementedError

    @property
    def nets(self) -> dict[str, keras.Model]:
        """The trained networks by name (G, E, D, D2 as the objective needs)."""
        return {name: getattr(self, name) for name in self.net_names}

    def get_config(self):
        return {"config": self.config.to_dict(), "name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def compile(self, optimizers: dict[str, keras.optimizers.Optimizer] | None = None, **kwargs):
        """Attach one optimizer per network (default: `adam(config)`) and build them.

        Call this inside `strategy.scope()` when training under a distribution strategy.
        """
        super().compile(optimizer=None, **kwargs)
        self.check_strategy()
        c = self.config
        optimizers = dict(optimizers or {})
        for name, net in self.nets.items():
            if name not in optimizers:
                optimizers[name] = adam(c, name)
            optimizers[name].build(net.trainable_variables)
        self.optimizers_by_name = optimizers

    def check_strategy(self):
        """Refuse options the current distribution strategy cannot run (n_critic > 1 needs one replica)."""
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        if self.config.n_critic > 1 and replicas > 1:
            raise ConfigError(
                f"option n_critic={self.config.n_critic} works on one device only (a conditional optimizer step "
                f"cannot synchronise {replicas} replicas); train with --strategy default or n_critic 1")

    def get_compile_config(self):
        """The optimizers' configs, so a `.keras` file restores a compiled model with its optimizer state."""
        return {"optimizers": {n: keras.optimizers.serialize(o) for n, o in self.optimizers_by_name.items()}}

    def compile_from_config(self, config):
        """Re-compile from `get_compile_config()` (used by keras.models.load_model)."""
        self.compile({n: keras.optimizers.deserialize(c) for n, c in config["optimizers"].items()})

    @property
    def metrics(self):
        return list(self.trackers.values())

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        """Skip Keras' symbolic build when every layer is built (always, for these models).

        Workaround, part 1 of 2, for Keras 3 `fit` under MultiWorkerMirroredStrategy (tensorflow/tensorflow#72388):
        before the first step `fit` takes one distributed batch and calls `strategy.reduce("MEAN", batch, axis=None)`
        on it to get shapes for a symbolic build. With a multi-worker CollectiveAllReduceStrategy, `reduce` accepts
        a single value only, so any nested batch -- the (A, B) tuple and equally a {"A": ..., "B": ...} dict --
        fails on every worker with `ValueError: Attempt to convert a value ((PerReplica:{0: <tf.Tensor ...>},
        PerReplica:{...})) with an unsupported type (<class '...values.PerReplica'>) to a Tensor`
        (cross_device_ops._make_tensor_into_per_replica). Our networks are built in __init__ and optimizers in
        compile(), so the build has nothing to do and the reduce is skipped; unbuilt layers still get Keras' path.
        """
        if all(layer.built for layer in self._flatten_layers()):
            return None
        return super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)

    # --- inference -----------------------------------------------------------------
    def infer(self, name: str, inputs):
        """Network `name` at test time: its EMA weights when config.ema_decay > 0, run as config.test_mode says.

        test_mode "eval": dropout off, batch-norm running statistics. "train" (pix2pix's paper and test script):
        dropout on and batch statistics, as in training, without touching the running statistics; the dropout
        seed streams advance, so every call draws new masks.
        """
        net = self.nets[name]
        training = self.config.test_mode == "train"
        if not self.ema_weights and not training:
            return net(inputs, training=False)
        weights = [self.ema_weights.get(id(v), v) for v in net.trainable_variables]
        out, state = net.stateless_call(weights, net.non_trainable_variables, inputs, training=training)
        for variable, value in zip(net.non_trainable_variables, state):
            if "seed_generator" in variable.path:
                variable.assign(value)
        return out

    def random_z(self, n, seed=None):
        """z ~ N(0, I) of shape (n, nz); seed: int for a fixed draw, None for the model's seed stream."""
        if seed is None:
            return self._stream_normal((n, self.config.nz))
        return keras.random.normal((n, self.config.nz), seed=seed)

    def normal_like(self, x):
        """eps ~ N(0, I) shaped like x and of its dtype (bfloat16 under mixed precision), from the seed stream."""
        return ops.cast(self._stream_normal(ops.shape(x)), x.dtype)

    def _stream_normal(self, shape):
        """N(0, I) from the model's seed stream, different on every replica of a distribution strategy."""
        return tf.random.stateless_normal(shape, seed=replica_seed(self.seed_generator))

    def stream_uniform(self, shape):
        """U(0, 1) from the model's seed stream, different on every replica of a distribution strategy."""
        return tf.random.stateless_uniform(shape, seed=replica_seed(self.seed_generator))

    def generate(self, images, z=None, training=False):
        """G(A, z) (z ignored when nz == 0); training=False is test time (see `infer`: EMA weights, test_mode)."""
        inputs = [images, z] if self.config.nz > 0 else images
        return self.G(inputs, training=True) if training else self.infer("G", inputs)

    def translate(self, images, z=None):
        """Translate a batch of A images in [-1, 1] to B (inference mode); z defaults to a random draw."""
        images = ops.convert_to_tensor(images, "float32")
        if self.config.nz > 0:
            z = self.random_z(ops.shape(images)[0]) if z is None else ops.convert_to_tensor(z, "float32")
        return self.generate(images, z, training=False)

    def sample(self, images, k: int = 5, seed: int = 0):
        """k outputs per input from k latent codes drawn with `seed` (the same k codes for every input).

        Returns (N, k, H, W, C). Models without a latent code (nz == 0) give k identical outputs.
        """
        images = ops.convert_to_tensor(images, "float32")
        n = ops.shape(images)[0]
        if self.config.nz == 0:
            return ops.repeat(self.generate(images)[:, None], k, axis=1)
        zs = latent_codes(k, self.config.nz, seed)  # the same codes as an exported SavedModel's `sample`
        return ops.stack([self.generate(images, ops.tile(zs[j:j + 1], (n, 1))) for j in range(k)], axis=1)

    def call(self, images, training=False):
        return self.generate(images, self.random_z(ops.shape(images)[0]) if self.config.nz else None, training)

    # --- training helpers ----------------------------------------------------------
    @staticmethod
    def unpack(data):
        """(A, B) from a batch given as a tuple/list or a dict with keys 'A' and 'B'."""
        if isinstance(data, dict):
            return data["A"], data["B"]
        return data[0], data[1]

    def generate_many(self, A, zs, training=True):
        """G(A, z) for each z in zs, in one batched call when the norm is per-example (not batch norm)."""
        if len(zs) == 1 or self.config.nz == 0 or self.config.norm == "batch":
            return [self.generate(A, z, training) for z in zs]
        fakes = self.generate(ops.concatenate([A] * len(zs), 0), ops.concatenate(zs, 0), training)
        return ops.split(fakes, len(zs), axis=0)

    def d_input(self, A, B):
        """What D sees: B, or [A, B] on channels when conditional_D is set."""
        return ops.concatenate([A, B], axis=-1) if self.config.conditional_D else B

    def d_loss(self, D, real, *fakes):
        """Per-example GAN loss of D on real and (already detached) fake inputs, + WGAN-GP and R1 penalties if set.

        With several fakes: the sum over them of the loss on (real, fake), with D(real) computed once.
        R1 (lambda_r1 > 0): + lambda_r1 / 2 * |grad_real D(real)|^2, once per call.
        """
        c = self.config
        if c.lambda_r1 > 0:
            with tf.GradientTape(watch_accessed_variables=False) as tape:
                tape.watch(real)
                real_out = D(real, training=True)
                real_sum = tf.add_n([tf.reduce_sum(tf.cast(o, tf.float32)) for o in tf.nest.flatten(real_out)])
            loss = c.lambda_r1 * L.r1_penalty(tape.gradient(real_sum, real))
        else:
            real_out, loss = D(real, training=True), 0.0
        for fake in fakes:
            loss = loss + L.gan_d_loss(c.gan_mode, real_out, D(fake, training=True))
            if c.gan_mode == "wgangp":
                eps = self.stream_uniform((ops.shape(real)[0], 1, 1, 1))
                loss = loss + c.lambda_gp * L.gradient_penalty(lambda x: D(x, training=True), real, fake, eps=eps)
        return loss

    def g_gan_loss(self, D, fake):
        """Per-example GAN loss of G for a fake input to D."""
        return L.gan_g_loss(self.config.gan_mode, D(fake, training=True))

    def lambda_ms_now(self):
        """lambda_ms at this step: ramped linearly over the first ms_warmup steps of G's optimizer, then constant."""
        c = self.config
        if c.ms_warmup <= 0:
            return c.lambda_ms
        step = ops.cast(self.optimizers_by_name["G"].iterations + 1, "float32")
        return c.lambda_ms * ops.minimum(1.0, step / c.ms_warmup)

    def apply_gradients(self, names, loss, tape):
        """One optimizer step of each network in `names` (one name or several) on `loss`.

        The gradients of all the named networks come from one backward pass through `tape`.
        """
        names = (names,) if isinstance(names, str) else tuple(names)
        variables = [self.nets[name].trainable_variables for name in names]
        grads = iter(tape.gradient(loss, [v for vs in variables for v in vs]))
        steps = [(name, [(next(grads), v) for v in vs]) for name, vs in zip(names, variables)]
        self.step_optimizers(steps, names)

    def step_optimizers(self, steps, nets):
        """Apply [(optimizer name, [(grad, var), ...]), ...], then update the EMA of `nets`.

        With n_critic > 1 the generator groups step only on every n_critic-th call (counted by the first
        discriminator optimizer's iterations, which steps on every call).
        """
        def apply():
            for name, grads_and_vars in steps:
                self.optimizers_by_name[name].apply_gradients(grads_and_vars)
            if self.ema_weights:
                self.update_ema(nets)
            return tf.constant(True)

        if self.config.n_critic > 1 and any(name in self.generator_groups for name, _ in steps):
            tf.cond(self.generator_step_due(), apply, lambda: tf.constant(False))
        else:
            apply()

    def generator_step_due(self):
        """Whether this train step updates the generators (every n_critic-th step; always when n_critic == 1)."""
        d_name = next(name for name in self.optimizers_by_name if name.startswith("D"))
        return tf.equal(tf.math.floormod(self.optimizers_by_name[d_name].iterations, self.config.n_critic), 0)

    def record(self, per_example: dict):
        """Update the trackers of the terms this step computed (each with its local batch mean); return their logs.

        Under a multi-worker strategy each log is returned with shape (1,) (workaround, part 2 of 2, for
        tensorflow/tensorflow#72388): Keras then reduces every log with `strategy.reduce("MEAN", log, axis=0)`
        (trainer.reduce_per_replica), which fails on a scalar while tracing the train function with
        `ValueError: Invalid reduction dimension 0 for input with 0 dimensions. for '{{node Sum_6}} = Sum[...]'`;
        on a (1,) tensor it gives the scalar mean over all replicas. Other strategies keep scalar logs.
        """
        for name, value in per_example.items():
            self.trackers[name].update_state(ops.mean(value))
        logs = {name: self.trackers[name].result() for name in per_example}
        if _reduces_logs_on_axis0(tf.distribute.get_strategy()):
            logs = {name: ops.reshape(value, (1,)) for name, value in logs.items()}
        return logs

    @staticmethod
    def total(per_example: dict, names):
        """Sum of the named terms, each averaged over the global batch (tf.nn.compute_average_loss)."""
        return tf.add_n([L.average(per_example[n]) for n in names if n in per_example])
