"""Strategies shipped with pillow-grace (installed as ``pillow_grace.strategies``)."""
