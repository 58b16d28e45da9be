"""Architectures: parameter counts equal the reference implementations', shapes at every size, z options."""
import numpy as np
import pytest

from tfgan_i2i.config import preset
from tfgan_i2i.models import build_discriminator, build_encoder, build_generator
from tfgan_i2i.networks import (conv_encoder, patch_discriminator, resnet_encoder, resnet_generator, unet_depth,
                                unet_generator)


def trainable(model):
    return sum(int(np.prod(v.shape)) for v in model.trainable_weights)


# Counts measured from junyanz/BicycleGAN and pytorch-CycleGAN-and-pix2pix with their defaults (REFERENCE.md).
def test_bicyclegan_256_counts_match_reference():
    c = preset("bicyclegan", image_size=256, input_nc=1, output_nc=3)
    assert trainable(build_generator(c)) == 54_792_579
    assert trainable(build_discriminator(c)) == 3_458_978
    assert trainable(build_encoder(c)) == 2_590_032


def test_bicyclegan_128_counts_match_reference():
    c = preset("bicyclegan", image_size=128, load_size=143, input_nc=1, output_nc=3)
    assert trainable(build_generator(c)) == 42_143_107
    assert trainable(build_discriminator(c)) == 830_626
    assert trainable(build_encoder(c)) == 1_344_080


def test_pix2pix_256_counts_match_reference():
    c = preset("pix2pix", image_size=256)
    assert trainable(build_generator(c)) == 54_413_955
    assert trainable(build_discriminator(c)) == 2_768_705


def test_cyclegan_style_resnet_generator_and_patch_d_counts():
    assert trainable(resnet_generator(3, 3, nz=0, ngf=64, n_blocks=9, norm="instance")) == 11_378_179
    assert trainable(patch_discriminator(3, 64, 3, 1, "instance")) == 2_764_737


def test_instance_norm_is_non_affine_and_batch_norm_affine():
    g_in = unet_generator(32, 3, 3, ngf=4, norm="instance")
    g_bn = unet_generator(32, 3, 3, ngf=4, norm="batch")
    assert not [w for w in g_in.weights if "group_normalization" in w.path]
    names = {w.path.split("/")[-1] for w in g_bn.trainable_weights if "batch_normalization" in w.path}
    assert names == {"gamma", "beta"}


@pytest.mark.parametrize("size", [32, 64, 128])
@pytest.mark.parametrize("where_add", ["input", "all"])
def test_unet_shapes_any_power_of_two(size, where_add):
    g = unet_generator(size, 1, 3, nz=4, ngf=4, norm="instance", where_add=where_add)
    assert unet_depth(size) == int(np.log2(size))
    out = g([np.zeros((2, size, size, 1), "float32"), np.zeros((2, 4), "float32")])
    assert out.shape == (2, size, size, 3)
    assert np.all(np.abs(np.asarray(out)) <= 1.0)


def test_unet_z_everywhere_adds_nz_input_channels_per_level():
    base = trainable(unet_generator(64, 3, 3, nz=0, ngf=4, norm="none"))
    at_input = trainable(unet_generator(64, 3, 3, nz=5, ngf=4, norm="none", where_add="input"))
    everywhere = trainable(unet_generator(64, 3, 3, nz=5, ngf=4, norm="none", where_add="all"))
    # each 4x4 down conv that sees z gains 5 * 16 * out_channels weights
    assert at_input - base == 5 * 16 * 4
    assert everywhere - base == 5 * 16 * sum(4 * min(2**i, 8) for i in range(6))


def test_unet_output_depends_on_z():
    g = unet_generator(32, 3, 3, nz=2, ngf=4, norm="instance", use_dropout=False)
    x = np.random.default_rng(0).uniform(-1, 1, (1, 32, 32, 3)).astype("float32")
    a = np.asarray(g([x, np.zeros((1, 2), "float32")]))
    b = np.asarray(g([x, np.ones((1, 2), "float32")]))
    assert np.abs(a - b).max() > 1e-6


def test_unet_bilinear_upsampling_and_bad_size():
    g = unet_generator(32, 3, 3, ngf=4, upsample="bilinear")
    assert g(np.zeros((1, 32, 32, 3), "float32")).shape == (1, 32, 32, 3)
    with pytest.raises(ValueError, match="power of two"):
        unet_generator(48)


@pytest.mark.parametrize("where_add", ["input", "all"])
def test_resnet_generator_with_z(where_add):
    g = resnet_generator(3, 3, nz=3, ngf=4, n_blocks=2, where_add=where_add)
    out = g([np.zeros((2, 32, 32, 3), "float32"), np.zeros((2, 3), "float32")])
    assert out.shape == (2, 32, 32, 3)


@pytest.mark.parametrize("size", [32, 64, 96, 256])
def test_encoders_work_at_any_resolution(size):
    for enc in (resnet_encoder(3, 8, 4, n_blocks=4), conv_encoder(3, 8, 4, n_layers=3)):
        mu, logvar = enc(np.zeros((2, size, size, 3), "float32"))
        assert mu.shape == (2, 8) and logvar.shape == (2, 8)


def test_multiscale_patch_d_output_sizes_and_spectral_norm():
    d = patch_discriminator(6, 8, 3, num_D=2, norm="instance")
    outs = d(np.zeros((2, 256, 256, 6), "float32"))
    # 70x70 PatchGAN: 256 -> 30x30 logits; second scale sees the 128 px average-pooled input
    assert [tuple(o.shape) for o in outs] == [(2, 30, 30, 1), (2, 14, 14, 1)]
    sn = patch_discriminator(3, 8, 2, num_D=1, norm="none", spectral_norm=True)
    assert any("spectral" in w.path for w in sn.weights)
    assert sn(np.zeros((1, 32, 32, 3), "float32")).shape == (1, 6, 6, 1)
