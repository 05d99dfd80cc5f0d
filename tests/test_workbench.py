"""Issue 25, first pages: the team's workbench under /team/ — signing in from chat, sessions,
CSRF, another tambon's ids, stored words shown as text; tried over HTTP from outside."""

from __future__ import annotations

import html
import io
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from bot import i18n, web
from bot.core import Engine
from bot.workbench import COOKIE, Workbench
from handlers.labels import PHASE_LABELS
from handlers.services import members, tambons, workbench
from handlers.types import Incoming
from storage.base import Kind, NewSubmission, PollMethod, Role, Store, Submission, Tambon
from tests.conftest import console, onboard, run_cli_ok, th

EVIL = '<script>alert(1)</script><img src=x onerror=alert(2)><a href="javascript:alert(3)">x</a>'


class Site:
    def __init__(self, url: str, http: aiohttp.ClientSession) -> None:
        self.url = url
        self.http = http

    async def get(self, path: str) -> tuple[int, str]:
        async with self.http.get(self.url + path, allow_redirects=True) as response:
            return response.status, await response.text()

    async def post(self, path: str, data: dict[str, Any], *, origin: bool = True) -> int:
        headers = {"Origin": self.url} if origin else {}
        async with self.http.post(
            self.url + path, data=data, headers=headers, allow_redirects=False
        ) as response:
            return response.status

    async def post_pairs(self, path: str, pairs: list[tuple[str, str]]) -> int:
        """A form with repeated fields (ticked boxes), posted from our origin."""
        form = aiohttp.FormData()
        for key, value in pairs:
            form.add_field(key, value)
        async with self.http.post(
            self.url + path, data=form, headers={"Origin": self.url}, allow_redirects=False
        ) as response:
            return response.status

    async def upload(self, path: str, csrf: str, name: str, data: bytes) -> tuple[int, str]:
        """A file sent from a page's form (multipart), from our origin."""
        form = aiohttp.FormData()
        form.add_field("csrf", csrf)
        form.add_field(
            "file", io.BytesIO(data), filename=name, content_type="application/octet-stream"
        )
        async with self.http.post(
            self.url + path, data=form, headers={"Origin": self.url}, allow_redirects=False
        ) as response:
            return response.status, await response.text()

    async def post_page(self, path: str, data: dict[str, Any]) -> tuple[int, str]:
        """A form posted from our origin, and the page answered."""
        async with self.http.post(
            self.url + path, data=data, headers={"Origin": self.url}, allow_redirects=False
        ) as response:
            return response.status, await response.text()

    async def sign_in(self, link: str) -> int:
        path = link.removeprefix(self.url)
        status, page = await self.get(path)
        assert status == 200
        assert th("Sign in") in page
        return await self.post(path, {})

    def csrf(self, page: str) -> str:
        found = re.search(r'name="csrf" value="([^"]+)"', page)
        assert found is not None
        return found[1]


@pytest.fixture
async def listener(store: Store) -> AsyncIterator[str]:
    runner = await web.serve(web.build_app(store=store, workbench=Workbench(store)), "127.0.0.1:0")
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


@pytest.fixture
async def site(listener: str) -> AsyncIterator[Site]:
    # The listener is an IP address: aiohttp keeps cookies for one only when told to.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        yield Site(listener, http)


async def web_link(engine: Engine, user: str) -> str:
    (reply,) = await engine.handle(Incoming("console", user, text="/web"))
    found = re.search(r"http://\S+", reply.text)
    assert found is not None, reply.text
    return found[0]


async def team_engine(engine: Engine, listener: str) -> Engine:
    return Engine(engine.store, engine.tagger, public_url=listener)


async def a_report_and_its_team(
    engine: Engine, store: Store, tambon: Tambon, listener: str, site: Site, text: str
) -> Submission:
    """A villager's report filed in chat, and a team member signed in to the workbench."""
    chat = await team_engine(engine, listener)
    await onboard(chat, store, tambon, "lead", role=Role.TEAM)
    await onboard(chat, store, tambon, "villager", village=3)
    await console(chat, "villager", text, "1")
    (submission,) = await store.list_submissions(tambon.id)
    await site.sign_in(await web_link(chat, "lead"))
    return submission


async def test_web_in_chat_signs_a_team_member_in_once(
    engine: Engine, store: Store, tambon: Tambon, listener: str, site: Site
) -> None:
    chat = await team_engine(engine, listener)
    await onboard(chat, store, tambon, "lead", role=Role.TEAM)
    await onboard(chat, store, tambon, "villager")
    (refused,) = await chat.handle(Incoming("console", "villager", text="/web"))
    assert refused.text == th("Sorry, this command is only for the tambon team.")
    link = await web_link(chat, "lead")
    assert await site.sign_in(link) == 303
    cookie = next(c for c in site.http.cookie_jar if c.key == COOKIE)
    assert cookie["httponly"]
    assert cookie["samesite"] == "Strict"
    assert cookie["path"] == "/team"
    status, page = await site.get("/team/")
    assert status == 200
    assert th("Today in Tambon {name}").format(name=tambon.name_th) in page
    # The link is spent: a second use (a forwarded message) signs nobody in.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as other:
        again = Site(site.url, other)
        assert await again.sign_in(link) == 403
        status, page = await again.get("/team/")
        assert status == 401
        assert th("Please sign in") in page
    # The sign-in is in the audit trail, with the web actor.
    trail = await store.list_audit(tambon.id)
    assert any(e.action == "web.signin" for e in trail)


async def test_a_link_expires_after_ten_minutes_and_a_villagers_never_works(
    store: Store, tambon: Tambon, engine: Engine
) -> None:
    await onboard(engine, store, tambon, "lead", role=Role.TEAM)
    lead = await store.get_member("console", "lead")
    assert lead is not None
    now = datetime.now(UTC)
    token = await workbench.sign_in_link(store, lead, now)
    assert await workbench.sign_in(store, token, now=now + timedelta(minutes=11)) is None
    await onboard(engine, store, tambon, "villager")
    villager = await store.get_member("console", "villager")
    assert villager is not None
    with pytest.raises(PermissionError):
        await workbench.sign_in_link(store, villager)
    # A link made while on the team, used after the role was taken: nobody is signed in.
    token = await workbench.sign_in_link(store, lead)
    await members.change_role(store, lead, Role.VILLAGER)
    assert await workbench.sign_in(store, token) is None


async def test_a_session_ends_when_the_member_leaves_the_team(
    engine: Engine, store: Store, tambon: Tambon, listener: str, site: Site
) -> None:
    chat = await team_engine(engine, listener)
    await onboard(chat, store, tambon, "lead", role=Role.TEAM)
    await site.sign_in(await web_link(chat, "lead"))
    assert (await site.get("/team/submissions"))[0] == 200
    lead = await store.get_member("console", "lead")
    assert lead is not None
    await members.change_role(store, lead, Role.VILLAGER)
    status, page = await site.get("/team/submissions")
    assert status == 401
    assert th("Please sign in") in page
    assert await store.list_web_sessions(lead.id) == []


