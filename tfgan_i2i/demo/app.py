"""The Gradio page of `tfgan-i2i demo`: layout and wiring; the work is done by `handlers` and `callbacks`.

The page has a model picker with the model's card, then one section for the picked model's kind:
  * paired images (BicycleGAN family, pix2pix, MSGAN): k samples side by side (k and seed adjustable); a latent
    explorer (one slider per z dimension, starting from a chosen sample); an interpolation strip between the codes
    of two seeds; and, for models with an encoder, a reference photo whose encoded code is applied to the input;
  * unpaired images (CycleGAN, UNIT, AVB-GTN): direction A->B / B->A, k samples where the model has a latent
    code, and the cycle reconstruction beside the translation;
  * audio (the violin <-> piano app): upload a recording, play input and output, see both spectrograms, download
    the WAV.

It works offline: Gradio's usage analytics are off (set before Gradio is imported), the theme uses the system's
fonts (no web fonts, local or remote), there is no share link and no footer linking out, and the server binds to
127.0.0.1 unless told otherwise.
"""
from __future__ import annotations

import os

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # read when gradio is imported: no usage reports, no version check
os.environ.setdefault("HF_HUB_OFFLINE", "1")       # the hub client gradio imports must not try the network either

import functools  # noqa: E402
import threading  # noqa: E402

import gradio as gr  # noqa: E402
import numpy as np  # noqa: E402

from . import callbacks as cb  # noqa: E402
from .handlers import LATENT_RANGE, MAX_NZ, Handlers  # noqa: E402
from .registry import Entry, load  # noqa: E402

TITLE = "tfgan_i2i demo"
SYSTEM_FONTS = ["system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue", "Arial", "sans-serif"]
SYSTEM_MONO = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "Liberation Mono", "monospace"]
INSTRUMENTS = [("violin -> piano", "piano"), ("piano -> violin", "violin")]
DIRECTIONS = [("A -> B", "AtoB"), ("B -> A", "BtoA")]
CSS = """
footer {display: none !important}
.strip .grid-wrap {height: auto !important; min-height: 0 !important; max-height: none !important}
.picture img {width: 100%; height: 270px; object-fit: contain}
"""


def theme() -> gr.themes.Base:
    """A plain theme in the system's fonts: nothing to fetch, from the network or the server."""
    return gr.themes.Base(font=SYSTEM_FONTS, font_mono=SYSTEM_MONO)


def _gallery(label: str, elem_id: str, columns: int = 4) -> gr.Gallery:
    """An output gallery of lossless PNG pictures."""
    return gr.Gallery(label=label, elem_id=elem_id, columns=columns, format="png", height=None, rows=1,
                      object_fit="contain", interactive=False, buttons=["download", "fullscreen"], elem_classes=["strip"])


def _input_column(prefix: str, bundled_label: str):
    """(input image, gallery of bundled example inputs: clicking one sets the input), in a column."""
    with gr.Column(scale=1):
        image = gr.Image(label="Input (upload, or click a bundled sample below)", type="filepath",
                         sources=["upload", "clipboard"], elem_id=f"{prefix}-input", height=280)
        bundled = gr.Gallery(label=bundled_label, elem_id=f"{prefix}-bundled", columns=5, height=170,
                             allow_preview=False, interactive=False, object_fit="contain", buttons=[])
    return image, bundled


def _picture(label: str, elem_id: str) -> gr.Image:
    """An output picture (lossless PNG)."""
    return gr.Image(label=label, elem_id=elem_id, format="png", interactive=False, height=300,
                    buttons=["download", "fullscreen"], elem_classes=["picture"])


