"""The domain services: what the tambon's data means and the one way each change is made.

The conversation flows (``handlers``) and the outer ring (``bot``: channels, the command line,
the web listener, report rendering) call these; these call only ``storage`` and share the
vocabulary of ``handlers.types``. A change of state is one function here, run in one
transaction and owning its rules, whether it comes from a chat or from the command line.
"""

from __future__ import annotations

from handlers.types import Text


class Refused(ValueError):
    """A change a service will not make; ``reason`` says why, in the words the person who
    asked for it sees (a chat answers with it, the command line prints it and exits with 2)."""

    def __init__(self, reason: Text) -> None:
        super().__init__(reason.msgid)
        self.reason = reason