async def test_forms_need_the_sessions_csrf_token_and_our_origin(
    engine: Engine, store: Store, tambon: Tambon, listener: str, site: Site
) -> None:
    submission = await a_report_and_its_team(
        engine, store, tambon, listener, site, "ถนนหมู่3เป็นหลุมเป็นบ่อ"
    )
    _, page = await site.get(f"/team/submissions/{submission.id}")
    token = site.csrf(page)
    hide = f"/team/submissions/{submission.id}/hide"
    assert await site.post(hide, {"reason": "ทดสอบ"}) == 403  # no token
    assert await site.post(hide, {"reason": "ทดสอบ", "csrf": "x" * 43}) == 403  # a wrong one
    assert await site.post(hide, {"reason": "ทดสอบ", "csrf": token}, origin=False) == 403
    found = await store.get_submission(submission.id)
    assert found is not None
    assert found.hidden_at is None  # nothing changed
    assert await site.post(hide, {"reason": "คำหยาบ", "csrf": token}) == 303
    found = await store.get_submission(submission.id)
    assert found is not None
    assert found.hidden_reason == "คำหยาบ"
    trail = await store.list_audit(tambon.id)
    hidden = [e for e in trail if e.action == "submission.hidden"]
    assert hidden[-1].who.startswith("web team ")
    # The same rule as chat: a reason is needed, and the polite refusal says so.
    unhide = f"/team/submissions/{submission.id}/unhide"
    assert await site.post(unhide, {"csrf": token}) == 303
    assert await site.post(hide, {"reason": "  ", "csrf": token}) == 400


async def test_tambon_bs_ids_are_not_found_from_tambon_as_session(
    engine: Engine, store: Store, tambon: Tambon, listener: str, site: Site
) -> None:
    other = await tambons.create_tambon(store, "610101", 3)
    chat = await team_engine(engine, listener)
    await onboard(chat, store, tambon, "lead", role=Role.TEAM)
    await onboard(chat, store, other, "far")
    await console(chat, "far", "น้ำประปาไม่ไหลหมู่2", "1")
    (theirs,) = await store.list_submissions(other.id)
    await site.sign_in(await web_link(chat, "lead"))
    _, page = await site.get("/team/")
    token = site.csrf(page)
    assert (await site.get(f"/team/submissions/{theirs.id}"))[0] == 404
    for action in ("hide", "unhide", "tags"):
        data = {"csrf": token, "reason": "x", "category": "water", "kind": "problem"}
        assert await site.post(f"/team/submissions/{theirs.id}/{action}", data) == 404
    status, listing = await site.get("/team/submissions?q=น้ำประปา")
    assert status == 200
    assert "น้ำประปาไม่ไหล" not in listing
    found = await store.get_submission(theirs.id)
    assert found is not None
    assert found.hidden_at is None
    assert found.categories == theirs.categories


async def test_stored_words_never_become_markup_nor_show_numbers(
    engine: Engine, store: Store, tambon: Tambon, listener: str, site: Site
) -> None:
    """What a villager typed is shown to the team on every page as text, with their phone and
    ID numbers hidden (the one redaction, as in chat and the report)."""
    from handlers.services import plan

    submission = await a_report_and_its_team(
        engine, store, tambon, listener, site, f"ถนน\u200bพัง {EVIL} โทร 081-234-5678"
    )
    assert submission.group_id is not None
    group = await store.get_group(submission.group_id)
    assert group is not None
    item = await plan.add_item(store, tambon, title=group.title, groups=[group.id], by="x")
    # The draft open for comment, a comment with markup and a phone number on the book's page.
    from handlers.services import book

    await book.open_comment(store, tambon, 3, by="x")
    villager = await store.get_member("console", "villager")
    assert villager is not None
    await book.comment(store, villager, item.id, f"{EVIL} ขุดคลอง โทร 0812345678", engine.tagger)
    poll = await store.create_poll(
        tambon.id,
        "ปัญหา 1-2345-67890-12-3",
        PollMethod.APPROVAL,
        1,
        [(group.title, group.id), ("น้ำ", None)],
    )
    await store.set_presence_code(poll.id, "424242")
    await store.set_hidden(submission.id, "ผู้แจ้งให้เบอร์ 0812345678 ไว้")
    pages = (
        "/team/",
        "/team/submissions",
        f"/team/submissions/{submission.id}",
        "/team/groups",
        "/team/plan",
        "/team/data",
        "/team/book",
        "/team/polls",
        f"/team/polls/{poll.id}/hall",
    )
    for path in pages:
        status, page = await site.get(path)
        assert status == 200, path
        assert "<script>alert" not in page, path
        assert "<img src=x" not in page, path
        assert 'href="javascript:' not in page, path
        for number in ("081-234-5678", "234-5678", "0812345678", "1-2345-67890-12-3"):
            assert number not in page, (path, number)
    _, detail = await site.get(f"/team/submissions/{submission.id}")
    assert "&lt;script&gt;" in detail
    assert th("[number hidden]") in detail


async def test_search_and_filters(
    engine: Engine, store: Store, tambon: Tambon, listener: str, site: Site
) -> None:
    chat = await team_engine(engine, listener)
    await onboard(chat, store, tambon, "lead", role=Role.TEAM)
    await onboard(chat, store, tambon, "villager", village=3)
    await console(chat, "villager", "น้ำประปาไม่ไหลมา๓วันแล้ว", "1")
    await console(chat, "villager", "ถนนหมู่3เป็นหลุมเป็นบ่อ", "1")
    await site.sign_in(await web_link(chat, "lead"))
    _, found = await site.get("/team/submissions?q=ไม่ไหล")  # Thai without spaces
    assert "น้ำประปาไม่ไหล" in found
    assert "ถนนหมู่3" not in found
    _, water = await site.get("/team/submissions?category=water")
    assert "น้ำประปาไม่ไหล" in water
    assert "ถนนหมู่3" not in water
    _, none = await site.get("/team/submissions?q=%25")  # typed as it is, not a wildcard
    assert th("No submission matches.") in none
    # Dates as a Thai office types them (Buddhist era), or in the Gregorian calendar.
    today = datetime.now(UTC).astimezone(i18n.BANGKOK).date()
    be = f"{today.year + 543}-{today:%m-%d}"
    _, both = await site.get(f"/team/submissions?since={be}&until={be}")
    assert "น้ำประปาไม่ไหล" in both
    assert "ถนนหมู่3" in both
    tomorrow = today + timedelta(days=1)
    for query in (f"since={tomorrow.isoformat()}", f"until={today - timedelta(days=1)}"):
        _, neither = await site.get(f"/team/submissions?{query}")
        assert th("No submission matches.") in neither, query


async def test_correcting_tags_goes_through_the_same_service_as_fix(
    engine: Engine, store: Store, tambon: Tambon, listener: str, site: Site
) -> None:
    submission = await a_report_and_its_team(
        engine, store, tambon, listener, site, "ถนนหมู่3เป็นหลุมเป็นบ่อ"
    )
    _, page = await site.get(f"/team/submissions/{submission.id}")
    token = site.csrf(page)
    path = f"/team/submissions/{submission.id}/tags"
    pairs = [
        ("csrf", token),
        ("category", "infrastructure"),
        ("category", "safety"),
        ("kind", "need"),
    ]
    assert await site.post_pairs(path, pairs) == 303
    found = await store.get_submission(submission.id)
    assert found is not None
    assert set(found.categories) == {"infrastructure", "safety"}
    (correction,) = await store.list_corrections(submission.id)
    assert correction.corrected_by is not None
    assert correction.corrected_by.startswith("web team ")
    assert await site.post(path, {"csrf": token, "kind": "need"}) == 400  # no category


