"""networks of tfgan_i2i."""
