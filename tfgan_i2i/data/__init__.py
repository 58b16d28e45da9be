"""data of tfgan_i2i."""