async def test_sessions_are_listed_and_ended(
    engine: Engine, store: Store, tambon: Tambon, listener: str, site: Site
) -> None:
    chat = await team_engine(engine, listener)
    await onboard(chat, store, tambon, "lead", role=Role.TEAM)
    await site.sign_in(await web_link(chat, "lead"))
    lead = await store.get_member("console", "lead")
    assert lead is not None
    other = await workbench.sign_in(store, await workbench.sign_in_link(store, lead))
    assert other is not None
    _, page = await site.get("/team/sessions")
    assert page.count("/end") == 2
    token = site.csrf(page)
    assert await site.post(f"/team/sessions/{other.session.id}/end", {"csrf": token}) == 303
    assert await workbench.current(store, other.token) is None
    assert await site.post("/team/signout", {"csrf": token}) == 200
    assert (await site.get("/team/"))[0] == 401


async def test_the_cli_prints_a_link_for_the_first_set_up(
    engine: Engine, store: Store, tambon: Tambon, db_path: Any, listener: str, site: Site
) -> None:
    env = {
        "TAMBON_DATABASE_URL": f"sqlite:///{db_path}",
        "TAMBON_PUBLIC_URL": listener,
        "PATH": "/usr/bin:/bin",
    }
    await onboard(engine, store, tambon, "admin", role=Role.ADMIN)
    link = (await run_cli_ok(env, "web-link", "--tambon", tambon.code)).strip()
    assert link.startswith(f"{listener}/team/signin/")
    assert await site.sign_in(link) == 303
    assert (await site.get("/team/"))[0] == 200


async def signed_lead(
    engine: Engine, store: Store, tambon: Tambon, listener: str, site: Site, role: Role
) -> tuple[Engine, str]:
    """A team member (or administrator) signed in; the chat engine and the page's CSRF."""
    chat = await team_engine(engine, listener)
    await onboard(chat, store, tambon, "lead", role=Role.TEAM)
    if role is Role.ADMIN:
        lead = await store.get_member("console", "lead")
        assert lead is not None
        await members.change_role(store, lead, Role.ADMIN)
    await site.sign_in(await web_link(chat, "lead"))
    _, page = await site.get("/team/people")
    return chat, site.csrf(page)


async def test_people_roles_and_join_codes_with_the_chats_rules(
    engine: Engine, store: Store, tambon: Tambon, listener: str, site: Site
) -> None:
    chat, token = await signed_lead(engine, store, tambon, listener, site, Role.TEAM)
    await onboard(chat, store, tambon, "somchai")
    await onboard(chat, store, tambon, "boss", role=Role.ADMIN)
    somchai = await store.get_member("console", "somchai")
    boss = await store.get_member("console", "boss")
    assert somchai is not None
    assert boss is not None
    status, page = await site.get("/team/people")
    assert status == 200
    assert somchai.pseudonym in page
    assert "somchai" not in page  # the chat account is never shown
    assert (
        await site.post(f"/team/people/{somchai.id}/role", {"csrf": token, "role": "member"})
        == 303
    )
    changed = await store.get_member_by_id(somchai.id)
    assert changed is not None
    assert changed.role is Role.MEMBER
    # Only an administrator gives or takes the administrator role, as in chat.
    assert (
        await site.post(f"/team/people/{somchai.id}/role", {"csrf": token, "role": "admin"}) == 400
    )
    assert await site.post(f"/team/people/{boss.id}/role", {"csrf": token, "role": "team"}) == 400
    # Removing asks to be sure.
    assert await site.post(f"/team/people/{somchai.id}/remove", {"csrf": token}) == 400
    assert (
        await site.post(f"/team/people/{somchai.id}/remove", {"csrf": token, "sure": "yes"}) == 303
    )
    gone = await store.get_member_by_id(somchai.id)
    assert gone is not None
    assert gone.removed_at is not None
    # A join code made and withdrawn, audited with the web actor.
    before = {i.code for i in await store.list_invites(tambon.id)}
    assert await site.post("/team/codes", {"csrf": token, "role": "villager", "days": "7"}) == 303
    (code,) = {i.code for i in await store.list_invites(tambon.id)} - before
    assert await site.post(f"/team/codes/{code}/revoke", {"csrf": token}) == 303
    invite = await store.get_invite(code)
    assert invite is not None
    assert invite.revoked
    actions = {(e.action, e.who.split(" ")[0]) for e in await store.list_audit(tambon.id)}
    assert {("invite.made", "web"), ("invite.revoked", "web"), ("member.role", "web")} <= actions


async def test_the_last_administrator_keeps_the_role(
    engine: Engine, store: Store, tambon: Tambon, listener: str, site: Site
) -> None:
    chat, token = await signed_lead(engine, store, tambon, listener, site, Role.ADMIN)
    await onboard(chat, store, tambon, "deputy", role=Role.ADMIN)
    deputy = await store.get_member("console", "deputy")
    assert deputy is not None
    await members.change_role(store, deputy, Role.TEAM)  # the lead is the last administrator
    lead = await store.get_member("console", "lead")
    assert lead is not None
    # One's own row has no form; a posted one is refused like the chat's /role.
    status = await site.post(f"/team/people/{lead.id}/remove", {"csrf": token, "sure": "yes"})
    assert status == 400
    again = await store.get_member_by_id(lead.id)
    assert again is not None
    assert again.removed_at is None


async def test_another_tambons_people_codes_items_and_polls_are_not_found(
    engine: Engine, store: Store, tambon: Tambon, listener: str, site: Site
) -> None:
    from handlers.services import plan
    from storage.base import PollMethod

    chat, token = await signed_lead(engine, store, tambon, listener, site, Role.ADMIN)
    other = await tambons.create_tambon(store, "610101", 3)
    await onboard(chat, store, other, "far")
    far = await store.get_member("console", "far")
    assert far is not None
    invite = await tambons.create_invite(store, other, Role.VILLAGER)
    item = await plan.add_item(store, other, title="ถนนตำบลอื่น", by="x")
    poll = await store.create_poll(other.id, "อื่น", PollMethod.APPROVAL, 1, [("ก", None)])
    posts = [
        (f"/team/people/{far.id}/role", {"role": "team"}),
        (f"/team/people/{far.id}/remove", {"sure": "yes"}),
        (f"/team/codes/{invite.code}/revoke", {}),
        (f"/team/plan/{item.id}/status", {"status": "done"}),
        (f"/team/polls/{poll.id}/open", {}),
        (f"/team/polls/{poll.id}/paper", {"choices": "1", "count": "5"}),
    ]
    for path, data in posts:
        assert await site.post(path, {"csrf": token, **data}) == 404, path
    assert (await store.get_member_by_id(far.id)) == far
    again = await store.get_invite(invite.code)
    assert again is not None
    assert not again.revoked
    assert (await store.get_plan_item(item.id)) == item
    assert await store.list_paper_ballots(poll.id) == []


async def test_plan_status_from_the_workbench_tells_the_reporters(
    engine: Engine, store: Store, tambon: Tambon, listener: str, site: Site
) -> None:
    from handlers.services import plan

    chat, token = await signed_lead(engine, store, tambon, listener, site, Role.TEAM)
    await onboard(chat, store, tambon, "villager")
    await console(chat, "villager", "ถนนหมู่3เป็นหลุมเป็นบ่อ", "1")
    (group,) = await store.list_groups(tambon.id)
    item = await plan.add_item(store, tambon, title="ลาดยางถนนหมู่ 3", groups=[group.id], by="x")
    status, page = await site.get("/team/plan")
    assert status == 200
    assert "ลาดยางถนนหมู่ 3" in page
    path = f"/team/plan/{item.id}/status"
    assert await site.post(path, {"csrf": token, "status": "dropped"}) == 400  # needs a reason
    assert await site.post(path, {"csrf": token, "status": "done", "progress": "100"}) == 303
    done = await store.get_plan_item(item.id)
    assert done is not None
    assert done.status.value == "done"
    villager = await store.get_member("console", "villager")
    assert villager is not None
    assert await store.plan_notices_waiting(["console"])  # the reporter is told, as from chat


