"""The workbench's pages: the villages' data beside the voices, their imports and resources."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from bot import i18n
from bot.listener import MAX_BODY_BYTES
from bot.workbench.core import (
    CHOOSE_FILE,
    PATH,
    PREVIEW_ROWS,
    REPORT_TYPES,
    SECURITY_HEADERS,
    WorkbenchCore,
    _actor,
    _field,
    _whole,
)
from handlers.services import Refused
from handlers.services import villages as village_service
from handlers.types import T, Tagger
from storage.base import (
    Member,
    ResourceKind,
    WebSession,
)

# The imports the Villages' data page offers, and the tables each file may hold.
DATA_KINDS = {
    "plans": ("plans",),
    "data": ("indicators", "facts"),
    "resources": ("resources",),
}
TABLE_TITLES = {
    "plans": T("Village plans"),
    "facts": T("Village facts"),
    "indicators": T("Indicator results"),
    "resources": T("Resources"),
}
# The templates: their sheets, in this order.
TEMPLATE_KINDS = {
    "plans": ("plans",),
    "data": ("facts", "indicators"),
    "resources": ("resources",),
}


def _data_tables(tables: object) -> bool:
    """A confirmed import's tables as the preview sent them: a list of kinds, known columns
    and rows of text (anything else is a forged form)."""
    if not isinstance(tables, list) or not tables:
        return False
    for table in tables:
        if not isinstance(table, dict) or table.get("kind") not in village_service.COLUMNS:
            return False
        known = village_service.COLUMNS[table["kind"]]
        columns, rows = table.get("columns"), table.get("rows")
        if not isinstance(columns, list) or not all(c in known for c in columns):
            return False
        if not isinstance(rows, list) or not all(
            isinstance(r, dict) and all(k in known and isinstance(v, str) for k, v in r.items())
            for r in rows
        ):
            return False
    return True


class DataPages(WorkbenchCore):
    """The villages' data beside the voices, their imports and resources."""

    @property
    def tagger(self) -> Tagger:
        if self._tagger is None:
            from bot.nlp.tagger import KeywordTagger, packaged_model

            self._tagger = KeywordTagger(model=packaged_model())
        return self._tagger

    async def data(
        self,
        request: web.Request,
        session: WebSession,
        member: Member,
        *,
        problem: str | None = None,
        typed: dict[str, str] | None = None,
    ) -> web.Response:
        """Voices beside the villages' data: the silent needs, the voices without data, each
        village's figures; the imports (after a preview) and the resources."""
        tambon = await self.tambon_of(member)
        found = await village_service.analyse(self.store, tambon, self.need_rule)
        done = {k: _whole(request.query.get(k)) for k in ("added", "updated", "unchanged")}
        return self.page(
            request,
            "data.html.j2",
            status=400 if problem else 200,
            member=member,
            session=session,
            data=found,
            villages=await self.store.list_villages(tambon.id),
            facts=await self.store.list_village_facts(tambon.id),
            kinds=[k.value for k in ResourceKind],
            known=village_service.indicator_list(),
            problem=problem,
            typed=typed or {},
            imported=done if None not in done.values() else None,
            max_upload=MAX_BODY_BYTES // (1024 * 1024),
        )

    async def data_template(
        self, request: web.Request, session: WebSession, member: Member
    ) -> web.StreamResponse:
        """A workbook to fill in, headers in the reader's language."""
        from bot.datatables import template

        name = request.match_info["kind"].removesuffix(".xlsx")
        kinds = TEMPLATE_KINDS.get(name)
        if kinds is None:
            raise web.HTTPNotFound()
        body = template(kinds, self.locale(request, member))
        return web.Response(
            body=body,
            content_type=REPORT_TYPES["xlsx"],
            headers={
                **SECURITY_HEADERS,
                "Content-Disposition": f'attachment; filename="villages-{name}.xlsx"',
            },
        )

    async def data_import(
        self, request: web.Request, session: WebSession, member: Member
    ) -> web.StreamResponse:
        """A file's tables tried in a transaction rolled back: what each would add, and every
        bad row, before anything is written."""
        from bot.datatables import read_tables

        form = await request.post()
        kinds = DATA_KINDS.get(_field(form, "kind") or "")
        upload = form.get("file")
        if kinds is None or not isinstance(upload, web.FileField) or not upload.filename:
            raise Refused(CHOOSE_FILE)
        found = read_tables(upload.file.read(), upload.filename, kinds)
        tables = [{"kind": t.kind, "columns": list(t.columns), "rows": t.rows} for t in found]
        return await self._data_preview(request, session, member, tables, upload.filename)

    async def _import_tables(
        self, member: Member, tables: list[dict[str, Any]], *, preview: bool
    ) -> list[village_service.DataImported]:
        tambon = await self.tambon_of(member)
        by = _actor(member)
        done = []
        # Written together, all or none; a preview rolls each table back itself (a savepoint).
        async with self.store.transaction():
            for table in tables:
                rows, columns = table["rows"], table["columns"]
                if table["kind"] == "plans":
                    done.append(
                        await village_service.import_village_plans(
                            self.store, tambon, rows, tagger=self.tagger, by=by, preview=preview
                        )
                    )
                elif table["kind"] == "resources":
                    done.append(
                        await village_service.import_resources(
                            self.store, tambon, rows, by=by, preview=preview
                        )
                    )
                else:
                    done.append(
                        await village_service.import_village_data(
                            self.store, tambon, rows, columns, by=by, preview=preview
                        )
                    )
        return done

    async def _data_preview(
        self,
        request: web.Request,
        session: WebSession,
        member: Member,
        tables: list[dict[str, Any]],
        name: str,
    ) -> web.Response:
        import json

        done = await self._import_tables(member, tables, preview=True)
        locale = self.locale(request, member)
        problems = [p for d in done for p in d.problems]
        return self.page(
            request,
            "data_import.html.j2",
            status=400 if problems else 200,
            member=member,
            session=session,
            name=name,
            tables=[
                {
                    **table,
                    "rows": table["rows"][:PREVIEW_ROWS],
                    "more": max(0, len(table["rows"]) - PREVIEW_ROWS),
                    "done": outcome,
                    "bad": {p.params.get("row") for p in outcome.problems},
                    "title": i18n.render(TABLE_TITLES[table["kind"]], locale),
                }
                for table, outcome in zip(tables, done, strict=True)
            ],
            problems=[i18n.render(p, locale) for p in problems],
            payload=json.dumps(tables, ensure_ascii=False),
        )

    async def data_import_confirm(
        self, request: web.Request, session: WebSession, member: Member
    ) -> web.StreamResponse:
        """The previewed tables written together, all or none (tried again: the data may have
        changed since the preview)."""
        import json

        form = await request.post()
        try:
            tables = json.loads(_field(form, "tables") or "")
        except ValueError:
            tables = None
        if not _data_tables(tables):
            return self._refused(request)
        try:
            done = await self._import_tables(member, tables, preview=False)
        except village_service.DataImportRefused:
            return await self._data_preview(
                request, session, member, tables, _field(form, "name") or "data"
            )
        counts = {
            "added": sum(d.added for d in done),
            "updated": sum(d.updated for d in done),
            "unchanged": sum(d.unchanged for d in done),
        }
        raise web.HTTPSeeOther(f"{PATH}/data?{urlencode(counts)}")

    async def add_resource(
        self, request: web.Request, session: WebSession, member: Member
    ) -> web.StreamResponse:
        tambon = await self.tambon_of(member)
        form = await request.post()
        fields = {c: _field(form, c) or "" for c in village_service.RESOURCE_COLUMNS}
        resource, _ = await village_service.add_resource(
            self.store, tambon, fields, by=_actor(member)
        )
        raise web.HTTPSeeOther(f"{PATH}/data#resource-{resource.id}")
