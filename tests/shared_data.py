"""Where the tests find the real audio data of ../shared/data (see its README), and skip marks for when it is absent."""
import os

import pytest

SHARED = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir, "shared",
                                       "data"))
MIDI = os.path.join(SHARED, "violin_piano_midi")
VSCO2 = os.path.join(SHARED, "violin_piano_vsco2")
needs_midi = pytest.mark.skipif(not os.path.isdir(MIDI), reason=f"rendered violin/piano pairs not found at {MIDI}")
needs_vsco2 = pytest.mark.skipif(not os.path.isdir(VSCO2), reason=f"VSCO-2 mp3 notes not found at {VSCO2}")
