"""Image file boundary: read/write single images, list image folders, tile result grids.

Inside the library images are float32 HxWxC in [-1, 1]; uint8 exists only at the file boundary handled here.

How awkward files are read (by `read_image` and, identically, by the tf.data pipelines after validation):

* 16-bit PNGs keep the high byte of each sample (v >> 8, so 65535 -> 255), as PIL and tf.io.decode_image do;
* CMYK (and Adobe YCCK) JPEGs are converted to RGB by PIL's plain inversion (no ICC colour profile is applied);
* alpha (RGBA, LA, palette PNGs with a transparency entry) is dropped: transparent pixels keep the colour stored
  under them, the same rule for every format, rather than being composited onto an invented background;
* EXIF Orientation tags (phone photos) are applied, so the image is upright as a viewer shows it;
* files above MAX_IMAGE_PIXELS are refused before they are decoded, with a DataError naming the file and its size.
"""
from __future__ import annotations

import logging
import os
import re
import warnings
from typing import Iterable, Sequence

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

logger = logging.getLogger("tfgan_i2i.data")

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")

# Formats tf.io.decode_image can decode; PIL opens more (WebP, TIFF, ...) that would only fail later inside tf.data.
TF_DECODABLE_FORMATS = frozenset({"JPEG", "MPO", "PNG", "BMP", "GIF"})

# ITU-R BT.601 luma weights, the ones tf.image.rgb_to_grayscale uses, so PIL and tf.data readers agree.
_LUMA = np.array([0.2989, 0.5870, 0.1140], dtype=np.float32)

# Refuse images above this many pixels (8192 x 8192) before decoding: the models work at a few hundred pixels, and
# one such RGB image is already 200 MB as uint8 and 800 MB as float32. It is below PIL's own decompression-bomb
# limit (Image.MAX_IMAGE_PIXELS, ~89 M pixels), so PIL never warns about an image this module accepts.
MAX_IMAGE_PIXELS = 8192 * 8192

_EXIF_ORIENTATION = 0x0112
_ROTATION_NOTE = "EXIF-rotated images are turned upright (their EXIF Orientation tag is applied)"

_noted_conversions: set[str] = set()


class DataError(ValueError):
    """A dataset folder or image file cannot be used; the message names it and the fix."""


def _note_conversion(kind: str) -> None:
    """Log a channel conversion once per process and kind, so users learn about it without log spam."""
    if kind not in _noted_conversions:
        _noted_conversions.add(kind)
        logger.warning("tfgan_i2i.data: %s (noted once per kind of conversion)", kind)


def conversion_kind(mode: str, channels: int) -> str | None:
    """Describe the conversion a PIL image mode needs to reach `channels` channels, or None if none is needed."""
    if channels == 3:
        if mode == "RGB":
            return None
        if mode in ("I;16", "I;16B", "I;16L", "I"):
            return f"16-bit grayscale ({mode}) images are reduced to 8 bits and repeated to 3 channels"
        if mode in ("L", "1"):
            return f"grayscale ({mode}) images are repeated to 3 channels"
        if mode in ("LA", "La"):
            return "grayscale+alpha (LA) images: alpha dropped, gray repeated to 3 channels"
        if mode in ("RGBA", "RGBa", "RGBX"):
            return f"{mode} images: alpha dropped, kept as RGB"
        if mode in ("P", "PA"):
            return "palette (P) images are expanded to RGB (transparency dropped: pixels keep their palette colour)"
        if mode == "CMYK":
            return "CMYK images are converted to RGB (plain inversion, no ICC colour profile)"
        return f"{mode} images are converted to RGB"
    if mode in ("L", "1"):
        return None
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        return f"16-bit grayscale ({mode}) images are reduced to 8 bits"
    if mode in ("LA", "La"):
        return "grayscale+alpha (LA) images: alpha dropped"
    return f"{mode} images are converted to 1-channel grayscale (BT.601 luma)"


def _check_channels(channels: int) -> None:
    """Reject channel counts the library does not model."""
    if channels not in (1, 3):
        raise ValueError(f"channels={channels} is not supported; use 1 (grayscale) or 3 (RGB)")


def _natural_key(path: str) -> list:
    """Sort key that orders embedded numbers by value, so 2.jpg comes before 10.jpg."""
    name = os.path.basename(path).lower()
    return [(0, int(tok), "") if tok.isdigit() else (1, 0, tok) for tok in re.split(r"(\d+)", name) if tok]


def natural_sorted(paths: Iterable[str]) -> list[str]:
    """Return paths sorted by file name in natural (human) order."""
    return sorted(paths, key=lambda p: (_natural_key(p), p))


