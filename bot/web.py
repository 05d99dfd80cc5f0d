"""The one HTTP listener (``TAMBON_LISTEN``): platform webhooks, report links and ``/healthz``."""

from __future__ import annotations

import hmac
import html
import json
import logging
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.listener import MAX_BODY_BYTES, BodyTooSlow, Guard, read_body

if TYPE_CHECKING:
    from bot.channels.line import LineChannel
    from bot.channels.telegram import TelegramChannel
    from bot.workbench import Workbench
    from handlers.services.villages import NeedRule
    from storage.base import Store

TELEGRAM_PATH = "/telegram/webhook"
LINE_PATH = "/line/webhook"
HEALTH_PATH = "/healthz"
GUARD = web.AppKey("guard", Guard)

log = logging.getLogger(__name__)


def build_app(
    *,
    telegram: TelegramChannel | None = None,
    telegram_secret: str | None = None,
    line: LineChannel | None = None,
    store: Store | None = None,
    locale: str = "th",
    workbench: Workbench | None = None,
    need_rule: NeedRule | None = None,
) -> web.Application:
    """The aiohttp application with a route per configured channel, report links and the
    team's workbench (``/team/``)."""
    guard = Guard()
    app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[guard.middleware])
    app[GUARD] = guard
    if store is not None:
        _add_report_routes(app, store, locale, need_rule)
    if workbench is not None:
        workbench.add_routes(app)

    channels = [c for c in (telegram, line) if c is not None]

    def ready() -> bool:
        return all(channel.ready for channel in channels)

    async def health(request: web.Request) -> web.Response:
        if not ready():
            return web.json_response({"status": "starting"}, status=503)
        return web.json_response({"status": "ok"})

    app.router.add_get(HEALTH_PATH, health)

    def not_ready() -> web.Response:
        # Before the channels are up (just after a restart): the platform tries again later.
        return web.Response(status=503, text="starting", headers={"Retry-After": "5"})

    if telegram is not None:
        if not telegram_secret:
            raise ValueError("a Telegram webhook needs TELEGRAM_WEBHOOK_SECRET")
        secret = telegram_secret.encode()

        async def telegram_webhook(request: web.Request) -> web.Response:
            given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "").encode()
            if not hmac.compare_digest(given, secret):
                log.warning("Telegram webhook call with a wrong secret from %s", request.remote)
                return web.Response(status=403, text="forbidden")
            try:
                data = parse_json(await read_body(request))
            except BodyTooSlow:
                return web.Response(status=408, text="too slow")
            if data is None:
                return web.Response(status=400, text="malformed JSON")
            if not telegram.ready:
                return not_ready()
            try:
                kept = await telegram.process_webhook(data)
            except Exception:
                # Not kept: a non-2xx answer makes Telegram deliver the update again.
                log.exception("a Telegram update could not be kept")
                return web.Response(status=503, text="try again")
            if not kept:
                return web.Response(status=400, text="not an update")
            return web.Response(text="ok")

        app.router.add_post(TELEGRAM_PATH, telegram_webhook)

    if line is not None:
        from bot.channels.line import BadSignature

        async def line_webhook(request: web.Request) -> web.Response:
            signature = request.headers.get("X-Line-Signature", "")
            try:
                body = await read_body(request)
            except BodyTooSlow:
                return web.Response(status=408, text="too slow")
            if not signature:
                return web.Response(status=400, text="missing signature")
            if not line.ready:
                return not_ready()
            try:
                # Kept in the inbox before we answer; handled right after.
                await line.accept(body, signature)
            except BadSignature:
                log.warning("LINE webhook call with a bad signature from %s", request.remote)
                return web.Response(status=400, text="bad signature")
            except ValueError:
                return web.Response(status=400, text="malformed body")
            except Exception:
                log.exception("LINE events could not be kept")
                return web.Response(status=503, text="try again")
            return web.Response(text="ok")

        app.router.add_post(LINE_PATH, line_webhook)
    return app