async def test_a_poll_run_from_the_workbench(
    engine: Engine, store: Store, tambon: Tambon, listener: str, site: Site
) -> None:
    from storage.base import PollMethod

    _, token = await signed_lead(engine, store, tambon, listener, site, Role.TEAM)
    poll = await store.create_poll(
        tambon.id, "ปัญหาสำคัญ", PollMethod.BORDA, 2, [("ถนน", None), ("น้ำ", None)]
    )
    assert await site.post(f"/team/polls/{poll.id}/open", {"csrf": token}) == 303
    paper = f"/team/polls/{poll.id}/paper"
    assert await site.post(paper, {"csrf": token, "choices": "2,1", "count": "4"}) == 303
    assert await site.post(paper, {"csrf": token, "choices": "2,2", "count": "1"}) == 400
    assert await site.post(paper, {"csrf": token, "choices": "ก", "count": "1"}) == 400
    assert await site.post(f"/team/polls/{poll.id}/close", {"csrf": token}) == 303
    assert await site.post(paper, {"csrf": token, "choices": "1", "count": "1"}) == 400
    (entered,) = await store.list_paper_ballots(poll.id)
    assert (entered.count, entered.choices) == (4, (2, 1))
    status, page = await site.get("/team/polls")
    assert status == 200
    assert th("Closed: the count is final") in page
    status, trail = await site.get("/team/audit?action=poll.paper")
    assert status == 200
    assert th("paper ballots entered") in trail


async def test_reports_download_and_a_live_link(
    engine: Engine, store: Store, tambon: Tambon, listener: str, site: Site
) -> None:
    submission = await a_report_and_its_team(
        engine, store, tambon, listener, site, "น้ำประปาไม่ไหลมา๓วันแล้ว"
    )
    status, page = await site.get("/team/reports")
    assert status == 200
    async with site.http.get(f"{site.url}/team/reports/report.pdf") as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/pdf"
        assert f'filename="{tambon.code}-report.pdf"' in response.headers["Content-Disposition"]
        assert (await response.read()).startswith(b"%PDF")
    async with site.http.get(f"{site.url}/team/reports/submissions.csv") as response:
        text = (await response.read()).decode("utf-8-sig")
        assert submission.text in text
        assert th("Village") in text.splitlines()[0]  # named for officers, as the CLI's
    assert (await site.get("/team/reports/secrets.txt"))[0] == 404
    taken = [e for e in await store.list_audit(tambon.id) if e.action == "report.taken"]
    assert [e.detail["format"] for e in taken] == ["pdf", "csv:submissions"]
    assert all(e.who.startswith("web team ") for e in taken)
    token = site.csrf(page)
    async with site.http.post(
        f"{site.url}/team/reports/link",
        data={"csrf": token},
        headers={"Origin": site.url},
    ) as response:
        shown = await response.text()
    link = re.search(r'href="(http://[^"]+/reports/[^"]+)"', shown)
    assert link is not None
    status, live = await site.get(link[1].removeprefix(site.url))
    assert status == 200
    assert "น้ำประปาไม่ไหล" in live


async def test_merging_two_groups_keeps_everyone_once_and_follows_plan_and_poll(
    engine: Engine, store: Store, tambon: Tambon, listener: str, site: Site
) -> None:
    from handlers.services import plan

    chat, token = await signed_lead(engine, store, tambon, listener, site, Role.TEAM)
    await onboard(chat, store, tambon, "a", village=3)
    await onboard(chat, store, tambon, "b", village=4)
    keep_id = await store.create_group(tambon.id, "ถนนหมู่ 3 พัง", ["ถนน"], ["infrastructure"], 3)
    gone_id = await store.create_group(tambon.id, "ถนนเป็นหลุม", ["หลุม"], ["safety"], 4)
    a = await store.get_member("console", "a")
    b = await store.get_member("console", "b")
    assert a is not None
    assert b is not None
    for group_id in (keep_id, gone_id):  # a said "same problem" of both
        await store.add_group_reporter(group_id, a.id, 3, False)
    await store.add_group_reporter(gone_id, b.id, 4, False)
    item = await plan.add_item(store, tambon, title="ซ่อมถนน", groups=[gone_id], by="x")
    poll = await store.create_poll(tambon.id, "จัดลำดับ", PollMethod.APPROVAL, 1, [("ถนน", gone_id)])
    path = f"/team/groups/{keep_id}/merge"
    assert await site.post(path, {"csrf": token, "other": str(keep_id)}) == 400  # itself
    assert await site.post(path, {"csrf": token, "other": "999999"}) == 400
    assert await site.post(path, {"csrf": token, "other": f"#{gone_id}"}) == 303
    assert await store.get_group(gone_id) is None
    kept = await store.get_group(keep_id)
    assert kept is not None
    assert kept.reporters == 2  # a once, b once
    assert set(kept.keywords) == {"ถนน", "หลุม"}
    assert set(kept.categories) == {"infrastructure", "safety"}
    assert {m.id for m in await store.plan_reporters(item.id)} == {a.id, b.id}
    reloaded = await store.get_poll(poll.id)
    assert reloaded is not None
    assert reloaded.options[0].group_id == keep_id
    rename = f"/team/groups/{keep_id}/rename"
    assert await site.post(rename, {"csrf": token, "title": "   "}) == 400
    assert await site.post(rename, {"csrf": token, "title": "ถนนสายหลักชำรุด"}) == 303
    renamed = await store.get_group(keep_id)
    assert renamed is not None
    assert renamed.title == "ถนนสายหลักชำรุด"
    status, page = await site.get("/team/groups")
    assert status == 200
    assert "ถนนสายหลักชำรุด" in page
    assert "ซ่อมถนน" in page  # which plan item the group feeds
    actions = {e.action for e in await store.list_audit(tambon.id)}
    assert {"group.merged", "group.renamed"} <= actions


async def test_review_one_or_a_selection_and_set_a_category_in_bulk(
    engine: Engine, store: Store, tambon: Tambon, listener: str, site: Site
) -> None:
    chat, token = await signed_lead(engine, store, tambon, listener, site, Role.TEAM)
    await onboard(chat, store, tambon, "villager", village=3)
    for text in ("ถนนหมู่3เป็นหลุม", "ไฟทางดับทั้งซอย", "น้ำประปาไม่ไหล"):
        await console(chat, "villager", text, "1")
    other = await tambons.create_tambon(store, "610101", 3)
    await onboard(chat, store, other, "far")
    await console(chat, "far", "ขยะเต็มซอยหมู่2", "1")
    (theirs,) = await store.list_submissions(other.id)
    road, light, water = sorted(await store.list_submissions(tambon.id), key=lambda s: s.id)
    assert await store.count_unreviewed(tambon.id) == 3
    _, today = await site.get("/team/")
    assert th("new, not reviewed yet") in today
    assert await site.post(f"/team/submissions/{road.id}/reviewed", {"csrf": token}) == 303
    assert (
        await site.post_pairs(
            "/team/submissions/bulk",
            [
                ("csrf", token),
                ("action", "category"),
                ("category", "safety"),
                ("ids", str(light.id)),
                ("ids", str(water.id)),
                ("ids", str(theirs.id)),  # another tambon's: left alone
            ],
        )
        == 303
    )
    for each in (light, water):
        changed = await store.get_submission(each.id)
        assert changed is not None
        assert list(changed.categories) == ["safety"]
    untouched = await store.get_submission(theirs.id)
    assert untouched is not None
    assert untouched.categories == theirs.categories
    assert (
        await site.post_pairs(
            "/team/submissions/bulk",
            [
                ("csrf", token),
                ("action", "reviewed"),
                ("ids", str(light.id)),
                ("ids", str(theirs.id)),
            ],
        )
        == 303
    )
    assert await store.count_unreviewed(tambon.id) == 1
    assert await store.count_unreviewed(other.id) == 1
    _, new = await site.get("/team/submissions?reviewed=no")
    assert "น้ำประปาไม่ไหล" in new
    assert "ไฟทางดับ" not in new
    assert any(e.action == "submission.reviewed" for e in await store.list_audit(tambon.id))