def list_images(directory: str) -> list[str]:
    """List the .jpg/.jpeg/.png/.bmp files directly inside `directory`, in natural order."""
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise DataError(
            f"Image folder not found: {directory!r}. Expected a folder containing "
            f"{'/'.join(IMAGE_EXTENSIONS)} files; check the path."
        )
    # Hidden files (macOS "._1.jpg" resource forks, editors' temp files) carry image extensions but are not images.
    files = [
        os.path.join(directory, name)
        for name in os.listdir(directory)
        if not name.startswith(".")
        and name.lower().endswith(IMAGE_EXTENSIONS)
        and os.path.isfile(os.path.join(directory, name))
    ]
    if not files:
        raise DataError(
            f"No images in {directory!r}. Expected {'/'.join(IMAGE_EXTENSIONS)} files directly inside this folder "
            "(subfolders are not searched)."
        )
    return natural_sorted(files)


def _unreadable(path: str, err: Exception) -> DataError:
    """The error for a file PIL cannot open or decode."""
    return DataError(f"Cannot read image {path!r} ({err}). Replace or delete the file (it is corrupt or not an image).")


def _too_large(path: str, detail: str) -> DataError:
    """The error for an image above MAX_IMAGE_PIXELS."""
    return DataError(
        f"Image {path!r} is too large to decode ({detail}; the limit is tfgan_i2i.data.images.MAX_IMAGE_PIXELS = "
        f"{MAX_IMAGE_PIXELS:,} pixels). Downscale it first (the models work at a few hundred pixels)."
    )


def open_image(path: str) -> Image.Image:
    """Open an image file lazily (header only) for a `with` block; DataError if it is missing, unreadable or too big."""
    path = os.fspath(path)
    try:
        with warnings.catch_warnings():
            # MAX_IMAGE_PIXELS (lower than PIL's limit) is checked below; PIL's warning would only repeat it.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(path)
    except FileNotFoundError:
        raise DataError(f"Image file not found: {path!r}; check the path.") from None
    except Image.DecompressionBombError as err:
        raise _too_large(path, str(err).split(",")[0]) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise _unreadable(path, err) from None
    width, height = im.size
    if width * height > MAX_IMAGE_PIXELS:
        im.close()
        raise _too_large(path, f"{width} x {height} = {width * height:,} pixels")
    return im


def exif_orientation(im: Image.Image) -> int:
    """The EXIF Orientation (1-8) of an opened image: 1 (upright) when there is none or it is not a valid value."""
    try:
        value = im.getexif().get(_EXIF_ORIENTATION, 1)
    except Exception:  # a broken EXIF block (any of several error types) must not make readable pixels unusable
        return 1
    return value if value in range(1, 9) else 1


def needs_pil_decoding(im: Image.Image) -> bool:
    """Whether tf.io.decode_image would give other pixels than `read_image`: EXIF-rotated or CMYK/YCCK files.

    tf.io.decode_image ignores EXIF orientation and converts CMYK with other colours than PIL, so the tf.data
    pipelines decode such files with `decode_for_pipeline` (PIL) instead.
    """
    return im.mode == "CMYK" or exif_orientation(im) != 1


def _upright(im: Image.Image, note: bool = True) -> Image.Image:
    """The image with its EXIF Orientation applied (the image itself when it has none); `note` logs it once."""
    if exif_orientation(im) == 1:
        return im
    if note:
        _note_conversion(_ROTATION_NOTE)
    return ImageOps.exif_transpose(im)


def decode_for_pipeline(path) -> np.ndarray:
    """Decode a file like `read_image` as uint8 HxWxC (1 channel for gray modes, else 3), for tf.numpy_function.

    The tf.data pipelines call this only for files `needs_pil_decoding` flags; its output goes through the same
    channel conversion as tf.io.decode_image's.
    """
    path = path.decode() if isinstance(path, bytes) else os.fspath(path)
    with open_image(path) as im:
        im = _upright(im, note=False)  # the pipeline noted it when the dataset was validated
        gray = im.mode in ("L", "1", "LA", "La", "I") or im.mode.startswith("I;16")
        return _pil_to_array(im, 1 if gray else 3)


