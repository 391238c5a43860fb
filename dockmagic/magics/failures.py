"""What a magic shows when the engine goes away or the user interrupts, whatever the operation was doing.

Operations raise their own clear errors where they know what was undone (BuildCancelled, a run's
Interrupted). Anything else that escapes a magic halfway through a request is turned into one line here:
a broken connection to the engine becomes :class:`EngineConnectionLost`, a bare KeyboardInterrupt becomes
:class:`Interrupted`, instead of a wall of docker-py, requests and socket frames.
"""

from __future__ import annotations

import functools

from ..engine import failure_reason, is_connection_lost
from ..errors import DockmagicError, EngineConnectionLost, Interrupted


def clear_failures(name: str, function):
    """``function`` (a magic) with connection losses and interrupts turned into short dockmagic errors."""

    @functools.wraps(function)
    def magic(*args):
        try:
            return function(*args)
        except DockmagicError:
            raise
        except KeyboardInterrupt:
            raise Interrupted(f"Interrupted: %{name} was stopped before it finished.") from None
        except Exception as error:
            if not is_connection_lost(error):
                raise
            raise EngineConnectionLost(
                f"The container engine stopped answering during %{name} ({failure_reason(error)}). It was stopped "
                "or restarted; what dockmagic had started is cleaned up when it answers again. Start the "
                "engine (e.g. dockerd), then run the cell again."
            ) from None

    return magic

