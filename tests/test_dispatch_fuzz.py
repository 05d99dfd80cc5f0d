"""Whatever anyone sends, the bot answers and does not crash (issue "Nobody sees what is not
theirs", finding 6): every chat command with arbitrary arguments, every button with forged data
— numbers of any length, Thai digits, negative, dotted, strings — through the real dispatch
(the engine every channel shares), from a villager and from the team, at any step."""

from __future__ import annotations

import hypothesis.strategies as st
from hypothesis import HealthCheck, given, settings

from bot.core import Engine
from bot.nlp import KeywordTagger
from handlers import build_router
from handlers import payloads as p
from handlers.services.limits import Limits
from handlers.types import Incoming
from storage.base import Role, Store, Tambon
from tests.conftest import onboard

COMMANDS = sorted(build_router().commands)
ACTIONS = sorted(
    value for name, value in vars(p).items() if name.isupper() and isinstance(value, str)
)
PEOPLE = {"lead": Role.TEAM, "relay": Role.MEMBER, "villager": Role.VILLAGER}

digits = st.text(alphabet="0123456789๐๑๒๓๔๕๖๗๘๙", min_size=1, max_size=5000)
numbers = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    digits,
    st.just("9999999999999999999999999"),
    st.just("9223372036854775808"),  # one more than SQLite's largest integer
)
words = st.one_of(numbers, st.text(max_size=80), st.sampled_from(["ok", "yes", "same", "#1"]))
arguments = st.one_of(
    words,
    st.lists(words, max_size=4).map(" ".join),
    st.lists(numbers, min_size=2, max_size=3).map(".".join),
)
messages = st.one_of(
    st.tuples(st.just("command"), st.sampled_from(COMMANDS), arguments),
    st.tuples(st.just("button"), st.sampled_from(ACTIONS), arguments),
    st.tuples(st.just("text"), st.just(""), arguments),
)


@settings(
    max_examples=600,
    deadline=None,
    database=None,
    derandomize=True,  # the same examples in every run: CI stays repeatable
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    sends=st.lists(st.tuples(st.sampled_from(sorted(PEOPLE)), messages), min_size=1, max_size=4)
)
async def test_every_command_and_button_is_answered_whatever_it_carries(
    store: Store, tambon: Tambon, tagger: KeywordTagger, sends: list[tuple[str, tuple[str, ...]]]
) -> None:
    # No pause for sending fast: the examples come faster than any person types.
    engine = Engine(store, tagger, limits=Limits.allowing(messages=10**9, submissions=10**9))
    for person, role in PEOPLE.items():
        member = await store.get_member("console", person)
        if member is None or not member.onboarded or member.role is not role:
            await onboard(engine, store, tambon, person, role=role)
    for person, (kind, name, argument) in sends:
        if kind == "command":
            incoming = Incoming("console", person, text=f"/{name} {argument}".strip())
        elif kind == "button":
            incoming = Incoming("console", person, choice=f"{name}:{argument}")
        else:
            incoming = Incoming("console", person, text=argument)
        replies = await engine.handle(incoming)  # raises on a crash
        if kind == "command":
            assert replies, incoming
            assert all(reply.text.strip() for reply in replies), incoming
