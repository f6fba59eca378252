"""Push: the in-process change hub, the hold shared by Ping and Sync Wait, and
the per-device Status-12 counter that breaks Ping/Sync loops."""

from easgw.push.hub import ChangeHub, Ended, Watch
from easgw.push.misses import HierarchyMisses

__all__ = ["ChangeHub", "Ended", "HierarchyMisses", "Watch"]
