"""Tambon administration shared by the CLI and the console: tambons, join codes, exports."""

from __future__ import annotations

import csv
import json
import secrets
import tomllib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any, TextIO

from handlers.services import audit, gazetteer
from handlers.services.members import invite_problem
from handlers.services.privacy import spreadsheet_safe
from storage.base import DuplicateTambon, Invite, Role, Store, Submission, Tambon

JOIN_CODE_DIGITS = 8
EXPORT_COLUMNS = (
    "id",
    "created_at",
    "village",
    "kind",
    "categories",
    "text",
    "channel",
    "relayed",
    "origin",  # chat, relay or village_plan (Submission.origin)
)


async def create_tambon(
    store: Store,
    code: str,
    villages: int | Sequence[str | None],
    *,
    name: str | None = None,
    amphoe: str | None = None,
    province: str | None = None,
) -> Tambon:
    """Register a tambon; names not given come from the gazetteer (UnknownTambon if absent)."""
    if not gazetteer.valid_code(code):
        raise gazetteer.UnknownTambon(code)
    if await store.get_tambon_by_code(code) is not None:
        raise DuplicateTambon(code)
    place: gazetteer.Place | None
    try:
        place = gazetteer.lookup(code)
    except gazetteer.UnknownTambon:
        if not (name and amphoe and province):
            raise
        place = None
    names: list[str | None] = [None] * villages if isinstance(villages, int) else list(villages)
    return await store.create_tambon(
        code=code,
        name_th=name or (place.name_th if place else ""),
        amphoe_th=amphoe or (place.amphoe_th if place else ""),
        province_th=province or (place.province_th if place else ""),
        villages=[(i + 1, village) for i, village in enumerate(names)],
        name_en=place.name_en if place else None,
        amphoe_en=place.amphoe_en if place else None,
        province_en=place.province_en if place else None,
    )


# How long a join code lasts unless told otherwise, by the role it gives: villagers' codes
# last a planning season; codes that open the team's commands are short-lived, since a code
# shown on a slide at a hearing can be photographed.
INVITE_DAYS = {Role.VILLAGER: 90, Role.MEMBER: 30, Role.TEAM: 7, Role.ADMIN: 2}
MAX_INVITE_DAYS = 366


class InviteRefused(ValueError):
    """Days or uses out of range."""


async def create_invite(
    store: Store,
    tambon: Tambon,
    role: Role,
    *,
    days: int | None = None,
    uses: int | None = None,
    by: str | None = None,
) -> Invite:
    """A fresh join code: digits only, easy to type on any phone keyboard. It lasts ``days``
    (default: ``INVITE_DAYS`` for the role) and lets ``uses`` people join (default: any)."""
    days = INVITE_DAYS[role] if days is None else days
    if not 1 <= days <= MAX_INVITE_DAYS:
        raise InviteRefused(f"days must be 1 to {MAX_INVITE_DAYS}")
    if uses is not None and uses < 1:
        raise InviteRefused("uses must be at least 1")
    expires = datetime.now(UTC) + timedelta(days=days)
    while True:
        code = "".join(secrets.choice("0123456789") for _ in range(JOIN_CODE_DIGITS))
        if await store.get_invite(code) is None:
            async with store.transaction():
                made = await store.create_invite(tambon.id, role, code, expires, uses)
                if by is not None:
                    await audit.record(
                        store,
                        tambon.id,
                        by,
                        audit.INVITE_MADE,
                        code=code,
                        role=role.value,
                        days=days,
                        uses=uses,
                    )
            return made


async def revoke_invite(store: Store, code: str, *, by: str | None = None) -> bool:
    """Withdraw a join code; False when there is none such or it was withdrawn already."""
    async with store.transaction():
        invite = await store.get_invite(code)
        if invite is None or not await store.revoke_invite(code):
            return False
        if by is not None:
            await audit.record(store, invite.tambon_id, by, audit.INVITE_REVOKED, code=code)
    return True


def _sample() -> dict[str, Any]:
    return tomllib.loads(resources.files("bot").joinpath("sample.toml").read_text("utf-8"))


def sample_village_names() -> dict[int, str]:
    """The sample tambon's village names by number (the labelled tagging set uses them)."""
    return {moo: name for moo, name in enumerate(_sample()["villages"], start=1)}


@dataclass(frozen=True)
class Sample:
    tambon: Tambon
    invite: Invite
    created: bool


async def sample_invite(store: Store, tambon: Tambon, role: Role) -> Invite:
    """A join code of ``role`` for the sample tambon that still works, made when none does."""
    for invite in await store.list_invites(tambon.id):
        if invite.role is role and invite_problem(invite) is None:
            return invite
    return await create_invite(store, tambon, role)


async def ensure_sample_tambon(store: Store) -> Sample | None:
    """Create the sample tambon when the store holds none; None when others exist."""
    tambons = await store.list_tambons()
    sample = _sample()
    if tambons:
        for tambon in tambons:
            if tambon.code == sample["code"]:
                invite = await sample_invite(store, tambon, Role.VILLAGER)
                return Sample(tambon, invite, created=False)
        return None
    tambon = await create_tambon(store, sample["code"], sample["villages"])
    invite = await create_invite(store, tambon, Role.VILLAGER)
    return Sample(tambon, invite, created=True)


def submission_row(submission: Submission) -> dict[str, object]:
    """One export row; carries no platform user ids."""
    return {
        "id": submission.id,
        "created_at": submission.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "village": submission.village_moo if submission.village_moo is not None else "",
        "kind": submission.kind.value,
        "categories": "|".join(submission.categories),
        "text": submission.text,
        "channel": submission.channel,
        "relayed": int(submission.relayed),
        "origin": submission.origin,
    }


async def export_submissions(rows: AsyncIterator[Submission], out: TextIO, fmt: str) -> int:
    """Write submissions as CSV (with a header) or JSON lines; returns how many."""
    count = 0
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
        writer.writeheader()
        async for submission in rows:
            row = submission_row(submission)
            # Meant for Excel: nothing typed may run as a formula there.
            writer.writerow({key: spreadsheet_safe(value) for key, value in row.items()})
            count += 1
    elif fmt == "jsonl":
        async for submission in rows:
            out.write(json.dumps(submission_row(submission), ensure_ascii=False) + "\n")
            count += 1
    else:
        raise ValueError(f"unknown format {fmt!r}")
    return count
