"""Which models the page offers, and loading each of them once.

The entries are the shipped exports under savedmodels/ that are present and every `--checkpoint` given (a train
logdir, its checkpoints/ folder, an export folder or a .keras file). An entry's kind (paired, unpaired or audio)
comes from its config.json, read without loading any weights; `load` loads a model the first time the page asks
for it and keeps it for every later request and visitor (one copy per path, guarded by a lock because the page
serves requests from several threads).
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass

from apps.audio_translation.model import AUDIO_KEY, load_translator

from ..cli import _load_translator, shipped_model_dir
from ..config import CONFIG_FILE, Config
from ..export.loaded import ExportError, savedmodel_dir
from ..models import MODELS, ConditionalDCGAN, is_unpaired
from ..training.callbacks import find_checkpoint_dir, is_keras_file
from .callbacks import DemoError

# The exports that ship with a source checkout, in the order the picker lists them; the first is the default.
SHIPPED = ("bicyclegan_facades", "msgan_facades", "violin_piano_pix2pix", "violin_piano_avb")
KINDS = {"paired": "paired images", "unpaired": "unpaired images", "audio": "audio"}

_models: dict[tuple[str, str], object] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class Entry:
    """A model the page offers: its picker name, where it lives, what kind it is, and its config."""

    name: str
    path: str
    kind: str
    config: Config
    shipped: bool = False

    @property
    def label(self) -> str:
        """The picker's text, e.g. 'bicyclegan_facades (bicyclegan, paired images)'."""
        return f"{self.name} ({self.config.model}, {KINDS[self.kind]})"


def _folder(path: str) -> str:
    """The files a path stands for, so a logdir and its checkpoints/ folder (or NAME and NAME/1) share one copy."""
    if not is_keras_file(path):
        path = savedmodel_dir(path) or find_checkpoint_dir(path)
    return os.path.realpath(path)


def _cached(path: str, family: str, loader):
    """The object `loader()` built for (path's files, family), built on the first call only."""
    key = (_folder(path), family)
    with _lock:
        if key not in _models:
            _models[key] = loader()
        return _models[key]


def read_config(path: str) -> Config:
    """The Config of an export, checkpoint folder or train logdir (no weights loaded), or of a .keras file."""
    if is_keras_file(path):
        return _cached(path, "image", lambda: _load_translator(path)).config
    exported = savedmodel_dir(path)
    if exported is None:
        return Config.load(os.path.join(find_checkpoint_dir(path), CONFIG_FILE))
    config_file = os.path.join(os.path.dirname(os.path.normpath(exported)), CONFIG_FILE)
    if not os.path.isfile(config_file):
        raise ExportError(f"{exported} has no {CONFIG_FILE} beside it, so the page cannot tell what it translates; "
                          "re-export it with tfgan-i2i export (or tfgan-i2i-audio export)")
    return Config.load(config_file)


def kind_of(config: Config, path: str) -> str:
    """'audio', 'unpaired' or 'paired'; DemoError for models that do not translate (the class-conditional DCGAN)."""
    if AUDIO_KEY in (config.extra or {}):
        return "audio"
    if issubclass(MODELS.get(config.model, object), ConditionalDCGAN):
        raise DemoError(f"{path} is a {config.model} model (class label -> image), not an image-to-image "
                        "translator; the demo shows paired, unpaired and audio translation models")
    return "unpaired" if is_unpaired(config) else "paired"


def _name(path: str) -> str:
    """A picker name for a path: its folder's name (a logdir's for its checkpoints/ folder) or the file's stem."""
    path = os.path.normpath(os.path.abspath(path))
    base = os.path.basename(path)
    if base == "checkpoints":
        base = os.path.basename(os.path.dirname(path))
    return os.path.splitext(base)[0] if is_keras_file(path) else base


def describe(path: str, name: str | None = None, shipped: bool = False) -> Entry:
    """The Entry of the model at `path` (its config read, its weights not loaded)."""
    if not os.path.exists(path):
        raise DemoError(f"{path} does not exist; pass a train --logdir, an export folder or a .keras file")
    config = read_config(path)
    kind = kind_of(config, path)
    if kind == "audio" and is_keras_file(path):
        raise DemoError(f"{path}: audio models load from a `tfgan-i2i-audio train` --logdir or an export folder, "
                        "not a .keras file")
    return Entry(name or _name(path), path, kind, config, shipped)


def shipped_entries() -> list[Entry]:
    """The shipped exports present in this checkout (none in an install without savedmodels/)."""
    paths = [(name, shipped_model_dir(name)) for name in SHIPPED]
    return [describe(path, name, shipped=True) for name, path in paths if savedmodel_dir(path) is not None]


def entries(checkpoints=()) -> list[Entry]:
    """Every --checkpoint given (first, so the first is the page's default), then the shipped exports."""
    found = [describe(path) for path in checkpoints]
    found += shipped_entries()
    names: dict[str, int] = {}
    unique = []
    for entry in found:  # two runs both called 'checkpoints' or 'demo' stay apart in the picker
        names[entry.name] = names.get(entry.name, 0) + 1
        if names[entry.name] > 1:
            entry = Entry(f"{entry.name} ({names[entry.name]})", entry.path, entry.kind, entry.config, entry.shipped)
        unique.append(entry)
    if not unique:
        raise DemoError("there is no model to show: the shipped savedmodels/ folder is missing (it comes with a "
                        "source checkout); pass --checkpoint RUN_OR_EXPORT")
    return unique


def load(entry: Entry):
    """The entry's model, loaded once: an ExportedModel or Keras model for images, an AudioTranslator for audio."""
    if entry.kind == "audio":
        return _cached(entry.path, "audio", lambda: load_translator(entry.path))
    return _cached(entry.path, "image", lambda: _load_translator(entry.path))


__all__ = ["KINDS", "SHIPPED", "Entry", "describe", "entries", "kind_of", "load", "read_config", "shipped_entries"]
