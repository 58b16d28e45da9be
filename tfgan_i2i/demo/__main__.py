"""`python -m tfgan_i2i.demo [options]`: the same as `tfgan-i2i demo [options]`."""
import sys

from tfgan_i2i.cli import main

if __name__ == "__main__":
    sys.exit(main(["demo", *sys.argv[1:]]))
