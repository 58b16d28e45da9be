"""`tfgan-i2i demo` in a real browser: headless Debian Chromium driven by Playwright against a demo server this test
starts on a free local port (and stops afterwards).

It uploads a bundled facades label map and waits for the k samples (valid PNGs that differ and depend on the seed),
moves a latent slider (the output changes), uploads bad files (the page says what is wrong and keeps working),
switches to the audio model, uploads a WAV (a playable WAV comes back in an <audio> element), and checks that the
page never asked anything of a host other than this machine. Screenshots go to the test's temporary folder; with
TFGAN_I2I_DEMO_SCREENSHOT=docs/demo.png the page's screenshot is also written there (the README's picture).

Needs the demo extra (Gradio), Playwright and Debian's `chromium`: skipped without them, failed without them on CI
(the CI variable set), where `.ci/run` installs all three. Playwright's own browser download is never used.
"""
import importlib.util
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from urllib.parse import urlparse

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
START_TIMEOUT = 240   # seconds for the server to answer (TensorFlow and Gradio imports on a busy 2-core machine)
STEP_TIMEOUT = 90_000  # ms for one translation to show up in the page
LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}
# Chromium's own background traffic (updates, sync, safe browsing) is off: the page is what is under test.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-background-networking", "--no-first-run",
                 "--disable-component-update", "--disable-sync", "--disable-default-apps", "--mute-audio"]

pytestmark = pytest.mark.timeout(600)


def _missing() -> str | None:
    """What the browser test lacks (gradio, playwright, the chromium binary), or None."""
    for module in ("gradio", "playwright"):
        if importlib.util.find_spec(module) is None:  # found, not imported: importing gradio here costs seconds
            return f"{module} is not installed (pip install -e \".[demo,test]\")"
    if shutil.which("chromium") is None:
        return "Debian's chromium is not installed (apt-get install chromium)"
    if not os.path.isdir(os.path.join(REPO, "savedmodels", "bicyclegan_facades", "1")):
        return "the shipped savedmodels/ come with a source checkout"
    return None


@pytest.fixture(scope="module")
def browser_ready():
    why = _missing()
    if why and os.environ.get("CI"):
        pytest.fail(f"the browser test must run on CI, but {why}; .ci/run installs it")
    if why:
        pytest.skip(why)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_up(url: str, proc: subprocess.Popen, log_path: str) -> None:
    """Poll `url` until it answers; fail with the server's log if it exits or takes too long."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the demo server exited with {proc.returncode}:\n{open(log_path).read()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(1)
    pytest.fail(f"the demo server did not answer within {START_TIMEOUT} s:\n{open(log_path).read()[-3000:]}")


@pytest.fixture(scope="module")
def server(browser_ready, tmp_path_factory):
    """The URL of a `tfgan-i2i demo` server on a free port; stopped (SIGINT, then kill) after the module."""
    port = _free_port()
    log_path = str(tmp_path_factory.mktemp("server") / "server.log")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([REPO, os.environ.get("PYTHONPATH", "")]),
           "TF_CPP_MIN_LOG_LEVEL": "2"}
    with open(log_path, "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "tfgan_i2i.demo", "--host", "127.0.0.1", "--port", str(port)],
                                cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        started = time.monotonic()
        _wait_until_up(url, proc, log_path)
        print(f"demo server up in {time.monotonic() - started:.1f} s")
        yield url
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)


@pytest.fixture(scope="module")
def page(server):
    """A headless Chromium page on the demo, recording every URL it requests."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1700})
            pg = context.new_page()
            pg.set_default_timeout(STEP_TIMEOUT)
            pg.requested = []
            context.on("request", lambda request: pg.requested.append(request.url))
            pg.goto(server)
            yield pg
        finally:
            browser.close()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """Files to upload: a bundled label map, a photo, a corrupt 'image', a wrong-size image, a WAV, a corrupt WAV."""
    folder = tmp_path_factory.mktemp("uploads")
    pair = np.asarray(Image.open(os.path.join(REPO, "tfgan_i2i", "sample_data", "facades", "test", "1.jpg")))
    Image.fromarray(pair[:, 128:]).save(folder / "labels.png")  # right half: the label map (B)
    (folder / "broken.png").write_text("this is not an image")
    Image.new("RGB", (200, 150), (90, 60, 30)).save(folder / "small.png")
    rate = 22050
    t = np.arange(int(1.5 * rate)) / rate
    sf.write(str(folder / "melody.wav"), (0.3 * np.sin(2 * np.pi * 440 * t) * np.exp(-t)).astype(np.float32), rate)
    (folder / "broken.wav").write_text("this is not audio")
    return {name: str(folder / name) for name in ("labels.png", "broken.png", "small.png", "melody.wav",
                                                  "broken.wav")}


def _sources(page, selector: str) -> list[str]:
    return page.eval_on_selector_all(selector, "els => els.map(e => e.getAttribute('src'))")


def _wait_for_new(page, selector: str, count: int, old=()) -> list[str]:
    """The src of `count` <img>/<audio> under selector, once they are all present and none is in `old`."""
    page.wait_for_function(
        """([selector, count, old]) => { const s = [...document.querySelectorAll(selector)].map(e => e.getAttribute('src'));
             return s.length >= count && s.every(x => x && !old.includes(x)); }""", arg=[selector, count, list(old)])
    return _sources(page, selector)[:count]


