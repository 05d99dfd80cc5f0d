"""The domain services: what the tambon's data means and the one way each change is made.

The conversation flows (``handlers``) and the outer ring (``bot``: channels, the command line,
the web listener, report rendering) call these; these call only ``storage`` and share the
vocabulary of ``handlers.types``. A change of state is one function here, run in one
transaction and owning its rules, whether it comes from a chat or from the command line.
"""
