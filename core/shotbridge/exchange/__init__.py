"""Edit exchange through OpenTimelineIO: the conventions every host and the backend share.

- AI facts in `metadata["shotbridge"]` (facts.py), takes as extra media references (takes.py), ASC CDL in
  `metadata["cdl"]` (cdl.py), findings as markers (markers.py), shots out of a cut (shots.py), recut diffs
  (diff.py), and reading/writing what crews hand over (io.py).
"""

from .errors import ExchangeError, RateNeeded, UnsupportedContent

__all__ = ["ExchangeError", "RateNeeded", "UnsupportedContent"]