def parse_json(body: bytes) -> Any:
    """A request body as JSON; None when it is not UTF-8 JSON (or nested too deep to read)."""
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None


def _add_report_routes(
    app: web.Application, store: Store, locale: str, need_rule: NeedRule | None = None
) -> None:
    """``/reports/TOKEN`` (the live report), ``.../report.pdf`` and ``.../chart.png``."""
    from bot import i18n, reportfiles
    from handlers.services import reportlinks
    from handlers.types import T, Text

    by_name = {name: kind for kind, (name, _) in reportlinks.KINDS.items()}
    media_of = {kind: media.split(";")[0] for kind, (_, media) in reportlinks.KINDS.items()}
    headers = {
        # Links carry a secret: no caching by proxies, no referrer to other sites, no indexing.
        "Cache-Control": "private, no-store",
        "Referrer-Policy": "no-referrer",
        "X-Robots-Tag": "noindex",
        "X-Content-Type-Options": "nosniff",
        # The report has no scripts and carries its font and chart inside: even if something
        # people typed slipped through escaping, a browser would run nothing and load nothing.
        "Content-Security-Policy": (
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:"
        ),
    }

    def _page(status: int, message: Text) -> web.Response:
        """A short page in the default language, Thai and English, for a link that fails."""
        texts = [i18n.render(message, loc) for loc in dict.fromkeys((locale, "th", "en"))]
        body = "".join(f"<p>{html.escape(t)}</p>" for t in texts)
        head = '<!DOCTYPE html><html><head><meta charset="utf-8"></head>'
        page = f"{head}<body>{body}</body></html>"
        return web.Response(
            status=status, text=page, content_type="text/html", charset="utf-8", headers=headers
        )

    async def serve_report(request: web.Request) -> web.Response:
        kind = by_name.get(request.match_info.get("name", "report.html"))
        link = await reportlinks.valid_link(store, request.match_info["token"])
        if kind is None or link is None:
            return _page(
                404,
                T(
                    "This report link does not exist or has expired. Please send /report in the "
                    "chat for a new one."
                ),
            )
        if request.method == "HEAD":
            # A HEAD (a link preview, a checker) learns the link works; nothing is made or
            # recorded for it.
            return web.Response(headers=headers, content_type=media_of[kind])
        try:
            rendered = await reportfiles.render(store, link, kind, need_rule)
        except Exception:
            log.exception("could not make the %s file of a report link", kind)
            return _page(
                503,
                T("Sorry, this report could not be made just now. Please try again in a while."),
            )
        await reportlinks.opened(store, link, kind)
        media_type, _, charset = rendered.media_type.partition("; charset=")
        extra = {}
        if kind == "pdf":
            extra["Content-Disposition"] = f'inline; filename="{rendered.filename}"'
        return web.Response(
            body=rendered.data,
            content_type=media_type,
            charset=charset or None,
            headers={**headers, **extra},
        )

    app.router.add_get(f"{reportlinks.PATH}/{{token}}", serve_report)
    app.router.add_get(f"{reportlinks.PATH}/{{token}}/{{name}}", serve_report)


def parse_listen(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port)


class _GuardedRunner(web.AppRunner):
    """An AppRunner whose sites take their connections through the app's :class:`Guard`
    (bot/listener.py: header timeouts, a cap on waiting connections per address)."""

    @property
    def server(self) -> Any:
        inner = super().server
        guard = self.app.get(GUARD)
        return inner if inner is None or guard is None else guard.protocol(inner)


async def serve(app: web.Application, listen: str) -> web.AppRunner:
    """Start listening; the caller cleans the runner up."""
    # An idle keep-alive connection is closed by the guard's clock; aiohttp's own is a backstop.
    runner = _GuardedRunner(app, access_log=None, keepalive_timeout=75)
    await runner.setup()
    host, port = parse_listen(listen)
    await web.TCPSite(runner, host, port).start()
    return runner
