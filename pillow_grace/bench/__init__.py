"""``grace bench``: rate-accuracy evidence for GRACE against what users would pick instead.

The ``grace bench`` tool on top of the evaluation engine
(:mod:`pillow_grace.evaluate`): named photo sets (:mod:`.sources`), one job end
to end (:mod:`.job`), ablations and studies of several sweeps
(:mod:`.ablations`, :mod:`.studies`), text, markdown, JSON and the PNG plot
(:mod:`.report`, :mod:`.export`, :mod:`.plot`) and the command (:mod:`.cli`).
It knows no photo collection, no machine and no results page.
"""