def _pil_to_array(im: Image.Image, channels: int) -> np.ndarray:
    """Convert a PIL image of any common mode to a uint8 HxWxC array with `channels` channels."""
    mode = im.mode
    if mode.startswith("I;16") or mode == "I":
        # Keep the high byte (not PIL's convert("L"), which clips everything above 255 to white), as
        # tf.io.decode_image does for 16-bit PNGs and PIL itself for 16-bit RGB ones, so every reader agrees.
        gray = (np.asarray(im, dtype=np.uint32) >> 8).clip(0, 255).astype(np.uint8)
    elif mode in ("L", "1", "LA", "La"):
        gray = np.asarray(im.convert("L"), dtype=np.uint8)
    else:
        gray = None
    if gray is not None:
        arr = gray[..., None]
        return np.repeat(arr, 3, axis=-1) if channels == 3 else arr
    # Palette images may carry transparency; going through RGBA avoids PIL's transparency warning.
    rgb = np.asarray(im.convert("RGBA"), dtype=np.uint8)[..., :3] if mode in ("P", "PA", "RGBA", "RGBa") else (
        np.asarray(im.convert("RGB"), dtype=np.uint8)
    )
    if channels == 3:
        return rgb
    luma = np.tensordot(rgb.astype(np.float32), _LUMA, axes=([-1], [0]))
    return np.clip(np.round(luma), 0, 255).astype(np.uint8)[..., None]


def read_image(path: str, channels: int = 3) -> np.ndarray:
    """Read an image file as a float32 HxWxC array in [-1, 1] with `channels` (1 or 3) channels, upright.

    See the module doc for 16-bit, CMYK, transparent, EXIF-rotated and very large files.
    """
    _check_channels(channels)
    path = os.fspath(path)
    with open_image(path) as im:
        kind = conversion_kind(im.mode, channels)
        try:  # the pixels are decoded here: a truncated file fails now
            arr = _pil_to_array(_upright(im), channels)
        except (OSError, SyntaxError, ValueError) as err:
            raise _unreadable(path, err) from None
    if kind:
        _note_conversion(kind)
    return arr.astype(np.float32) / 127.5 - 1.0


def to_uint8(x) -> np.ndarray:
    """Map a float image or batch in [-1, 1] to uint8 [0, 255] (values outside are clipped; uint8 passes through)."""
    arr = np.asarray(x)
    if arr.dtype == np.uint8:
        return arr
    arr = np.nan_to_num(arr.astype(np.float32), nan=0.0, posinf=1.0, neginf=-1.0)
    return np.clip(np.round((arr + 1.0) * 127.5), 0, 255).astype(np.uint8)


_WRITE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP"}


def write_image(path: str, array) -> str:
    """Write an HxWxC (C in 1, 3) or HxW image in [-1, 1] to a PNG/JPEG/BMP file chosen by extension."""
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    if ext not in _WRITE_FORMATS:
        raise ValueError(f"Cannot write {path!r}: use a .png, .jpg, .jpeg or .bmp file name")
    img = to_uint8(array)
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    if img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[-1] != 3):
        raise ValueError(f"Cannot write {path!r}: expected an HxW, HxWx1 or HxWx3 image, got shape {np.shape(array)}")
    parent = os.path.dirname(path)
    if parent:
        os.makedirs(parent, exist_ok=True)
    options = {"quality": 95} if _WRITE_FORMATS[ext] == "JPEG" else {}
    Image.fromarray(img).save(path, format=_WRITE_FORMATS[ext], **options)
    return path


def image_grid(rows: Sequence[Sequence], padding: int = 0, pad_value: int = 255) -> np.ndarray:
    """Tile rows of same-size HxWxC images in [-1, 1] into one uint8 HxWx3 image (gray tiles become RGB)."""
    rows = [list(row) for row in rows]
    if not rows or not any(rows):
        raise ValueError("image_grid needs at least one row with at least one image")
    tiles = []
    for row in rows:
        out_row = []
        for img in row:
            t = to_uint8(img)
            if t.ndim == 2:
                t = t[..., None]
            if t.ndim != 3 or t.shape[-1] not in (1, 3):
                raise ValueError(f"image_grid tiles must be HxWx1 or HxWx3 images, got shape {np.shape(img)}")
            out_row.append(np.repeat(t, 3, axis=-1) if t.shape[-1] == 1 else t)
        tiles.append(out_row)
    h, w = next(t for row in tiles for t in row).shape[:2]
    for row in tiles:
        for t in row:
            if t.shape[:2] != (h, w):
                raise ValueError(f"image_grid tiles must all have the same size; got {(h, w)} and {t.shape[:2]}")
    n_cols = max(len(row) for row in tiles)
    step_h, step_w = h + padding, w + padding
    grid = np.full((len(tiles) * step_h - padding, n_cols * step_w - padding, 3), pad_value, dtype=np.uint8)
    for r, row in enumerate(tiles):
        for c, t in enumerate(row):
            grid[r * step_h : r * step_h + h, c * step_w : c * step_w + w] = t
    return grid