async def test_a_poll_from_groups_and_plan_items_from_its_result(
    engine: Engine, store: Store, tambon: Tambon, listener: str, site: Site
) -> None:
    chat, token = await signed_lead(engine, store, tambon, listener, site, Role.TEAM)
    for user, text in (
        ("a", "ถนนหมู่3เป็นหลุมเป็นบ่อ โทร 081-234-5678"),
        ("b", "น้ำประปาไม่ไหลหมู่4"),
        ("c", "ไฟทางดับทั้งซอยหมู่5"),
    ):
        await onboard(chat, store, tambon, user)
        await console(chat, user, text, "1")
    new = {"csrf": token, "title": "จัดลำดับปัญหา", "method": "borda", "top": "3", "choose": "2"}
    assert await site.post("/team/polls/new", {**new, "choose": "4"}) == 400
    assert await site.post("/team/polls/new", {**new, "top": "1"}) == 400
    assert await site.post("/team/polls/new", new) == 303
    (poll,) = await store.list_polls(tambon.id)
    assert len(poll.options) == 3
    assert all(o.group_id is not None for o in poll.options)  # each keeps its group
    assert not any("081-234-5678" in o.text for o in poll.options)  # no number on a ballot
    path = f"/team/polls/{poll.id}/plan"
    assert await site.post(path, {"csrf": token, "top": "2"}) == 400  # not closed yet
    assert await site.post(f"/team/polls/{poll.id}/open", {"csrf": token}) == 303
    await site.post(
        f"/team/polls/{poll.id}/paper", {"csrf": token, "choices": "3,1", "count": "2"}
    )
    assert await site.post(f"/team/polls/{poll.id}/close", {"csrf": token}) == 303
    assert await site.post(path, {"csrf": token, "top": "2"}) == 303
    items = await store.list_plan_items(tambon.id)
    assert len(items) == 2
    by_title = {i.title: i for i in items}
    top = next(o for o in poll.options if o.position == 3)
    assert top.text in by_title
    reporters = await store.plan_reporters(by_title[top.text].id)
    c = await store.get_member("console", "c")
    assert c is not None
    assert [m.id for m in reporters] == [c.id]
    assert await site.post(path, {"csrf": token, "top": "2"}) == 303  # again: nothing doubled
    assert len(await store.list_plan_items(tambon.id)) == 2


async def test_the_audit_trail_filtered_by_person_and_day(
    engine: Engine, store: Store, tambon: Tambon, listener: str, site: Site
) -> None:
    _, token = await signed_lead(engine, store, tambon, listener, site, Role.TEAM)
    assert await site.post("/team/codes", {"csrf": token, "role": "villager", "days": "7"}) == 303
    lead = await store.get_member("console", "lead")
    assert lead is not None
    today_be = datetime.now(UTC).astimezone(i18n.BANGKOK).year + 543

    async def rows(query: str) -> str:
        _, page = await site.get(f"/team/audit?{query}")
        return page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]

    made = th("join code made")
    assert made in await rows(f"who={lead.pseudonym}")
    assert made not in await rows("who=P-000000")
    assert made not in await rows(f"since={today_be + 1}-01-01")
    assert made in await rows(f"since={today_be}-01-01")


async def test_moving_submissions_out_of_a_group_and_into_one(
    engine: Engine, store: Store, tambon: Tambon, listener: str, site: Site
) -> None:
    _, token = await signed_lead(engine, store, tambon, listener, site, Role.TEAM)
    road = await store.create_group(tambon.id, "ถนนพัง", ["ถนน"], ["infrastructure"], 3)
    other = await tambons.create_tambon(store, "610101", 3)
    theirs = await store.create_group(other.id, "ขยะ", ["ขยะ"], ["environment"], 1)
    ids = []
    for i, text in enumerate(["ถนนหมู่3พัง", "ไฟทางดับ", "ถนนลูกรังเป็นหลุม"]):
        ids.append(
            (
                await store.add_submission(
                    NewSubmission(
                        tambon_id=tambon.id,
                        text=text,
                        kind=Kind.PROBLEM,
                        categories=["infrastructure"],
                        village_moo=3,
                        author_id=None,
                        relayed=True,
                        channel="console",
                        source_id=f"m{i}",
                        group_id=road,
                    )
                )
            )[0].id
        )
    light = ids[1]
    # The street light is another problem: a group of its own.
    assert await site.post(f"/team/submissions/{light}/group", {"csrf": token, "group": ""}) == 303
    moved = await store.get_submission(light)
    assert moved is not None
    assert moved.group_id not in (None, road)
    assert (
        await site.post(f"/team/submissions/{light}/group", {"csrf": token, "group": str(theirs)})
        == 404
    )  # another tambon's group
    # Back into the road's group, as a selection.
    assert (
        await site.post_pairs(
            "/team/submissions/bulk",
            [
                ("csrf", token),
                ("action", "group"),
                ("group", str(road)),
                ("ids", str(light)),
            ],
        )
        == 303
    )
    back = await store.get_submission(light)
    assert back is not None
    assert back.group_id == road
    assert any(e.action == "group.moved" for e in await store.list_audit(tambon.id))


async def test_join_codes_show_their_qr_codes_for_telegram_and_line(
    engine: Engine, store: Store, tambon: Tambon
) -> None:
    from bot.joinlinks import join_links
    from bot.workbench import _qr_data

    app = web.build_app(
        store=store,
        workbench=Workbench(store, bot_username="@tako_bot", line_basic_id="@123abcd"),
    )
    runner = await web.serve(app, "127.0.0.1:0")
    try:
        listener = f"http://127.0.0.1:{runner.addresses[0][1]}"
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            site = Site(listener, http)
            await signed_lead(engine, store, tambon, listener, site, Role.TEAM)
            code = await tambons.create_invite(store, tambon, Role.VILLAGER)
            _, page = await site.get("/team/people")
        links = dict(join_links(code.code, "@tako_bot", "@123abcd"))
        assert links["Telegram"] == f"https://t.me/tako_bot?start={code.code}"
        assert links["LINE"].startswith("https://line.me/R/oaMessage/%40123abcd/?%2Fstart%20")
        for link in links.values():
            assert _qr_data(link) in page  # the QR code encodes exactly this link
    finally:
        await runner.cleanup()


