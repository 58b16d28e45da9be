"""The `tfgan-i2i-audio` command: `train` a violin <-> piano model, `translate` a recording, `export` a SavedModel.

`train` fits the unpaired AVB-GTN (or UNIT) on two folders of unaligned recordings, or with --paired-data a paired
translator (pix2pix or BicycleGAN) per direction on time-aligned recordings matched by file name.

TensorFlow is imported inside the subcommands, so `--help` and argument errors answer at once, and without its C++
log lines unless --verbose is given. Errors a user can fix (a bad file or option) print as one line, exit status 2.
"""
from __future__ import annotations

import argparse
import os
import sys

from tfgan_i2i.cli import UserError, _non_negative, _positive, choose_inference_kernels, run_command

PROG = "tfgan-i2i-audio"
REPRESENTATIONS = ("phase", "if", "magnitude")  # as tfgan_i2i.audio.REPRESENTATIONS, without importing TF here
INSTRUMENTS = ("piano", "violin")
UNPAIRED = ("avb-gtn", "unit")      # as .model.MODELS, without importing TF here
PAIRED = ("pix2pix", "bicyclegan")  # as .model.PAIRED_MODELS
SIGNATURES = {"piano": "violin_to_piano", "violin": "piano_to_violin"}  # a paired logdir's run folders
LEVELS = ("input", "target", "none")  # as tfgan_i2i.audio.LEVEL_MODES
# The export `translate` uses when no --checkpoint is given (trained and committed with the repository).
DEFAULT_MODEL = "violin_piano_pix2pix"
WRITABLE = (".wav", ".flac")


def default_model_dir() -> str:
    """<repo>/savedmodels/violin_piano_pix2pix: the shipped export of a source checkout."""
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return os.path.join(repo, "savedmodels", DEFAULT_MODEL)


def _fraction(text: str) -> float:
    """argparse type: a number in [0, 1)."""
    value = float(text)
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {value}")
    return value


def _seconds(text: str) -> float:
    """argparse type: a positive duration in seconds."""
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0 seconds, got {value}")
    return value


