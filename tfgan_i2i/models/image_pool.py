"""CycleGAN's history of generated images, as tf.Variables so it works inside a compiled train_step."""
from __future__ import annotations

import keras
import tensorflow as tf

from ..layers import replica_seed


class ImagePool(tf.Module):
    """A buffer of up to `size` past fakes; D is trained on a mix of current and past generator outputs.

    query(images), per image in order: while the buffer has fewer than `size` images, the image is stored and
    returned; once full, with probability 0.5 a uniformly chosen stored image is returned and replaced by the
    new one, otherwise the new image is returned unchanged (Shrivastava et al. 2017; CycleGAN uses size 50).
    Randomness comes from a keras SeedGenerator, so a run is repeatable. size == 0 returns the input as is.
    Under a distribution strategy the buffer is replica-local (each replica keeps its own history) and so are the
    swap and slot draws: the replica id is folded into the mirrored seed stream (`replica_seed`).
    """

    def __init__(self, size: int, image_shape, seed: int = 0, name: str = "image_pool"):
        super().__init__(name=name)
        self.size = int(size)
        if self.size < 0:
            raise ValueError(f"ImagePool size={size} must be >= 0")
        local = dict(synchronization=tf.VariableSynchronization.ON_READ,
                     aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA, trainable=False)
        self.images = tf.Variable(tf.zeros((max(self.size, 1), *image_shape)), name="images", **local)
        self.count = tf.Variable(0, dtype=tf.int32, name="count", **local)
        self.seed_generator = keras.random.SeedGenerator(seed, name=f"{name}_seed")

    def query(self, images):
        """The batch D should see for `images` (same shape), updating the buffer as described in the class doc."""
        images = tf.stop_gradient(tf.convert_to_tensor(images, tf.float32))
        if self.size == 0:
            return images
        n = tf.shape(images)[0]
        swap, slot = self.draws(n)

        def body(i, out):
            image = images[i]
            count = self.count.read_value()
            stored = self.images[slot[i]]

            def fill():
                with tf.control_dependencies([self.images[count].assign(image)]):
                    return tf.identity(self.count.assign_add(1)) * 0, image

            def swap_out():
                with tf.control_dependencies([stored]):
                    assign = self.images[slot[i]].assign(image)
                with tf.control_dependencies([assign]):
                    return tf.constant(0), tf.identity(stored)

            def keep():
                return tf.constant(0), image

            _, chosen = tf.cond(count < self.size, fill, lambda: tf.cond(swap[i], swap_out, keep))
            return i + 1, out.write(i, chosen)

        out = tf.TensorArray(tf.float32, size=n, element_shape=images.shape[1:])
        _, out = tf.while_loop(lambda i, _: i < n, body, (tf.constant(0), out))
        return tf.ensure_shape(out.stack(), images.shape)

    def draws(self, n):
        """(swap (n,) bool with P = 0.5, slot (n,) int32 uniform in [0, size)) for the next query of n images.

        On one device these are the draws keras.random.uniform / randint make with this seed generator.
        """
        swap = tf.random.stateless_uniform((n,), seed=replica_seed(self.seed_generator)) > 0.5
        slot = tf.random.stateless_uniform((n,), seed=replica_seed(self.seed_generator), minval=0,
                                           maxval=max(self.size, 1), dtype=tf.int32)
        return swap, slot

    def reset(self):
        """Empty the buffer."""
        self.count.assign(0)


__all__ = ["ImagePool"]