async def test_the_plan_as_the_p02_table_added_from_groups_and_edited_where_it_stands(
    engine: Engine, store: Store, tambon: Tambon, listener: str, site: Site
) -> None:
    chat, token = await signed_lead(engine, store, tambon, listener, site, Role.TEAM)
    await onboard(chat, store, tambon, "villager", village=2)
    await console(chat, "villager", "น้ำประปาหมู่๒ไม่ไหลมาสามวันแล้ว😢", "1")
    (group,) = await store.list_groups(tambon.id)
    other = await tambons.create_tambon(store, "610101", 3)
    await onboard(chat, store, other, "far")
    await console(chat, "far", "ไฟฟ้าดับบ่อยมาก", "1")
    (far_group,) = await store.list_groups(other.id)
    _, page = await site.get("/team/plan")
    assert f'name="group" value="{group.id}"' in page  # offered to tick
    assert f'value="{far_group.id}"' not in page
    new = {
        "csrf": token,
        "group": str(group.id),
        "title": "ขยายเขตประปาหมู่ ๒",
        "budget": "๑๕๐,๐๐๐",
        "due": "2570-03-31",
        "actor": "joint",
        "responsible": "อบต.",
    }
    # Another tambon's group, typed by number, is not found: nothing is added.
    status, page = await site.post_page("/team/plan/new", {**new, "groups": str(far_group.id)})
    assert status == 400
    assert th("There is no problem group {ref} in this tambon.", ref=far_group.id) in page
    assert 'value="ขยายเขตประปาหมู่ ๒"' in page  # what was typed is kept
    assert await store.list_plan_items(tambon.id) == []
    assert await site.post("/team/plan/new", new) == 303
    (item,) = await store.list_plan_items(tambon.id)
    assert (item.groups, item.budget, item.due, item.actor) == (
        (group.id,),
        150_000,
        "2027-03-31",
        "joint",
    )
    status, page = await site.get("/team/plan")
    assert "150,000" in page
    assert "2570-03-31" in page
    assert f'name="group" value="{group.id}"' not in page  # in the plan now
    # Edited where it stands: a bad budget changes nothing and says why.
    path = f"/team/plan/{item.id}/details"
    edit = {"csrf": token, "title": item.title, "budget": "แพงมาก", "objective": "ให้มีน้ำใช้"}
    status, page = await site.post_page(path, edit)
    assert status == 400
    assert th("A budget is an amount in baht, 0 or more.") in page
    assert await store.get_plan_item(item.id) == item
    edit.update(budget="200000", responsible="", due="2570-06-30")
    assert await site.post(path, edit) == 303
    edited = await store.get_plan_item(item.id)
    assert edited is not None
    assert (edited.objective, edited.budget, edited.responsible, edited.due) == (
        "ให้มีน้ำใช้",
        200_000,
        None,
        "2027-06-30",
    )
    trail = await store.list_audit(tambon.id)
    assert [e.detail["fields"] for e in trail if e.action == "plan.edited"] == [
        ["budget", "due", "objective", "responsible"]
    ]
    # The same form again is no change and no record.
    assert await site.post(path, edit) == 303
    assert len([e for e in await store.list_audit(tambon.id) if e.action == "plan.edited"]) == 1


async def test_a_plan_table_is_imported_after_a_preview_naming_every_bad_row(
    engine: Engine, store: Store, tambon: Tambon, listener: str, site: Site
) -> None:
    from openpyxl import load_workbook

    from handlers.services import plan

    _chat, token = await signed_lead(engine, store, tambon, listener, site, Role.TEAM)
    item = await plan.add_item(store, tambon, title="ซ่อมถนนหมู่ 3", by="x")
    before = await store.list_plan_items(tambon.id)
    bad = (
        "id,title,status,budget,due\n"
        f"{item.id},,funded,120000,\n"
        f"{item.id},,finished,,\n"
        ",ขุดบ่อบาดาล,in_plan,80000,\n"
        ",ลอกคลอง,,,31/03/2570\n"
    ).encode("utf-8-sig")
    status, page = await site.upload("/team/plan/import", token, "plan.csv", bad)
    assert status == 400
    shown = html.unescape(page)
    # Every bad row named with its reason, the good ones not.
    assert th("Row {row}: a number, a status or a date could not be read.", row=3) in shown
    due = th("A due date is written YYYY-MM-DD, for example 2027-03-31.")
    assert th("Row {row}: {reason}", row=5, reason=due) in shown
    assert th("Row {row}: {reason}", row=2, reason="")[:-1] not in shown
    assert th("Row {row}: {reason}", row=4, reason="")[:-1] not in shown
    assert 'name="rows"' not in page  # nothing to confirm
    marked = re.findall(r'<tr class="bad-row"><td>(\d+)', page)
    assert marked == ["3", "5"]  # the bad rows marked in the file's table too
    assert await store.list_plan_items(tambon.id) == before
    # The report's own workbook, edited in a spreadsheet, imports back after a preview.
    async with site.http.get(site.url + "/team/reports/report.xlsx") as response:
        assert response.status == 200
        book = load_workbook(io.BytesIO(await response.read()))
    sheet = book[th("Plan items")[:31]]
    header = [c.value for c in sheet[1]]
    sheet.cell(row=2, column=header.index(th("Budget (baht)")) + 1, value=250000)
    sheet.cell(row=2, column=header.index(th("Status")) + 1, value=th("funded"))
    edited = io.BytesIO()
    book.save(edited)
    status, page = await site.upload("/team/plan/import", token, "แผน.xlsx", edited.getvalue())
    assert status == 200, page
    assert th(
        "Plan items: {added} added, {updated} updated, {unchanged} unchanged.",
        added=0,
        updated=1,
        unchanged=0,
    ) in html.unescape(page)
    assert await store.list_plan_items(tambon.id) == before  # a preview writes nothing
    rows = re.search(r'name="rows" value="([^"]*)"', page)
    assert rows is not None
    status = await site.post(
        "/team/plan/import/confirm", {"csrf": token, "rows": html.unescape(rows[1])}
    )
    assert status == 303
    changed = await store.get_plan_item(item.id)
    assert changed is not None
    assert (changed.budget, changed.status.value) == (250_000, "funded")
    # Rows that are not rows are refused as a forged form is.
    status = await site.post("/team/plan/import/confirm", {"csrf": token, "rows": "[1, 2]"})
    assert status == 403
    # Not a plan table, junk bytes, and a 10 MB file: a polite page each, nothing written.
    after = await store.list_plan_items(tambon.id)
    for name, data in (
        ("x.csv", b"not,a,plan\n1,2,3\n"),
        ("x.xlsx", b"PK\x03\x04garbage"),
        ("x.csv", b"\xff\xfe\x00junk"),
    ):
        status, page = await site.upload("/team/plan/import", token, name, data)
        assert status == 400
        assert "Traceback" not in page
    status, page = await site.upload("/team/plan/import", token, "big.csv", b"a" * 10_000_000)
    assert status == 413
    assert th("The file is too large") in page
    assert await store.list_plan_items(tambon.id) == after


async def test_today_shows_the_phase_and_what_needs_the_team(
    engine: Engine, store: Store, tambon: Tambon, listener: str, site: Site
) -> None:
    from handlers.services import plan

    await signed_lead(engine, store, tambon, listener, site, Role.TEAM)
    year, _ = await plan.start_year(store, tambon, by="x")
    for i, categories in enumerate((["other"], ["other"], ["water"])):
        await store.add_submission(
            NewSubmission(
                tambon_id=tambon.id,
                text="มีเรื่องอยากแจ้งค่ะ",
                kind=Kind.PROBLEM,
                categories=categories,
                village_moo=1,
                author_id=None,
                relayed=True,
                channel="console",
                source_id=f"t{i}",
            )
        )
    poll = await store.create_poll(
        tambon.id, "จัดลำดับปัญหา", PollMethod.BORDA, 2, [("ประปา", None), ("ถนน", None)]
    )
    await store.set_poll_status(poll.id, "open")
    soon = datetime.now(UTC) + timedelta(minutes=1)
    (held,) = await store.outbox_add([("line", "U1", '{"text": "x"}')], lease_until=soon)
    await store.outbox_hold(held.id, "quota", datetime.now(UTC) + timedelta(days=3))
    status, page = await site.get("/team/")
    assert status == 200
    shown = html.unescape(page)
    phase = th(PHASE_LABELS[year.phase.value].msgid)
    assert th("Plan year {year}: {phase}.", year=year.year_be, phase=phase) in shown
    cards = {
        label: int(found[1])
        for label in (
            "the tagger was unsure of (filed as other)",
            "notices held until LINE's monthly allowance renews",
            "polls open",
        )
        if (
            found := re.search(
                rf"<strong>(\d+)</strong> {re.escape(html.escape(th(label)))}", page
            )
        )
    }
    assert cards == {
        "the tagger was unsure of (filed as other)": 2,
        "notices held until LINE's monthly allowance renews": 1,
        "polls open": 1,
    }
    assert f"/team/polls/{poll.id}/hall" in page