# --- train -------------------------------------------------------------------------------------------------------
def _add_train(sub) -> None:
    """The `train` subcommand's options."""
    p = sub.add_parser(
        "train", help="train a violin <-> piano model on folders of recordings (resumes from --logdir)",
        description="Train AVB-GTN (or UNIT with KL) on unaligned violin and piano recordings turned into square "
                    "spectrogram images (frame_length / 2 frequency bins x as many frames); with --paired-data, "
                    "a paired pix2pix (or BicycleGAN) per direction on time-aligned recordings of the same notes. "
                    "Re-running the same command resumes from the newest checkpoint in --logdir. The last file of "
                    "each instrument is held out (unless --no-holdout) and its translation is logged to "
                    "TensorBoard every epoch.")
    g = p.add_argument_group("data")
    g.add_argument("--violin", metavar="DIR",
                   help="folder of violin recordings (wav/flac/ogg/mp3, searched recursively)")
    g.add_argument("--piano", metavar="DIR", help="folder of piano recordings")
    g.add_argument("--data", metavar="ROOT",
                   help="a root holding violin/ and piano/ (or the IRMAS training layout vio/ and pia/); "
                        "--violin / --piano override it per instrument")
    g.add_argument("--paired-data", action="store_true",
                   help="the violin and piano recordings are time-aligned pairs matched by file name (the same "
                        "notes, starting together, e.g. MIDI renders of one melody): train a paired spectrogram "
                        "translator (--model pix2pix or bicyclegan, one model per direction, in LOGDIR/"
                        "violin_to_piano/ and LOGDIR/piano_to_violin/) on the same crop of both instead of the "
                        "unpaired AVB-GTN")
    g.add_argument("--to", choices=("both", *INSTRUMENTS), default="both",
                   help="with --paired-data: the direction(s) to train, by target instrument (default: both)")
    g.add_argument("--holdout", action=argparse.BooleanOptionalAction, default=True,
                   help="keep the last file of each instrument out of training for the TensorBoard clips "
                        "(default: on when an instrument has two or more files)")
    g.add_argument("--monitor-seconds", type=_seconds, default=2.0, metavar="S",
                   help="length of the held-out clips logged to TensorBoard (default: %(default)s)")
    s = p.add_argument_group("spectrograms")
    s.add_argument("--representation", choices=REPRESENTATIONS, default="if",
                   help="phase: log magnitude + raw phase; if: log magnitude + instantaneous frequency (GANSynth); "
                        "magnitude: log magnitude only, phase by Griffin-Lim (default: %(default)s)")
    s.add_argument("--frame-length", type=_positive, default=256, metavar="N",
                   help="STFT window (samples); the image is N/2 x N/2, so N/2 must be a power of two >= 32 "
                        "(default: %(default)s)")
    s.add_argument("--frame-step", type=_positive, default=64, metavar="N",
                   help="STFT hop (samples), dividing --frame-length (default: %(default)s)")
    s.add_argument("--sample-rate", type=_positive, default=16000, metavar="HZ",
                   help="rate recordings are resampled to (default: %(default)s)")
    r = p.add_argument_group("run")
    r.add_argument("--model", choices=UNPAIRED + PAIRED, default=None,
                   help="unpaired: avb-gtn (UNIT with AVB critics in place of the KL terms, the default) or unit "
                        "(UNIT with KL, the baseline); with --paired-data: pix2pix (the default) or bicyclegan "
                        "(paper loss weights)")
    r.add_argument("--logdir", metavar="DIR", help="config.json, checkpoints/, TensorBoard events (train/, audio/) "
                                                   "go here (default: runs/audio_MODEL_REPRESENTATION)")
    r.add_argument("--resume", action=argparse.BooleanOptionalAction, default=True,
                   help="continue from the newest checkpoint in --logdir; --no-resume moves old checkpoints aside")
    r.add_argument("--epochs", type=_non_negative, default=20, metavar="N",
                   help="epochs at the initial learning rate (default: %(default)s)")
    r.add_argument("--epochs-decay", type=_non_negative, default=0, metavar="N",
                   help="epochs of linear learning-rate decay to zero that follow (default: %(default)s = the "
                        "presets' constant learning rate throughout)")
    r.add_argument("--steps-per-epoch", type=_positive, metavar="N",
                   help="batches per epoch (crops repeat); default: one crop per file of the larger instrument")
    r.add_argument("--batch-size", type=_positive, default=1, metavar="N", help="crops per batch (default: 1)")
    r.add_argument("--lr", type=float, metavar="X", help="Adam learning rate (default: the preset's 1e-4)")
    r.add_argument("--seed", type=int, default=0, metavar="N", help="random seed (default: 0)")
    r.add_argument("--quiet", action="store_true", help="one line per epoch instead of a progress bar")
    r.add_argument("--run-eagerly", action="store_true",
                   help="do not compile the train step into a graph: starts in seconds instead of a minute, but "
                        "every step is several times slower (for checking data and options with a few steps)")
    n = p.add_argument_group("networks (small defaults for a CPU)")
    n.add_argument("--ngf", type=_positive, default=32, metavar="N", help="encoder/decoder base channels (default: 32)")
    n.add_argument("--ndf", type=_positive, default=32, metavar="N", help="discriminator base channels (default: 32)")
    n.add_argument("--ntf", type=_positive, default=32, metavar="N", help="AVB critic base channels (default: 32)")
    n.add_argument("--n-res", type=_positive, default=4, metavar="N",
                   help="residual blocks per encoder and per decoder, one of them shared (default: 4)")
    p.set_defaults(func=_run_train)


def model_name(args) -> str:
    """The --model to train: the mode's default, or a UserError when it does not fit the mode."""
    paired = getattr(args, "paired_data", False)
    if args.model is None:
        return PAIRED[0] if paired else UNPAIRED[0]
    if paired and args.model not in PAIRED:
        raise UserError(f"--model {args.model} trains on unaligned recordings; with --paired-data use --model "
                        f"{' or --model '.join(PAIRED)}")
    if not paired and args.model in PAIRED:
        raise UserError(f"--model {args.model} needs time-aligned pairs: add --paired-data (recordings matched by "
                        f"file name) or use --model {' or --model '.join(UNPAIRED)}")
    return args.model