def _paired_section(h: Handlers, picker) -> None:
    """The paired-images section: input, samples, latent explorer, interpolation, encoded reference."""
    with gr.Row():
        image, bundled = _input_column("paired", "Bundled facades samples")
        with gr.Column(scale=1):
            k = gr.Slider(1, cb.MAX_SAMPLES, value=4, step=1, label="k (samples)", elem_id="paired-k")
            seed = gr.Number(0, precision=0, label="Seed", elem_id="paired-seed")
            resize = gr.Checkbox(False, label="Resize to the model's size", elem_id="paired-resize")
            run = gr.Button("Translate", variant="primary", elem_id="paired-run")
    samples = _gallery("k samples side by side", "paired-samples")
    with gr.Tabs() as tabs:
        with gr.Tab("Latent explorer", id="explorer"):
            note = gr.Markdown(elem_id="latent-note")
            with gr.Row():
                index = gr.Slider(0, cb.MAX_SAMPLES - 1, value=0, step=1, label="Start from sample",
                                  elem_id="explorer-index")
                reset = gr.Button("Reset the sliders to that sample", elem_id="explorer-reset")
            with gr.Row():
                with gr.Column(scale=2):
                    sliders = [gr.Slider(-LATENT_RANGE, LATENT_RANGE, value=0.0, step=0.01, label=f"z[{i}]",
                                         elem_id=f"z-{i}", visible=i < 8) for i in range(MAX_NZ)]
                explored = _picture("G(input, z)", "explored")
        with gr.Tab("Interpolation", id="interpolation"):
            with gr.Row():
                seed_a = gr.Number(0, precision=0, label="Seed A")
                seed_b = gr.Number(1, precision=0, label="Seed B")
                steps = gr.Slider(2, 2 * cb.MAX_SAMPLES, value=6, step=1, label="Steps")
                interp_run = gr.Button("Interpolate", elem_id="interp-run")
            strip = _gallery("From the first code of seed A to that of seed B (straight line in z)",
                             "interp-strip", columns=6)
        with gr.Tab("Encode a reference", id="encode"):
            gr.Markdown("BicycleGAN's encoded mode: the encoder reads a code z from a photo of the output domain; "
                        "the generator then applies it to the input (models with an encoder only).")
            with gr.Row():
                reference = gr.Image(label="Reference photo", type="filepath", sources=["upload", "clipboard"],
                                     elem_id="reference", height=240)
                encoded = _picture("G(input, E(reference))", "encoded")
            code = gr.Markdown(elem_id="encoded-code")
            with gr.Row():
                encode_run = gr.Button("Encode and apply", elem_id="encode-run")
                to_explorer = gr.Button("Explore around this code", elem_id="encode-explore")

    raw = dict(preprocess=False)  # handlers read the uploaded files themselves (clear messages for bad files)
    sample_inputs = [picker, image, k, seed, resize]
    explore_inputs = [picker, image, resize, *sliders]
    start_inputs = [picker, k, seed, index]
    quiet_samples = functools.partial(h.samples, quiet=True)
    quiet_explore = functools.partial(h.explore, quiet=True)

    def then_explorer(dependency):
        """After a successful run of the samples: the explorer's sliders reset to the chosen sample, and its output."""
        return (dependency.success(h.explorer_start, start_inputs, sliders, **raw)
                .success(quiet_explore, explore_inputs, explored, **raw))

    then_explorer(run.click(h.samples, sample_inputs, samples, **raw))
    then_explorer(image.upload(quiet_samples, sample_inputs, samples, **raw))
    then_explorer(bundled.select(h.pick_bundled, [picker, gr.State("AtoB")], image, **raw)
                  .success(quiet_samples, sample_inputs, samples, **raw))
    then_explorer(gr.on([k.release, seed.change], quiet_samples, sample_inputs, samples, **raw))
    k.change(lambda n, i: gr.update(maximum=int(n) - 1, value=min(int(i), int(n) - 1)), [k, index], index)
    then_explorer(reset.click(lambda: None, None, None))
    then_explorer(index.release(lambda: None, None, None))
    # typing, dragging or clicking a slider; while one output is computed only the newest request waits
    gr.on([t for s in sliders for t in (s.input, s.release)], h.explore, explore_inputs, explored,
          trigger_mode="always_last", **raw)
    interp_run.click(h.interpolate, [picker, image, seed_a, seed_b, steps, resize], strip, **raw)
    encode_inputs = [picker, image, reference, resize]
    encode_run.click(h.encode, encode_inputs, [encoded, code], **raw)
    reference.upload(h.encode, encode_inputs, [encoded, code], **raw)
    to_explorer.click(h.encode_to_sliders, encode_inputs, sliders, **raw).success(
        quiet_explore, explore_inputs, explored, **raw).then(lambda: gr.Tabs(selected="explorer"), None, tabs)
    return bundled, note, sliders


def _unpaired_section(h: Handlers, picker):
    """The unpaired-images section: direction, k samples, cycle reconstruction."""
    with gr.Row():
        image, bundled = _input_column("unpaired", "Bundled facades samples (the source domain's half)")
        with gr.Column(scale=1):
            direction = gr.Radio(DIRECTIONS, value="AtoB", label="Direction", elem_id="unpaired-direction")
            k = gr.Slider(1, cb.MAX_SAMPLES, value=4, step=1, label="k (samples, where the model has a latent code)")
            seed = gr.Number(0, precision=0, label="Seed")
            resize = gr.Checkbox(False, label="Resize to the model's size")
            run = gr.Button("Translate", variant="primary", elem_id="unpaired-run")
    samples = _gallery("Translations", "unpaired-samples")
    cycle = _gallery("Cycle: input | translation | reconstruction", "unpaired-cycle", columns=3)
    raw = dict(preprocess=False)
    inputs = [picker, image, direction, k, seed, resize]
    quiet = functools.partial(h.unpaired, quiet=True)
    run.click(h.unpaired, inputs, [samples, cycle], **raw)
    image.upload(quiet, inputs, [samples, cycle], **raw)
    bundled.select(h.pick_bundled, [picker, direction], image, **raw).then(quiet, inputs, [samples, cycle], **raw)
    direction.change(h.bundled, [picker, direction], bundled, **raw).success(quiet, inputs, [samples, cycle], **raw)
    gr.on([k.release, seed.change], quiet, inputs, [samples, cycle], **raw)
    return bundled