def _jpeg(colour: str) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(out, "JPEG")
    return out.getvalue()


async def test_photos_are_fetched_from_the_chat_app_they_came_by(
    store: Store, tambon: Tambon, tagger: Any
) -> None:
    """A submission's photos, shown to the team: fetched now through the real Telegram and
    LINE clients from stand-ins speaking their wire protocols (the bot keeps only file ids);
    only real images are served; a photo the app no longer keeps is a 404, not an error."""
    from bot.channels.line import LineChannel
    from bot.channels.telegram import TelegramChannel
    from storage.base import StoredAttachment
    from tests.line_standin import LineStandIn
    from tests.telegram_standin import TelegramStandIn

    telegram_standin, line_standin = TelegramStandIn("123:abc"), LineStandIn()
    await telegram_standin.start()
    await line_standin.start()
    telegram = TelegramChannel(
        Engine(store, tagger), "123:abc", base_url=telegram_standin.base_url
    )
    line = LineChannel(
        Engine(store, tagger),
        "secret",
        line_standin.access_token,
        base_url=line_standin.base_url,
        data_url=line_standin.data_url,
    )
    await line.start()
    await telegram.bot.initialize()
    road, water = _jpeg("gray"), _jpeg("blue")
    telegram_standin.files.update({"AgAC-road": road, "AgAC-html": b"<html><script>x</script>"})
    line_standin.contents["img-water"] = water
    workbench = Workbench(store, photos={"telegram": telegram.photo, "line": line.photo})
    runner = await web.serve(web.build_app(store=store, workbench=workbench), "127.0.0.1:0")
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        ids = {}
        for channel, files in (
            ("telegram", ["AgAC-road", "AgAC-gone", "AgAC-html"]),
            ("line", ["img-water"]),
            ("console", ["c1"]),
        ):
            submission, _ = await store.add_submission(
                NewSubmission(
                    tambon_id=tambon.id,
                    text="ถนนหมู่๓พังมากค่ะ📷",
                    kind=Kind.PROBLEM,
                    categories=["infrastructure"],
                    village_moo=3,
                    author_id=None,
                    relayed=True,
                    channel=channel,
                    source_id=f"{channel}-1",
                    attachments=[
                        *(StoredAttachment("photo", file_id=f) for f in files),
                        StoredAttachment("location", latitude=15.6345, longitude=100.4812),
                    ],
                )
            )
            ids[channel] = submission.id
        chat = await team_engine(Engine(store, tagger), url)
        await onboard(chat, store, tambon, "lead", role=Role.TEAM)
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            site = Site(url, http)
            await site.sign_in(await web_link(chat, "lead"))
            _, page = await site.get(f"/team/submissions/{ids['telegram']}")
            for n in (1, 2, 3):
                assert f'src="/team/submissions/{ids["telegram"]}/photos/{n}"' in page
            assert "15.63450" in page  # the place sent with it
            for channel, n, status, data in (
                ("telegram", 1, 200, road),
                ("line", 1, 200, water),
                ("telegram", 2, 404, None),  # Telegram no longer has it
                ("telegram", 3, 404, None),  # not an image: never served as one
                ("telegram", 4, 404, None),
                ("console", 1, 404, None),  # no chat app to fetch it from
            ):
                async with http.get(f"{url}/team/submissions/{ids[channel]}/photos/{n}") as r:
                    assert r.status == status, (channel, n)
                    if data is not None:
                        assert r.content_type == "image/jpeg"
                        assert r.headers["X-Content-Type-Options"] == "nosniff"
                        assert await r.read() == data
            _, console_page = await site.get(f"/team/submissions/{ids['console']}")
            assert 'src="/team/submissions/' not in console_page
            kept = th(
                "{count} photos, kept by the chat app; they are shown here when the bot runs "
                "with that app."
            )
            assert kept.format(count=1) in html.unescape(console_page)
        # Another tambon's team gets 404 for the photo too.
        other = await tambons.create_tambon(store, "610101", 3)
        await onboard(chat, store, other, "far-lead", role=Role.TEAM)
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            site = Site(url, http)
            await site.sign_in(await web_link(chat, "far-lead"))
            async with http.get(f"{url}/team/submissions/{ids['telegram']}/photos/1") as r:
                assert r.status == 404
    finally:
        await runner.cleanup()
        await line.stop()
        await telegram.bot.shutdown()
        await telegram_standin.stop()
        await line_standin.stop()