def config_from_args(args, to: str | None = None):
    """The run's Config: the model's preset on the spectrogram settings, with the flags on top (`to`: the target
    instrument of a paired model)."""
    from tfgan_i2i.audio import SpectrogramConfig

    from .model import audio_config

    try:
        spec = SpectrogramConfig(frame_length=args.frame_length, frame_step=args.frame_step,
                                 representation=args.representation, sample_rate=args.sample_rate)
    except ValueError as e:
        raise UserError(f"--frame-length / --frame-step: {e}") from None
    model = model_name(args)
    overrides = dict(ngf=args.ngf, ndf=args.ndf, batch_size=args.batch_size, seed=args.seed, epochs=args.epochs,
                     epochs_decay=args.epochs_decay)
    if model in PAIRED:
        overrides["nef"] = args.ngf  # BicycleGAN's encoder as wide as G
    else:
        overrides.update(ntf=args.ntf, n_res=args.n_res)
    if args.lr is not None:
        overrides["lr"] = args.lr
    if args.epochs_decay > 0:  # the presets (UNIT, AVB-GTN) keep a constant lr; asking for decay epochs means decay
        overrides["lr_policy"] = "linear"
    return audio_config(spec, model, to=to, **overrides)


def _train_files(args) -> tuple[dict, dict]:
    """({instrument: training files}, {instrument: TensorBoard clip file}); pairs matched by name with --paired-data."""
    from .training import domain_files, hold_out_last, pair_files

    found = domain_files(args.violin, args.piano, args.data)
    if args.paired_data:
        found = pair_files(*found)  # hold-out below then keeps one whole pair out (the last by name)
    files, clip_files = {}, {}
    for name, side in zip(("violin", "piano"), found):
        files[name], clip_files[name] = hold_out_last(side) if args.holdout else (side, side[-1])
    return files, clip_files


def _run_train(args) -> int:
    """`tfgan-i2i-audio train`."""
    if args.to != "both" and not args.paired_data:
        raise UserError(f"--to {args.to}: an unpaired model always learns both directions; --to picks a direction "
                        "for --paired-data only")
    targets = INSTRUMENTS if args.to == "both" else (args.to,)
    configs = {to: config_from_args(args, to) for to in targets} if args.paired_data else {None: config_from_args(args)}
    from .model import spectrogram_config
    from .training import monitor_clips, train_audio

    files, clip_files = _train_files(args)
    violin, piano = files["violin"], files["piano"]
    config = next(iter(configs.values()))
    clips = monitor_clips(clip_files["violin"], clip_files["piano"], config, args.monitor_seconds)
    spec = spectrogram_config(config)
    logdir = args.logdir or os.path.join("runs", f"audio_{config.model}_{spec.representation}")
    size = config.image_size
    kind = (f"{len(violin)} time-aligned pair(s)" if args.paired_data
            else f"{len(violin)} violin / {len(piano)} piano file(s)")
    print(f"training {config.model} on {kind}: {spec.representation} spectrograms {size}x{size}x{spec.channels} "
          f"({spec.crop_length(size) / spec.sample_rate:.2f} s chunks at {spec.sample_rate} Hz) -> {logdir}")
    print("TensorBoard clips from " + " and ".join(
        f"{path}{'' if path in files[name] else ' (held out of training)'}" for name, path in clip_files.items()))
    try:
        for to, run_config in configs.items():
            run_dir = logdir if to is None else os.path.join(logdir, SIGNATURES[to])
            if to is not None:
                print(f"{SIGNATURES[to].replace('_', ' ')} -> {run_dir}")
            train_audio(run_config, violin, piano, run_dir, steps_per_epoch=args.steps_per_epoch, resume=args.resume,
                        verbose=2 if args.quiet else 1, monitor=clips, run_eagerly=args.run_eagerly)
    except KeyboardInterrupt:
        print(f"\ninterrupted: finished epochs are saved in {logdir}; run the same command again to resume",
              file=sys.stderr)
        return 130
    print(f"done: checkpoints in {logdir}; listen and look with: tensorboard --logdir {logdir}; ship it with: "
          f"{PROG} export --checkpoint {logdir} --out savedmodels/NAME")
    return 0


