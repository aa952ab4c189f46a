"""What earlier units of a request showed, for the units after them (paged logs and JSON listings).

`units` walks the history and caches it; `logs` and `json_pages` summarise one kind each. The
pipeline is the only user: a unit's compression may leave out what the same request already
sent, which stays prompt-cache safe because a summary depends only on earlier units.
"""

from headroom.history.json_pages import JsonPages
from headroom.history.logs import LogPages
from headroom.history.units import Histories, UnitHistory

__all__ = ["Histories", "JsonPages", "LogPages", "UnitHistory"]
