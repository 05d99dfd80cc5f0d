"""What is kept about one person, all of it, for them to see (``/mydata``; PDPA's right of
access): their membership, their own submissions with their words, photos (the platform's file
references), locations and status, their ballots, and the problems they said were "the same"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.base import Member, Store, Submission


@dataclass(frozen=True, slots=True)
class CastBallot:
    poll_id: int
    poll_title: str
    choices: tuple[str, ...]  # the options chosen, in the order given
    changed_at: datetime


@dataclass(frozen=True, slots=True)
class PersonalData:
    member: Member
    tambon: str
    submissions: tuple[Submission, ...]
    ballots: tuple[CastBallot, ...]
    co_reports: tuple[tuple[int, datetime], ...]  # (problem group, when)


async def personal_data(store: Store, member: Member) -> PersonalData:
    """Everything kept about ``member`` that is theirs (not what they relayed for others)."""
    tambon = await store.get_tambon(member.tambon_id)
    own = await store.list_submissions(member.tambon_id, author_id=member.id)
    ballots = []
    for ballot in await store.list_member_ballots(member.id):
        poll = await store.get_poll(ballot.poll_id)
        if poll is None:
            continue
        texts = {o.position: o.text for o in poll.options}
        ballots.append(
            CastBallot(
                poll.id,
                poll.title,
                tuple(texts.get(c, str(c)) for c in ballot.choices),
                ballot.changed_at,
            )
        )
    return PersonalData(
        member,
        tambon.name_th if tambon else "",
        tuple(s for s in own if not s.relayed),
        tuple(ballots),
        tuple(await store.list_member_co_reports(member.id)),
    )


def as_json(data: PersonalData) -> dict[str, Any]:
    """The same as a JSON-ready document (the file ``/mydata`` sends)."""
    member = data.member
    return {
        "tambon": data.tambon,
        "village": member.village_moo,
        "role": member.role.value,
        "language": member.locale,
        "consent_at": member.consent_at.isoformat() if member.consent_at else None,
        "pseudonym": member.pseudonym,
        "chat": {"channel": member.channel, "account": member.platform_user_id},
        "submissions": [
            {
                "id": s.id,
                "created_at": s.created_at.isoformat(),
                "text": s.text,
                "kind": s.kind.value,
                "categories": list(s.categories),
                "village": s.village_moo,
                "photos": [a.file_id for a in s.attachments if a.media == "photo"],
                "locations": [
                    {"latitude": a.latitude, "longitude": a.longitude}
                    for a in s.attachments
                    if a.media == "location"
                ],
                "hidden": s.hidden_at is not None,
            }
            for s in data.submissions
        ],
        "ballots": [
            {
                "poll": b.poll_id,
                "title": b.poll_title,
                "choices": list(b.choices),
                "at": b.changed_at.isoformat(),
            }
            for b in data.ballots
        ],
        "same_problem_as": [
            {"problem": group, "at": when.isoformat()} for group, when in data.co_reports
        ],
    }