# --- translate ---------------------------------------------------------------------------------------------------
def _add_translate(sub) -> None:
    """The `translate` subcommand's options."""
    p = sub.add_parser(
        "translate", help="translate a recording to the other instrument",
        description="Translate a wav/flac/ogg/mp3 recording (8/16/24-bit or float; stereo or more channels are mixed "
                    "to mono, any rate is resampled to the model's) into piano or violin. Long files go through the "
                    "model in overlapping spectrogram chunks that are cross-faded; the output has the input's length "
                    "at the model's sample rate, and by default the input's loudness (--level). A silent input "
                    "(every sample 0) gives a silent output, with a note.")
    p.add_argument("input", metavar="IN", help="the recording to translate")
    p.add_argument("--to", required=True, metavar="|".join(INSTRUMENTS),
                   help="the instrument to translate into (the input is taken to be the other one)")
    p.add_argument("--checkpoint", metavar="DIR", default=None,
                   help="a `train` --logdir, its checkpoints/ folder, or an `export` folder (savedmodels/NAME); "
                        f"default: the shipped savedmodels/{DEFAULT_MODEL}")
    p.add_argument("--out", metavar="FILE", default=None,
                   help="output .wav or .flac (default: IN's name + _to_INSTRUMENT.wav in the current folder)")
    p.add_argument("--overlap", type=_fraction, default=0.25, metavar="F",
                   help="least overlap of neighbouring chunks, as a fraction of a chunk (default: %(default)s)")
    p.add_argument("--batch-size", type=_positive, default=8, metavar="N", help="chunks per model call (default: 8)")
    p.add_argument("--griffin-lim-iters", type=_positive, default=32, metavar="N",
                   help="Griffin-Lim iterations for magnitude-only models (default: %(default)s)")
    p.add_argument("--level", choices=LEVELS, default="input",
                   help="output loudness, one gain for the whole file (capped so the peak stays below full scale): "
                        "input = the input's RMS level; target = the typical level of the target instrument in the "
                        "model's training recordings; none = as the model made it (default: %(default)s)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_run_translate,
                   before_tensorflow=lambda args: choose_inference_kernels(args.checkpoint or default_model_dir()))


def _run_translate(args) -> int:
    """`tfgan-i2i-audio translate`."""
    to = args.to.strip().lower()
    if to not in INSTRUMENTS:
        raise UserError(f"--to {args.to!r} is not an instrument of this app; use --to piano or --to violin")
    out = args.out or f"{os.path.splitext(os.path.basename(args.input))[0]}_to_{to}.wav"
    ext = os.path.splitext(out)[1].lower()
    if ext not in WRITABLE:  # before any file is read or model loaded
        raise UserError(f"--out {out}: cannot write {ext + ' files' if ext else 'a name without an extension'}; "
                        f"use a {' or '.join(WRITABLE)} file name")
    path = args.checkpoint or default_model_dir()
    if args.checkpoint is None and not os.path.isdir(path):
        raise UserError(f"no --checkpoint given and the shipped model {path} is missing (it comes with a source "
                        f"checkout); pass --checkpoint with a `{PROG} train` --logdir or an export folder")

    from tqdm import tqdm

    from tfgan_i2i.audio import rms_db, write_audio
    from tfgan_i2i.data.audio import is_silent, read_mono

    from .model import load_translator, read_model_config, spectrogram_config

    spec = spectrogram_config(read_model_config(path), path)  # cheap checks (config, audio file) before weights
    wave, notes = read_mono(args.input, spec.sample_rate)
    for note in notes.values():
        print(f"note: {note}", file=sys.stderr)
    if is_silent(wave):
        # Silence played on another instrument is silence; the model would only add its own noise floor.
        write_audio(out, wave, spec.sample_rate)
        print(f"note: {args.input} is digital silence (every sample is 0): wrote silence of the same length "
              "without running the model", file=sys.stderr)
        print(f"wrote {out}: {len(wave) / spec.sample_rate:.2f} s of silence at {spec.sample_rate} Hz")
        return 0
    translator = load_translator(path)
    translator.image_fn(to)  # a model trained one way, or an unknown target level, fails before any work
    translator.output_level(wave, to, args.level)
    source = "violin" if to == "piano" else "piano"
    with tqdm(desc=f"{source} -> {to}", unit="chunk", disable=args.quiet) as bar:
        def progress(done, total):
            bar.total = total
            bar.update(done - bar.n)

        result, gain_db = translator.translate(wave, to, overlap=args.overlap, batch_size=args.batch_size,
                                               griffin_lim_iters=args.griffin_lim_iters, progress=progress,
                                               level=args.level, return_gain=True)
    write_audio(out, result, spec.sample_rate)
    level = "" if args.level == "none" else f", level {args.level}: {rms_db(result):.1f} dBFS RMS ({gain_db:+.1f} dB)"
    print(f"wrote {out}: {len(result) / spec.sample_rate:.2f} s at {spec.sample_rate} Hz ({source} -> {to}, "
          f"model {translator.source}{level})")
    return 0


