"""models of tfgan_i2i."""