def _audio_section(h: Handlers, picker) -> None:
    """The audio section: a recording in, the other instrument out, both playable, with spectrograms."""
    with gr.Row():
        with gr.Column():
            recording = gr.Audio(label="Recording (wav, flac, ogg or mp3)", type="filepath", sources=["upload"],
                                 elem_id="audio-input", buttons=[])
            to = gr.Radio(INSTRUMENTS, value="piano", label="Translate", elem_id="audio-to")
            run = gr.Button("Translate", variant="primary", elem_id="audio-run")
        with gr.Column():
            heard = gr.Audio(label="Input, as the model hears it (mono, resampled)", type="filepath",
                             interactive=False, elem_id="audio-heard", buttons=["download"])
            out = gr.Audio(label="Translation", type="filepath", interactive=False, elem_id="audio-output",
                           buttons=["download"])
            download = gr.File(label="Download the translation (WAV)", interactive=False, elem_id="audio-download")
    with gr.Row():
        picture_in = _picture("Input spectrogram (log magnitude; time ->, low notes at the bottom)",
                              "spectrogram-in")
        picture_out = _picture("Output spectrogram", "spectrogram-out")
    outputs = [heard, out, picture_in, picture_out, download]
    raw = dict(preprocess=False)
    run.click(h.audio, [picker, recording, to], outputs, **raw)
    recording.upload(functools.partial(h.audio, quiet=True), [picker, recording, to], outputs, **raw)


def build_app(entries: list[Entry], work_dir: str) -> gr.Blocks:
    """The page over `entries` (the first is selected); files it writes go under work_dir."""
    h = Handlers(entries, work_dir)
    first = entries[0]
    # uploads and outputs older than a day are deleted hourly, so a demo left running does not fill the disk
    with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=(3600, 86400)) as app:
        gr.Markdown(f"# {TITLE}\nImage-to-image and violin <-> piano translation with the models of this "
                    "package, on this machine (nothing leaves it).")
        picker = gr.Dropdown(h.choices(), value=first.name, label="Model", elem_id="model-picker")
        with gr.Accordion("Model card", open=True):
            card = gr.Markdown(elem_id="model-card", latex_delimiters=[], max_height=260)
        with gr.Column(visible=first.kind == "paired") as paired:
            paired_bundled, note, sliders = _paired_section(h, picker)
        with gr.Column(visible=first.kind == "unpaired") as unpaired:
            unpaired_bundled = _unpaired_section(h, picker)
        with gr.Column(visible=first.kind == "audio") as audio:
            _audio_section(h, picker)
        outputs = [card, paired, unpaired, audio, paired_bundled, unpaired_bundled, note, *sliders]
        picker.change(h.on_model, picker, outputs)
        app.load(h.on_model, picker, outputs)
    return app


def warm_up(entry: Entry) -> threading.Thread:
    """Load the default model and trace its sample function in the background, so the first click is quick."""
    def run():
        try:
            model = load(entry)
            if entry.kind != "audio":
                c = model.config
                zeros = np.zeros((c.image_size, c.image_size, c.input_nc), np.float32)
                cb.paired_samples(model, zeros, 4, 0) if entry.kind == "paired" else model.cycle(zeros[None])
        except Exception as e:  # a broken model shows its error when the page asks for it, not here
            print(f"note: could not preload {entry.name}: {e}")
    thread = threading.Thread(target=run, name="demo-warm-up", daemon=True)
    thread.start()
    return thread


def serve(entries: list[Entry], work_dir: str, host: str = "127.0.0.1", port: int = 7860, open_browser: bool = False,
          block: bool = True):
    """Build the page and serve it on host:port (blocking unless block=False); returns the Blocks app."""
    app = build_app(entries, work_dir)
    app.queue(default_concurrency_limit=1)  # one translation at a time per control: 2 CPU cores are shared anyway
    app.launch(server_name=host, server_port=port, share=False, inbrowser=open_browser, quiet=True,
               prevent_thread_lock=not block, footer_links=[], allowed_paths=[work_dir], theme=theme(), css=CSS,
               show_error=False, mcp_server=False, pwa=False, ssr_mode=False)
    return app


__all__ = ["SYSTEM_FONTS", "TITLE", "build_app", "serve", "theme", "warm_up"]
