"""Pillow-side tests of pillow-grace: strategy format, lookup, encode, decode, bad input."""