# --- export ------------------------------------------------------------------------------------------------------
def _add_export(sub) -> None:
    """The `export` subcommand's options."""
    p = sub.add_parser(
        "export", help="export a checkpoint as a SavedModel (TF Serving layout) for translate and serving",
        description="Write OUT/<version>/ (a SavedModel with float32 signatures violin_to_piano(spectrogram) and "
                    "piano_to_violin(spectrogram) over (batch, S, S, C) images in [-1, 1]) and OUT/config.json "
                    "(the model's config with its spectrogram settings), then check the export against the "
                    "checkpoint. `translate --checkpoint OUT` runs from the export alone.")
    p.add_argument("--checkpoint", metavar="DIR", required=True,
                   help="a `train` --logdir (unpaired, or paired with one run per direction) or its checkpoints/ "
                        "folder")
    p.add_argument("--out", metavar="DIR", required=True, help=f"export folder, e.g. savedmodels/{DEFAULT_MODEL}")
    p.add_argument("--version", type=_positive, default=1, metavar="N", help="version folder name (default: 1)")
    p.set_defaults(func=_run_export)


def _run_export(args) -> int:
    """`tfgan-i2i-audio export`."""
    import numpy as np

    from tfgan_i2i.export.loaded import savedmodel_dir

    from .model import AudioTranslator, export_audio_savedmodel, load_models, load_translator

    if savedmodel_dir(args.checkpoint) is not None:
        raise UserError(f"--checkpoint {args.checkpoint} is already an export; pass the training --logdir")
    models = load_models(args.checkpoint)  # a clear error for a missing folder or an image model
    path = export_audio_savedmodel(models, args.out, args.version)
    # parity on random spectrograms: the export must compute what the checkpoint computes
    c = next(iter(models.values())).config
    images = np.random.default_rng(0).uniform(-1, 1, (2, c.image_size, c.image_size, c.input_nc)).astype("float32")
    keras_side, exported = AudioTranslator.from_models(models), load_translator(args.out)
    diff = max(float(np.abs(keras_side.image_fn(to)(images) - exported.image_fn(to)(images)).max())
               for to in models)
    print(f"SavedModel: {path} (signatures {', '.join(SIGNATURES[to] for to in INSTRUMENTS if to in models)}; "
          f"config {os.path.join(args.out, 'config.json')})")
    print(f"parity with the checkpoint on random spectrograms: max |diff| = {diff:.2e}")
    return 0


# --- entry point -------------------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    """The `tfgan-i2i-audio` argument parser (one subparser per command)."""
    parser = argparse.ArgumentParser(
        prog=PROG, description="Violin <-> piano translation of recordings through STFT spectrogram images.")
    parser.add_argument("--verbose", action="store_true",
                        help="show TensorFlow's own log lines (C++ INFO/WARNING, oneDNN and CPU banners), hidden "
                             "by default; a TF_CPP_MIN_LOG_LEVEL set in the environment is always obeyed")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_train(sub)
    _add_translate(sub)
    _add_export(sub)
    for command in sub.choices.values():  # `tfgan-i2i-audio translate --verbose ...` works too
        command.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS,
                             help=f"show TensorFlow's own log lines (same as {PROG} --verbose)")
    return parser


def main(argv=None) -> int:
    """Run `tfgan-i2i-audio` with `argv` (default sys.argv[1:]); returns the exit status."""
    # run_command loads TensorFlow through quiet_tensorflow(args.verbose) before anything imports it, and prints
    # errors a user can fix (AudioError is a DataError) as one line with exit status 2.
    return run_command(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
