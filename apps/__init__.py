"""End-user applications built on the tfgan_i2i library (the violin <-> piano audio translation app first)."""
