"""Channel-agnostic conversation flows: onboarding, problem intake, account commands.

Handlers take a normalised :class:`~handlers.types.Incoming` and return
:class:`~handlers.types.Reply` objects; they never import a channel SDK, the database driver,
the NLP library or the template engine.
"""

from __future__ import annotations

from handlers.router import Router


def build_router() -> Router:
    """The bot's whole conversation, one router per feature merged together."""
    from handlers import (
        access,
        account,
        draft,
        intake,
        moderation,
        onboarding,
        plan,
        summaries,
        team,
        voting,
    )

    root = Router()
    features = (
        onboarding.router,
        intake.router,
        account.router,
        voting.router,
        summaries.router,
        access.router,
        moderation.router,
        team.router,
        plan.router,
        draft.router,
    )
    for feature in features:
        root.include(feature)
    return root
