"""The bottom layer: what every other layer uses and nothing of riskeval's above it.

Keyed counter random numbers (:mod:`.keyed`), parameter provenance (:mod:`.params`), the CSV
formula guard (:mod:`.safecsv`) and the plotting helpers (:mod:`.plots`). Private: the public
names live in the layers above.
"""
