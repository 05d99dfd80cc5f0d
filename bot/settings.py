"""Settings: one table of (name, default, help), read from the environment or a ``.env`` file.

The README lists every setting; a test keeps the two in step.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dotenv import dotenv_values

from handlers.services.limits import Limits
from handlers.services.villages import NeedRule
from handlers.types import THAI_DIGITS


@dataclass(frozen=True, slots=True)
class Setting:
    name: str
    default: str | None
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "TAMBON_DATABASE_URL",
        "sqlite:///data/tambon.db",
        "sqlite:///path/to.db (relative) or sqlite:////abs/path.db",
    ),
    Setting(
        "TAMBON_LOCALE", "th", "default language for people who have not chosen one: th or en"
    ),
    Setting(
        "TAMBON_MODEL_PATH",
        "data/tagger-model.json",
        "the classifier written by `tambon-bot train`; without it the packaged one is used",
    ),
    Setting("TAMBON_LISTEN", "127.0.0.1:8080", "host:port of the HTTP listener for webhooks"),
    Setting(
        "TAMBON_WEB_IDLE_MINUTES",
        "120",
        "minutes a workbench session may sit unused before it ends",
    ),
    Setting(
        "TAMBON_WEB_SESSION_HOURS", "12", "hours a workbench session lasts at most, used or not"
    ),
    Setting(
        "TAMBON_PUBLIC_URL",
        None,
        "public https:// address of the HTTP listener, for report links (LINE needs one); "
        "unset: the address of TELEGRAM_WEBHOOK_URL, else no links",
    ),
    Setting("TELEGRAM_BOT_TOKEN", None, "enables the Telegram channel"),
    Setting(
        "TELEGRAM_API_BASE_URL", None, "Bot API base URL, for a local Bot API server or a test"
    ),
    Setting("TELEGRAM_WEBHOOK_URL", None, "public URL for webhook mode instead of polling"),
    Setting("TELEGRAM_WEBHOOK_SECRET", None, "secret token Telegram sends with each webhook call"),
    Setting("TELEGRAM_BOT_USERNAME", None, "the bot's @username, for deep links in invites"),
    Setting(
        "TELEGRAM_MESSAGES_PER_SECOND",
        "30",
        "messages a second the bot sends at most, in all (Telegram's limit for a bot)",
    ),
    Setting("LINE_CHANNEL_SECRET", None, "enables the LINE channel (with the access token)"),
    Setting("LINE_CHANNEL_ACCESS_TOKEN", None, "enables the LINE channel (with the secret)"),
    Setting("LINE_API_BASE_URL", None, "Messaging API base URL, for a test stand-in"),
    Setting(
        "LINE_DATA_API_BASE_URL",
        None,
        "the Messaging API's data host (rich menu images), for a test stand-in",
    ),
    Setting(
        "LINE_BOT_BASIC_ID", None, "the LINE Official Account's basic id (@xxxx), for invites"
    ),
    Setting(
        "TAMBON_LIMIT_MESSAGES_PER_MINUTE",
        "30",
        "messages one person may send a minute; more are not read (a minute's pause)",
    ),
    Setting(
        "TAMBON_LIMIT_SUBMISSIONS_PER_HOUR",
        "20",
        "problems a villager or organisation member may file an hour (then half an hour's pause)",
    ),
    Setting(
        "TAMBON_LIMIT_WRONG_JOIN_CODES",
        "5",
        "wrong join codes within 15 minutes before /start pauses for 15 minutes",
    ),
    Setting(
        "TAMBON_SILENT_NEED_PERCENT",
        "20",
        "a silent need: at least this percent of a village's households below the survey's "
        "standard on a category's indicator ...",
    ),
    Setting(
        "TAMBON_SILENT_NEED_REPORTS",
        "2",
        "... and fewer reports by people than this in that village and category",
    ),
    Setting(
        "TAMBON_LIMIT_WRONG_HALL_CODES",
        "5",
        "wrong hall codes within an hour before /here pauses for an hour",
    ),
)

LIMIT_MAX = 10_000


class SettingError(ValueError):
    """A setting whose value cannot be used; the message names it."""

    def __init__(self, name: str, value: str) -> None:
        super().__init__(f"{name}={value!r}")
        self.name = name
        self.value = value


@dataclass(frozen=True)
class Settings:
    values: Mapping[str, str | None]

    @classmethod
    def load(
        cls, environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")
    ) -> Settings:
        """The environment wins over ``.env``, which wins over the defaults."""
        environ = os.environ if environ is None else environ
        from_file = dotenv_values(env_file) if env_file is not None and env_file.exists() else {}
        values: dict[str, str | None] = {}
        for setting in SETTINGS:
            value = environ.get(setting.name) or from_file.get(setting.name) or setting.default
            values[setting.name] = value
        return cls(values)

    def get(self, name: str) -> str | None:
        return self.values[name]

    @property
    def database_url(self) -> str:
        return self.values["TAMBON_DATABASE_URL"] or "sqlite:///data/tambon.db"

    @property
    def locale(self) -> str:
        value = (self.values["TAMBON_LOCALE"] or "th").lower()
        return value if value in ("th", "en") else "th"

    @property
    def telegram_enabled(self) -> bool:
        return bool(self.values["TELEGRAM_BOT_TOKEN"])

    @property
    def line_enabled(self) -> bool:
        return bool(
            self.values["LINE_CHANNEL_SECRET"] and self.values["LINE_CHANNEL_ACCESS_TOKEN"]
        )

    @property
    def public_url(self) -> str | None:
        """Where people reach the listener from outside, for report links; None: no links."""
        from urllib.parse import urlsplit

        value = self.values["TAMBON_PUBLIC_URL"]
        if value:
            return value.rstrip("/")
        webhook = self.values["TELEGRAM_WEBHOOK_URL"]
        if webhook:
            parts = urlsplit(webhook)
            return f"{parts.scheme}://{parts.netloc}"
        return None

    def count(self, name: str) -> int:
        """A whole-number setting from 1 to :data:`LIMIT_MAX` (Thai digits read too)."""
        raw = (self.values[name] or "").strip()
        value = raw.translate(THAI_DIGITS)
        if not value.isascii() or not value.isdecimal() or not 1 <= int(value) <= LIMIT_MAX:
            raise SettingError(name, raw)
        return int(value)

    @property
    def limits(self) -> Limits:
        """The limits per person (``TAMBON_LIMIT_*``); a value that is not a whole number from
        1 to 10,000 raises :class:`SettingError`."""
        return Limits.allowing(
            messages=self.count("TAMBON_LIMIT_MESSAGES_PER_MINUTE"),
            submissions=self.count("TAMBON_LIMIT_SUBMISSIONS_PER_HOUR"),
            join_codes=self.count("TAMBON_LIMIT_WRONG_JOIN_CODES"),
            hall_codes=self.count("TAMBON_LIMIT_WRONG_HALL_CODES"),
        )

    @property
    def need_rule(self) -> NeedRule:
        """When the data shows a need nobody reported (``TAMBON_SILENT_NEED_*``): a percent
        from 1 to 100 and a count of reports; SettingError otherwise."""
        percent = self.count("TAMBON_SILENT_NEED_PERCENT")
        if percent > 100:
            raise SettingError("TAMBON_SILENT_NEED_PERCENT", str(percent))
        return NeedRule(share=percent / 100, reports=self.count("TAMBON_SILENT_NEED_REPORTS"))

    @property
    def files_dir(self) -> Path:
        """Where the console saves the files the bot sends (charts, reports): by the database."""
        from storage import sqlite_path

        path = sqlite_path(self.database_url) if self.database_url.startswith("sqlite") else None
        base = path.parent if isinstance(path, Path) else Path("data")
        return base / "reports"
