"""What earlier units of a request showed, for the units after them (paged logs, JSON listings,
code reads).

`units` walks the history and caches it; `logs`, `json_pages` and `code_reads` summarise one
kind each. The
pipeline is the only user: a unit's compression may leave out what the same request already
sent, which stays prompt-cache safe because a summary depends only on earlier units.
"""

from headroom.history.code_reads import CodeReads
from headroom.history.json_pages import JsonPages
from headroom.history.logs import LogPages
from headroom.history.units import Histories, UnitHistory

__all__ = ["CodeReads", "Histories", "JsonPages", "LogPages", "UnitHistory"]
