"""What the SQL backends share: every query of the :class:`~storage.base.Store` contract.

Statements are written once, with ``?`` placeholders and portable SQL; a backend supplies the
connection, transactions, migrations and the few fragments that differ between dialects
(:class:`storage.sqlite.SQLiteStore`, :class:`storage.postgres.PostgresStore`). Timestamps are
ISO 8601 text in UTC in both, so that the same rows read the same everywhere.
"""

from __future__ import annotations

from storage.sql.book import BookQueries
from storage.sql.delivery import DeliveryQueries
from storage.sql.members import MemberQueries
from storage.sql.plan import PlanQueries
from storage.sql.polls import PollQueries
from storage.sql.reports import ReportQueries
from storage.sql.submissions import SubmissionQueries
from storage.sql.tambons import TambonQueries
from storage.sql.villages import VillageQueries
from storage.sql.web import WebQueries


class SQLStore(
    TambonQueries,
    MemberQueries,
    SubmissionQueries,
    PollQueries,
    DeliveryQueries,
    ReportQueries,
    PlanQueries,
    WebQueries,
    VillageQueries,
    BookQueries,
):
    """The queries of :class:`storage.base.Store`; subclasses bring the database."""
