"""The tambon's members in chat: /members lists them by village and role (numbers and
pseudonyms, no names), /role N gives another role with a button, /remove N removes after a
question. The team gives villager, member and team; only an administrator touches the
administrator role; the last administrator keeps it; another tambon's members are unknown."""

from __future__ import annotations

from bot.core import Engine
from handlers.services import members, tambons
from storage.base import Member, Role, Store, Tambon
from tests.conftest import console, onboard, th

UNKNOWN = (
    "There is no member {ref} in your tambon. Type /members to see their numbers, then "
    "/{command} and the number, for example /{command} 12."
)
OUT_OF_REACH = (
    "Only an administrator can change an administrator's role or remove them ({member})."
)


async def _member(store: Store, user: str) -> Member:
    found = await store.get_member("console", user)
    assert found is not None
    return found


async def _people(engine: Engine, store: Store, tambon: Tambon) -> None:
    await onboard(engine, store, tambon, "lead", village=1, role=Role.TEAM)
    await onboard(engine, store, tambon, "boss", village=1, role=Role.TEAM)
    await members.change_role(store, await _member(store, "boss"), Role.ADMIN)
    await onboard(engine, store, tambon, "v2", village=2)
    await onboard(engine, store, tambon, "v3", village=3)


async def test_members_are_listed_by_village_with_numbers_and_pseudonyms(
    engine: Engine, store: Store, tambon: Tambon
) -> None:
    await _people(engine, store, tambon)
    (listing,) = await console(engine, "lead", "/members")
    v2, v3 = await _member(store, "v2"), await _member(store, "v3")
    assert f"#{v2.id} {v2.pseudonym}" in listing
    assert listing.index(v2.pseudonym) < listing.index(v3.pseudonym)  # village 2 before 3
    assert th("Tambon working team") in listing
    assert "v2" not in listing.replace(v2.pseudonym, "")  # no chat account ids
    (refused,) = await console(engine, "v2", "/members")
    assert th("Sorry, this command is only for the tambon team.") in refused


async def test_the_team_changes_a_role_with_a_button_and_it_is_audited(
    engine: Engine, store: Store, tambon: Tambon
) -> None:
    await _people(engine, store, tambon)
    v2 = await _member(store, "v2")
    asked, changed = await console(engine, "lead", f"/role {v2.id}", "2")  # the second button
    assert v2.pseudonym in asked
    assert th("Administrator") not in asked  # the team does not give that role
    after = await _member(store, "v2")
    assert after.role is Role.TEAM
    assert (
        th("{member} is now: {role}.", member=v2.pseudonym, role=th("Tambon working team"))
        in changed
    )
    (entry,) = [e for e in await store.list_audit(tambon.id) if e.action == "member.role"]
    assert entry.detail == {"member": v2.id, "before": "villager", "after": "team"}
    assert entry.who.startswith("team ")


async def test_only_an_administrator_touches_administrators_and_one_always_stays(
    engine: Engine, store: Store, tambon: Tambon
) -> None:
    await _people(engine, store, tambon)
    boss = await _member(store, "boss")
    (refused,) = await console(engine, "lead", f"/role {boss.id}")
    assert th(OUT_OF_REACH, member=boss.pseudonym) in refused
    (refused,) = await console(engine, "lead", f"/remove {boss.id}")
    assert th(OUT_OF_REACH, member=boss.pseudonym) in refused
    # The administrator may make the team lead an administrator, but not drop the last one.
    lead = await _member(store, "lead")
    (asked,) = await console(engine, "boss", f"/role {lead.id}")
    assert th("Administrator") in asked
    _, last = await console(engine, "boss", f"/remove {boss.id}", "1")
    assert (
        th(
            "{member} is the tambon's last administrator: make someone else administrator first.",
            member=boss.pseudonym,
        )
        in last
    )
    assert (await _member(store, "boss")).removed_at is None
    _, made = await console(engine, "boss", f"/role {lead.id}", "3")  # the third: administrator
    assert (await _member(store, "lead")).role is Role.ADMIN, made
    _, gone = await console(engine, "boss", f"/remove {boss.id}", "1")  # no longer the last
    assert (await _member(store, "boss")).removed_at is not None, gone


async def test_removing_asks_first_and_keeps_what_they_filed(
    engine: Engine, store: Store, tambon: Tambon
) -> None:
    await _people(engine, store, tambon)
    await console(engine, "v3", "น้ำประปาไม่ไหลสามวันแล้ว", "1")
    v3 = await _member(store, "v3")
    asked, kept = await console(engine, "lead", f"/remove {v3.id}", "2")  # "No, keep"
    assert v3.pseudonym in asked
    assert th("Nobody was removed.") in kept
    assert (await _member(store, "v3")).removed_at is None
    _, done = await console(engine, "lead", f"/remove {v3.id}", "1")
    assert (
        th(
            "{member} is no longer a member; what they filed stays in the tambon's records.",
            member=v3.pseudonym,
        )
        in done
    )
    assert (await _member(store, "v3")).removed_at is not None
    assert len(await store.all_submissions(tambon.id)) == 1
    (gone,) = await console(engine, "v3", "/mine")
    assert "12345678" in gone  # a stranger again: asked to join
    (again,) = await console(engine, "lead", f"/remove {v3.id}")
    assert th(UNKNOWN, ref=str(v3.id), command="remove") in again


async def test_another_tambons_members_are_unknown(
    engine: Engine, store: Store, tambon: Tambon
) -> None:
    await _people(engine, store, tambon)
    other = await tambons.create_tambon(store, "600802", 2)
    await onboard(engine, store, other, "outsider", village=1, role=Role.TEAM)
    v2 = await _member(store, "v2")
    for command in ("role", "remove"):
        (answer,) = await console(engine, "outsider", f"/{command} {v2.id}")
        assert th(UNKNOWN, ref=str(v2.id), command=command) in answer
        assert v2.pseudonym not in answer
    (nonsense,) = await console(engine, "outsider", "/role หนึ่ง")
    assert th(UNKNOWN, ref="หนึ่ง", command="role") in nonsense
    assert (await _member(store, "v2")).role is Role.VILLAGER