def _pictures(page, sources) -> list[np.ndarray]:
    """The images behind the page's src URLs, decoded (each must be a valid PNG)."""
    out = []
    for src in sources:
        answer = page.request.get(src if src.startswith("http") else page.url.rstrip("/") + src)
        assert answer.ok, src
        image = Image.open(io.BytesIO(answer.body()))
        assert image.format == "PNG", src
        out.append(np.asarray(image.convert("RGB")))
    return out


def _toast(page, *pieces, screenshot=None) -> None:
    """Wait for a message box holding every piece of text (saving a screenshot of it), then close it."""
    toast = page.locator(".toast-body", has_text=pieces[0]).last
    toast.wait_for()
    text = toast.inner_text()
    assert all(p in text for p in pieces), text
    if screenshot is not None:
        page.screenshot(path=str(screenshot))
    page.locator(".toast-body .toast-close").first.click()


def _playable(page, selector: str, seconds: float) -> bool:
    """Whether an <audio> under selector (Playwright's locators reach into the player's shadow DOM) has loaded a
    sound of about `seconds` seconds, polled until STEP_TIMEOUT."""
    state = "els => els.map(a => [a.readyState, a.duration])"
    deadline = time.monotonic() + STEP_TIMEOUT / 1000
    while time.monotonic() < deadline:
        if any(ready >= 1 and abs(duration - seconds) < 0.05
               for ready, duration in page.locator(selector).evaluate_all(state)):
            return True
        time.sleep(0.5)
    return False


def _screenshot(page, tmp_path, name):
    page.screenshot(path=str(tmp_path / name), full_page=True)


def test_samples_explorer_bad_input_and_audio_in_a_browser(page, inputs, tmp_path):
    started = time.monotonic()
    page.wait_for_selector("#paired-input")
    page.locator("#paired-input input[type=file]").set_input_files(inputs["labels.png"])
    first = _pictures(page, _wait_for_new(page, "#paired-samples img", 4))
    assert all(p.shape == (128, 128, 3) for p in first)
    assert all(np.any(a != b) for i, a in enumerate(first) for b in first[i + 1:]), "k samples must differ"

    explored_src = _wait_for_new(page, "#explored img", 1)
    explored = _pictures(page, explored_src)[0]
    page.wait_for_function("() => !document.querySelector('.pending, .generating')")  # the explorer has settled
    page.locator("#z-0 input[type=number]").fill("3.5")
    page.locator("#z-0 input[type=number]").press("Enter")
    moved = _pictures(page, _wait_for_new(page, "#explored img", 1, explored_src))[0]
    assert np.abs(moved.astype(int) - explored).mean() > 0.5, "moving z[0] must change the explored output"
    moved_src = _sources(page, "#explored img")
    before = _sources(page, "#paired-samples img")
    page.locator("#paired-seed input").fill("7")
    page.locator("#paired-seed input").press("Enter")
    reseeded = _pictures(page, _wait_for_new(page, "#paired-samples img", 4, before))
    assert all(np.any(a != b) for a, b in zip(first, reseeded)), "the samples must depend on the seed"
    _wait_for_new(page, "#explored img", 1, moved_src)  # the explorer follows the new seed's sample

    _screenshot(page, tmp_path, "paired.png")
    if os.environ.get("TFGAN_I2I_DEMO_SCREENSHOT"):  # the README's picture: 256 colours keep the file small
        shot = Image.open(io.BytesIO(page.screenshot(full_page=False))).convert("RGB")
        shot.quantize(256, dither=Image.Dither.NONE).save(os.environ["TFGAN_I2I_DEMO_SCREENSHOT"], optimize=True)

    page.locator("#paired-input input[type=file]").set_input_files(inputs["broken.png"])
    _toast(page, "broken.png", "Cannot read image")
    page.locator("#paired-input input[type=file]").set_input_files(inputs["small.png"])
    _toast(page, "small.png is 200x150 pixels", "128x128", screenshot=tmp_path / "bad_input.png")

    page.locator("#model-picker input").click()
    page.get_by_role("option", name="violin_piano_avb (avb-gtn, audio)").click()
    page.locator("#audio-input").wait_for(state="visible")
    page.locator("#audio-input input[type=file]").set_input_files(inputs["broken.wav"])
    _toast(page, "Cannot read audio 'broken.wav'")
    page.locator("#audio-input button[aria-label='Clear']").click()  # the player took the place of the drop zone
    page.locator("#audio-input input[type=file]").set_input_files(inputs["melody.wav"])
    link = page.locator("#audio-download a[href]").first
    link.wait_for()
    answer = page.request.get(link.get_attribute("href"))
    assert answer.ok and answer.body()[:4] == b"RIFF" and answer.body()[8:12] == b"WAVE"
    wave, rate = sf.read(io.BytesIO(answer.body()))
    assert rate == 16000 and abs(len(wave) / rate - 1.5) < 0.01 and np.any(wave != 0)
    assert _playable(page, "#audio-output audio", 1.5), "the page's player must load the 1.5 s translation"
    _screenshot(page, tmp_path, "audio.png")

    hosts = {urlparse(url).hostname for url in page.requested if urlparse(url).scheme in ("http", "https", "ws")}
    assert hosts and hosts <= LOCAL_HOSTS, f"the page asked hosts other than this machine: {hosts - LOCAL_HOSTS}"
    print(f"browser steps took {time.monotonic() - started:.1f} s; screenshots in {tmp_path}")
