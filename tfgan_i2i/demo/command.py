"""The `tfgan-i2i demo` subcommand: serve the local web page (plugged into cli.build_parser).

Building the parser imports neither Gradio nor TensorFlow. Running it checks, in this order and each with one
line naming the option and the fix: that Gradio is installed (the `demo` extra), that --host/--port can be
listened on, and that every --checkpoint is a model the page can show; only then is the page built and served.
"""
from __future__ import annotations

import argparse
import atexit
import errno
import importlib.util
import shutil
import socket
import tempfile

from ..cli import UserError, _integer

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860


def _port(text: str) -> int:
    """argparse type: a TCP port, 0 to 65535 (0 = any free port)."""
    value = _integer(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port from 0 to 65535 (0 = any free port), got {value}")
    return value


def add_demo(sub) -> None:
    """The `demo` subcommand's options."""
    p = sub.add_parser(
        "demo", help="serve a local web page to try the models: samples, latent explorer, audio (needs [demo])",
        description="Serve a web page (Gradio, installed by the demo extra: pip install -e \".[demo]\") to try the "
                    "models: k samples side by side, a latent explorer and interpolation, BicycleGAN's encoded "
                    "mode, unpaired translation with its cycle, and violin <-> piano recordings. It lists the "
                    "shipped savedmodels/ and every --checkpoint, binds to 127.0.0.1 and needs no internet.")
    p.add_argument("--checkpoint", action="append", default=[], metavar="PATH",
                   help="a train --logdir, its checkpoints/ folder, an export folder (savedmodels/NAME) or a .keras "
                        "file to offer in the model picker; repeat it for several (the first one is selected; the "
                        "shipped models are listed after them)")
    p.add_argument("--host", default=DEFAULT_HOST, metavar="ADDRESS",
                   help="address to listen on (default: %(default)s, this machine only; 0.0.0.0 makes the page "
                        "reachable from the network)")
    p.add_argument("--port", type=_port, default=DEFAULT_PORT, metavar="N",
                   help="port to listen on (default: %(default)s; 0 = any free port)")
    p.add_argument("--open", action="store_true", help="open the page in this machine's web browser")
    p.set_defaults(func=run_demo)


def _require_gradio() -> None:
    """UserError with the install command when Gradio (the demo extra) is missing."""
    if importlib.util.find_spec("gradio") is None:
        raise UserError('the demo needs Gradio, which the demo extra installs: pip install -e ".[demo]" '
                        "(or pip install gradio)")


def listen_port(host: str, port: int) -> int:
    """`port` (a free one for 0) after checking host:port can be listened on; UserError naming the option if not."""
    try:
        family, kind, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (socket.gaierror, UnicodeError):
        raise UserError(f"--host {host!r} is not an address or name of this machine; use 127.0.0.1 (the default), "
                        "or 0.0.0.0 for every interface") from None
    with socket.socket(family, kind) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will: a TIME_WAIT port is free
        try:
            s.bind(address)
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise UserError(f"--port {port} is already in use on {host}; pass another --port, or --port 0 for "
                                "any free one") from None
            raise UserError(f"--host {host}: cannot listen there ({e.strerror}); use 127.0.0.1 (the default) or an "
                            "address of this machine") from None
        return s.getsockname()[1]


def _entries(checkpoints):
    """The page's models; a --checkpoint the page cannot use is a UserError naming it."""
    from ..config import ConfigError
    from ..data.images import DataError
    from ..export.loaded import ExportError
    from ..training.callbacks import CheckpointError
    from .callbacks import DemoError
    from .registry import describe, entries

    for path in checkpoints:  # one at a time, so the message names the one that is wrong
        try:
            describe(path)
        except (DemoError, DataError, ExportError, ConfigError, CheckpointError) as e:
            raise UserError(f"--checkpoint {path}: {e}") from None
    try:
        return entries(checkpoints)
    except DemoError as e:
        raise UserError(str(e)) from None


def run_demo(args) -> int:
    """`tfgan-i2i demo`."""
    _require_gradio()
    port = listen_port(args.host, args.port)
    found = _entries(args.checkpoint)
    from .app import serve, warm_up

    work_dir = tempfile.mkdtemp(prefix="tfgan-i2i-demo-")
    atexit.register(shutil.rmtree, work_dir, True)
    warm_up(found[0])
    app = serve(found, work_dir, args.host, port, open_browser=args.open, block=False)
    shown = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    shown = f"[{shown}]" if ":" in shown else shown  # an IPv6 address in a URL
    print(f"tfgan-i2i demo: serving {len(found)} model(s) on http://{shown}:{port}/ (Ctrl+C stops it)", flush=True)
    if args.host in ("0.0.0.0", "::"):
        print("note: --host 0.0.0.0 makes the page reachable from other machines on the network", flush=True)
    app.block_thread()  # until Ctrl+C, which it turns into closing the server
    print("tfgan-i2i demo: stopped", flush=True)
    return 0


__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "add_demo", "listen_port", "run_demo"]
