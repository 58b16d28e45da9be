"""Violin <-> piano translation of recordings through STFT spectrogram images and an unpaired AVB-GTN (or UNIT).

The command is `tfgan-i2i-audio` (train, translate, export); see `apps.audio_translation.cli`. Domain A is the
violin, domain B the piano. A model's Config carries its spectrogram settings in `config.extra["audio"]`, so a
checkpoint or export is enough to translate a file.
"""
