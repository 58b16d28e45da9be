"""training of tfgan_i2i."""
