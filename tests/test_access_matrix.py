"""Who may do what, tried from outside: every chat command as a villager, a community
organisations centre member, the team and an administrator of the tambon, as a stranger, and
the team of another tambon."""

from __future__ import annotations

from bot.core import Engine
from bot.nlp import KeywordTagger
from handlers import build_router
from handlers.services import members
from handlers.services.limits import Limits
from storage.base import Role, Store, Tambon
from tests.conftest import console, onboard, th

# The commands only the team and administrators may use, and those every member may.
TEAM_COMMANDS = [
    "summary",
    "report",
    "results",
    "newpoll",
    "closepoll",
    "paper",
    "presence",
    "fix",
    "invite",
    "revoke",
    "hide",
    "unhide",
    "members",
    "role",
    "remove",
    "year",
    "item",
    "links",
    "web",
]
MEMBER_COMMANDS = [
    "mine",
    "mydata",
    "vote",
    "here",
    "language",
    "relay",
    "forget",
    "status",
    "plan",
    "quiet",
    "problem",
    "draft",
]
OPEN_COMMANDS = ["help", "cancel", "start", "menu"]
TEAM_ONLY = "Sorry, this command is only for the tambon team."
UNKNOWN = "Sorry, I don't know the command /{name}. Type /help to see what I can do."


def test_the_matrix_names_every_command_the_bot_has() -> None:
    """A new command must be placed in the matrix (and so get tried below)."""
    router = build_router()
    everything = set(TEAM_COMMANDS) | set(MEMBER_COMMANDS) | set(OPEN_COMMANDS)
    assert set(router.commands) - {"lang"} == everything
    restricted = {
        name
        for name, command in router.commands.items()
        if command.roles is not None and not {Role.VILLAGER, Role.MEMBER} & command.roles
    }
    assert restricted == set(TEAM_COMMANDS)


async def test_every_team_command_by_role(
    store: Store, tambon: Tambon, tagger: KeywordTagger
) -> None:
    # Each person tries every command within the minute: more than the messages limit allows.
    engine = Engine(store, tagger, limits=Limits.allowing(messages=1000))
    await onboard(engine, store, tambon, "villager", role=Role.VILLAGER)
    await onboard(engine, store, tambon, "member", role=Role.MEMBER)
    await onboard(engine, store, tambon, "team", role=Role.TEAM)
    await onboard(engine, store, tambon, "admin", role=Role.TEAM)
    admin = await store.get_member("console", "admin")
    assert admin is not None
    await members.change_role(store, admin, Role.ADMIN)
    refused = th(TEAM_ONLY)
    for name in TEAM_COMMANDS:
        for user, allowed in (
            ("villager", False),
            ("member", False),
            ("team", True),
            ("admin", True),
        ):
            (answer,) = await console(engine, user, f"/{name}")
            await console(engine, user, "/cancel")
            assert (refused in answer) is not allowed, (name, user, answer)
            assert th(UNKNOWN, name=name) not in answer
            assert "Traceback" not in answer
        (stranger,) = await console(engine, "stranger", f"/{name}")
        assert refused not in stranger  # not a member at all: asked to join instead
        assert "12345678" in stranger  # asked to join (the code alone will do)
    for name in MEMBER_COMMANDS:
        (answer,) = await console(engine, "villager", f"/{name}")
        await console(engine, "villager", "/cancel")
        assert refused not in answer, name
        assert th(UNKNOWN, name=name) not in answer


async def test_another_tambons_team_cannot_touch_this_tambons_submissions(
    engine: Engine, store: Store, tambon: Tambon
) -> None:
    from handlers.services import tambons

    await onboard(engine, store, tambon, "v1")
    await console(engine, "v1", "ถนนหมู่ 3 เป็นหลุมลึก", "1")
    (submission,) = await store.list_submissions(tambon.id)
    other = await tambons.create_tambon(store, "600802", ["บ้านหนึ่ง", "บ้านสอง"])
    await onboard(engine, store, other, "outsider", village=1, role=Role.TEAM)
    (answer,) = await console(engine, "outsider", f"/fix {submission.id}")
    assert submission.text not in answer
    after = await store.get_submission(submission.id)
    assert after is not None
    assert after.categories == submission.categories
    (summary,) = await console(engine, "outsider", "/summary")
    assert submission.text not in summary
