"""The codec core: what a device runs (Pillow, numpy and pluggy; never torch).

The strategy model and its file format (:mod:`.strategy`, :mod:`._fields`,
:mod:`._json`), the colour transform (:mod:`.colour`), table derivation
(:mod:`.tables`), the APP11 segment (:mod:`.metadata`), encoder options
(:mod:`.options`), the JPEG writer (:mod:`.codec`), strategy lookup
(:mod:`.registry`, :mod:`.hookspecs`) and the exceptions (:mod:`.errors`).
Nothing here imports the adapters, the fitter, the evaluation engine or the CLI.
"""
