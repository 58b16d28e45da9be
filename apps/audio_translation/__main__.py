"""`python -m apps.audio_translation ...` runs the `tfgan-i2i-audio` command."""
import sys

from .cli import main

sys.exit(main())