async def test_villages_data_imported_after_a_preview_and_the_silent_needs_shown(
    engine: Engine, store: Store, tambon: Tambon, listener: str, site: Site
) -> None:
    """The Villages' data page: a file previewed (every bad row named, nothing written), then
    imported; its silent needs and a resource added one at a time; templates to download;
    a forged confirmation refused."""
    from openpyxl import load_workbook

    _chat, token = await signed_lead(engine, store, tambon, listener, site, Role.TEAM)
    status, page = await site.get("/team/data")
    assert status == 200
    assert th("No village data yet: import the villages' plans, their facts or the survey's "
              "indicators below.") in html.unescape(page)  # fmt: skip
    water = "ครัวเรือนมีน้ำสะอาดสำหรับดื่มและบริโภคเพียงพอตลอดปี"
    bad = (
        "หมู่,ปี,ตัวชี้วัด,ครัวเรือนที่สำรวจ,ไม่ผ่านเกณฑ์\n"
        f"2,2569,{water},200,90\n"
        f"หมู่ 9,2569,{water},200,90\n"  # row 3: no village 9
        f"3,2569,{water},20,25\n"  # row 4: more below than surveyed
    ).encode("utf-8-sig")
    form = aiohttp.FormData()
    form.add_field("csrf", token)
    form.add_field("kind", "data")
    form.add_field("file", io.BytesIO(bad), filename="jpt.csv", content_type="text/csv")
    async with site.http.post(
        site.url + "/team/data/import", data=form, headers={"Origin": site.url}
    ) as response:
        status, page = response.status, await response.text()
    assert status == 400
    shown = html.unescape(page)
    assert th("Row {row}: a village or a number could not be read.", row=3) in shown
    assert re.findall(r'<tr class="bad-row"><td>(\d+)', page) == ["3", "4"]
    assert 'name="tables"' not in page
    assert await store.list_indicator_results(tambon.id) == []

    good = (
        "หมู่,ครัวเรือน,ประชากร\n2,200,700\n".encode("utf-8-sig"),
        f"หมู่,ปี,ตัวชี้วัด,ครัวเรือนที่สำรวจ,ไม่ผ่านเกณฑ์\n2,2569,{water},200,90\n".encode(),
    )
    for data in good:
        form = aiohttp.FormData()
        form.add_field("csrf", token)
        form.add_field("kind", "data")
        form.add_field("file", io.BytesIO(data), filename="d.csv", content_type="text/csv")
        async with site.http.post(
            site.url + "/team/data/import", data=form, headers={"Origin": site.url}
        ) as response:
            status, page = response.status, await response.text()
        assert status == 200, page
        tables = re.search(r'name="tables" value="([^"]*)"', page)
        assert tables is not None
        assert await store.list_village_facts(tambon.id) == [] or data is good[1]  # a preview
        status = await site.post(
            "/team/data/import/confirm", {"csrf": token, "tables": html.unescape(tables[1])}
        )
        assert status == 303
    assert [f.households for f in await store.list_village_facts(tambon.id)] == [200]
    status, page = await site.get("/team/data")
    silent = html.unescape(page).split('id="silent"')[1].split("</table>")[0]
    assert th("Water sources") in silent
    assert "45%" in silent

    # A forged confirmation (a column the kind does not have) changes nothing.
    forged = '[{"kind": "facts", "columns": ["village", "phone"], "rows": []}]'
    assert await site.post("/team/data/import/confirm", {"csrf": token, "tables": forged}) == 403

    # A resource one at a time: a phone number refused with the form kept, a role accepted.
    status, page = await site.post_page(
        "/team/data/resources",
        {"csrf": token, "kind": "fund", "name": "กองทุนหมู่บ้าน", "village": "2",
         "contact_role": "โทร ๐๘๑-๒๓๔-๕๖๗๘"},
    )  # fmt: skip
    assert status == 400
    assert th(
        "A contact is a role (such as chair of the savings group), not a phone number."
    ) in html.unescape(page)
    assert 'value="กองทุนหมู่บ้าน"' in page
    status = await site.post(
        "/team/data/resources",
        {"csrf": token, "kind": "fund", "name": "กองทุนหมู่บ้าน", "village": "2",
         "contact_role": "ประธานกองทุน"},
    )  # fmt: skip
    assert status == 303
    (resource,) = await store.list_resources(tambon.id)
    assert (resource.moo, resource.contact_role) == (2, "ประธานกองทุน")

    async with site.http.get(site.url + "/team/data/template/data.xlsx") as response:
        assert response.status == 200
        book = load_workbook(io.BytesIO(await response.read()))
    assert [c.value for c in book.worksheets[0][1]][:2] == [th("Village"), th("Households")]
    async with site.http.get(site.url + "/team/data/template/nothing.xlsx") as response:
        assert response.status == 404


async def test_the_plan_book_page_from_direction_to_approval(
    engine: Engine, store: Store, tambon: Tambon, listener: str, site: Site
) -> None:
    """Step 4 at the desk: the direction and its strategies, a project put under one, the
    comments opened (a bad number of days refused) and closed, the approval recorded with a
    Buddhist-era date, the book and its table downloaded; another tambon's item not found."""
    from handlers.services import plan

    _chat, token = await signed_lead(engine, store, tambon, listener, site, Role.TEAM)
    item = await plan.add_item(store, tambon, title="ขุดลอกคลองส่งน้ำ", by="x", budget=90_000)
    status = await site.post(
        "/team/book/direction",
        {
            "csrf": token,
            "identity": "ตำบลเกษตรปลอดภัย",
            "vision": "ท่าตะโกน่าอยู่",
            "mission": "",
            "strategies": "พัฒนาแหล่งน้ำ\r\nส่งเสริมอาชีพ\r\n\r\n",
        },
    )
    assert status == 303
    year = await plan.this_plan_year(store, tambon.id)
    direction = await store.get_direction(tambon.id, year)
    assert direction is not None
    assert [s.title for s in direction.strategies] == ["พัฒนาแหล่งน้ำ", "ส่งเสริมอาชีพ"]
    assert direction.mission is None
    status = await site.post(
        f"/team/book/items/{item.id}/strategy", {"csrf": token, "strategy": "2"}
    )
    assert status == 303
    moved = await store.get_plan_item(item.id)
    assert moved is not None
    assert moved.strategy_id == direction.strategies[1].id

    # A registered resource named as a source of the project; another tambon's refused.
    from handlers.services import villages

    fund, _ = await villages.add_resource(
        store, tambon, {"kind": "fund", "name": "กองทุนหมู่บ้าน", "village": "1"}, by="x"
    )
    other_tambon = await tambons.create_tambon(store, "610102", 2)
    elsewhere, _ = await villages.add_resource(
        store, other_tambon, {"kind": "fund", "name": "กองทุนตำบลอื่น"}, by="x"
    )
    status = await site.post(
        f"/team/book/items/{item.id}/resource", {"csrf": token, "resource": str(fund.id)}
    )
    assert status == 303
    status, page = await site.post_page(
        f"/team/book/items/{item.id}/resource", {"csrf": token, "resource": str(elsewhere.id)}
    )
    assert status == 400
    assert th("There is no resource {ref} in this tambon.", ref=elsewhere.id) in html.unescape(
        page
    )
    named = await store.get_plan_item(item.id)
    assert named is not None
    assert named.resource_id == fund.id

    status, page = await site.post_page("/team/book/comment/open", {"csrf": token, "days": "0"})
    assert status == 400
    assert th("Comments stay open from 1 to {limit} days.", limit=60) in html.unescape(page)
    assert await store.get_comment_window(tambon.id, year) is None
    assert await site.post("/team/book/comment/open", {"csrf": token, "days": "3"}) == 303
    status, page = await site.get("/team/book")
    assert status == 200
    assert th("Close the comments now") in html.unescape(page)
    assert await site.post("/team/book/comment/close", {"csrf": token}) == 303
    window = await store.get_comment_window(tambon.id, year)
    assert window is not None
    assert window.closed_at is not None

    # A poll of those present that did not approve: refused, nothing recorded.
    poll = await store.create_poll(
        tambon.id, "เห็นชอบร่างแผน", PollMethod.APPROVAL, 1, [("เห็นชอบ", None), ("ไม่", None)]
    )
    await store.set_poll_status(poll.id, "open")
    await store.set_poll_status(poll.id, "closed")
    status, page = await site.post_page(
        "/team/book/approve", {"csrf": token, "date": "2570-02-15", "poll": str(poll.id)}
    )
    assert status == 400
    assert f'<option value="{poll.id}" selected>' in page
    assert await store.get_approval(tambon.id, year) is None
    status, page = await site.post_page(
        "/team/book/approve", {"csrf": token, "date": "2570-02-15", "present": "สิบ"}
    )
    assert status == 400
    assert 'value="2570-02-15"' in page  # what was typed is kept
    status = await site.post(
        "/team/book/approve",
        {"csrf": token, "date": "2570-02-15", "present": "๖๔", "place": "ศาลาวัด", "changes": ""},
    )
    assert status == 303
    approval = await store.get_approval(tambon.id, year)
    assert approval is not None
    assert (approval.decided_on, approval.present, approval.result) == (
        "2027-02-15",
        64,
        "approved",
    )

    async with site.http.get(site.url + "/team/book/plan-book.pdf") as response:
        assert response.status == 200
        assert (await response.read()).startswith(b"%PDF-")
    async with site.http.get(site.url + "/team/book/plan-form.xlsx") as response:
        assert response.status == 200
        assert (await response.read()).startswith(b"PK")
    other = await tambons.create_tambon(store, "610101", 2)
    foreign = await plan.add_item(store, other, title="x", by="x")
    status = await site.post(
        f"/team/book/items/{foreign.id}/strategy", {"csrf": token, "strategy": "1"}
    )
    assert status == 404
