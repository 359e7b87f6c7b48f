"""Borrowing Requests (Alma: Fulfillment > Resource Sharing > Borrowing Requests), seed 004 and
SPEC section B.

Resource sharing asks partner libraries, one after another (the *rota*), to lend an item to
one of our patrons. This screen is the borrowing desk's queue:

- **Requests**: every request, newest first, narrowed by status: status, patron, title, the
  current partner, pickup desk, since when (and how many days) in its status, the temporary
  item's barcode, active general messages (:func:`libdesk.borrowing.list_requests`).
- **Daily / Weekly / Monthly check**: the states the seed recommends looking at, each with its
  count and its requests oldest first, and the action each state needs on the row: Send,
  Dismiss, Complete (route to Request Completed), Receive, Scan in, Clean up…
  (:func:`libdesk.borrowing.checks`).
- **Not returned properly**: the monthly report (B8): completed requests whose item is stuck
  in Transit, on Loan or as a Resource Sharing Request, with what to do; ctrl+s exports it
  (:func:`libdesk.exporting.export_rows`).

Enter on a request opens its actions: exactly those its status allows (the engine's list),
the state's recommended one first. Partners cannot reach a desk workstation, so what a
partner did (shipped, rejected, let it expire, checked the item in, sent a general message) is
recorded here by staff, under "Record for the partner"; the history marks it as the
partner's. Every action is one engine call; its words go in the result line, a refusal in red
(nothing changed). Active general messages are the header's task count (B6): it is refreshed
after every action. ctrl+t opens :class:`BorrowingDetailScreen`: the rota and current
partner, messages and notes (Dismiss), and the audit trail.

Lists are read in a thread worker (STYLE.md section 5); one request's actions and its detail
are a few indexed queries, so they run in the handler.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar

from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import (
    DataTable,
    Select,
    Static,
    TabbedContent,
    TabPane,
)
from textual.worker import Worker, get_current_worker

from libdesk import borrowing, config, exporting
from libdesk.core import Result
from libdesk.db import Database
from libdesk.errors import LibdeskError
from screens.base import DeskCommand
from screens.borrowing_actions import RequestActionsScreen
from screens.borrowing_detail import BorrowingDetailScreen
from screens.borrowing_menu import CLEANUP, DETAILS, REPORT, check_action_option
from screens.borrowing_new_request import NewRequestDialog, NewRequestForm
from screens.item_dialogs import (
    PromptDialog,
)
from screens.widgets import DeskTable, DeskFooter, DeskHeader
from screens.widgets.result_line import ResultLine


LIST_LIMIT = 500
"""Requests the Requests view reads (newest first); the count says when there are more."""

VIEWS: dict[str, str] = {
    "requests": "Requests",
    "daily": "Daily check",
    "weekly": "Weekly check",
    "monthly": "Monthly check",
    "report": "Not returned properly",
}
"""The views (tab id -> tab label), in the order of the tabs."""
CHECK_VIEWS = ("daily", "weekly", "monthly")

LIST_WIDTHS = {"id": 7, "status_name": 19, "patron": 6, "title": 17, "partner": 8, "pickup": 8, "since": 10,
               "days": 4, "item_barcode": 8, "active_messages": 8}
"""The Requests columns are exactly ``borrowing.LIST_COLUMNS`` (and the export's), in its order."""

CHECK_WIDTHS = {"id": 7, "text": 34, "action": 16, "patron": 6, "partner": 9, "since": 10, "days": 4}
"""A check view's columns are exactly ``borrowing.CHECK_COLUMNS``; each state is a heading row."""

REPORT_WIDTHS = {"process": 24, "id": 7, "patron": 6, "title": 20, "lender": 8, "barcode": 9, "where": 36,
                 "completed": 10, "cleanup": 60}
"""The report's columns are exactly ``borrowing.REPORT_COLUMNS`` (and the export's)."""

cell_text = borrowing.cell_text
"""A value as a cell shows it, and as the export writes it (the engine's rule)."""


@dataclass(frozen=True)
class RowContext:
    """What a highlighted row means for the actions: which request, the recommended action."""

    request_id: int | None
    """None on a check's heading row."""
    first: str | None = None
    """The menu entry the row's state needs (a check's action), offered first."""
    hint: str = ""
    """The state's advice, or the row's detail (a message's text, where a stuck item is)."""
    extra: tuple[str, ...] = ()
    """Menu entries only this view adds (the monthly check's Report)."""
    section: dict[str, Any] | None = None
    """The check section the row is in (heading rows too)."""


class BorrowingScreen(RequestActionsScreen):
    """Borrowing Requests: the requests by status, the daily/weekly/monthly checks, the report."""

    @dataclass
    class Loaded(Message, bubble=False):
        """A view was read (posted by the load worker)."""

        generation: int
        view: str
        data: dict[str, Any]
        """``{"rows": ...}`` for Requests; ``borrowing.checks(...)``; ``borrowing.stuck_report(...)``."""
        tasks: int | None
        error: str | None = None

    @dataclass
    class Exported(Message, bubble=False):
        """An export ended (``error`` when it failed)."""

        message: str
        error: bool = False


    TITLE = "Borrowing Requests"
    AUTO_FOCUS = "#requests-table"
    SUPPORTS: ClassVar[frozenset[str]] = frozenset({"refresh"})
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("delete", "row_action('cancel')", "Cancel request", show=False, id="borrowing-cancel"),
        Binding("ctrl+n", "new_request", "New borrowing request", show=False, id="borrowing-new"),
        Binding("ctrl+t", "row_action('details')", "Details & audit trail", show=False, id="borrowing-details"),
        Binding("ctrl+s", "export", "Export", show=False, id="borrowing-export"),
    ]
    HELP = """\
Resource-sharing **borrowing requests**: what partner libraries lend our patrons. The tabs
(←→ on the tabs, Tab moves between tabs, filter and list):

- **Requests**: every request, newest first; narrow by status.
- **Daily check**: Active Notes, Active General Messages, Ready to be Sent, Returned Item to
  Patron, Locate Failed, Locate in Process, Waiting for Cancel Response.
- **Weekly check**: Shipped Physically, Request Sent to Partner, Returned Item to Partner.
- **Monthly check**: Request Completed, and those whose item was not returned properly.
- **Not returned properly**: that report, by the process the item is stuck in (Transit,
  Loan, Resource Sharing Request), with the clean-up; **ctrl+s** exports it.

Each state shows its count and its requests oldest first, with the action it needs. **Enter**
on a request opens its actions (that one first): only what its status allows. What a
*partner* did (shipped, rejected, expired, checked in, wrote) is recorded here for them.
**Del** cancels (by the patron or by staff), **ctrl+n** makes a new request, **ctrl+t** opens
the request's rota, messages and audit trail. The header's *Tasks* counts active general
messages from lenders: read them, act for the patron, then Dismiss.
"""

    def __init__(self, db: Database) -> None:
        super().__init__(id="borrowing")
        self.db = db
        """The database the engine works on."""
        self.data: dict[str, dict[str, Any]] = {}
        """What each view last read (view -> data)."""
        self.rows: dict[str, dict[str, RowContext]] = {view: {} for view in VIEWS}
        """Each table's rows by key, with what they mean for the actions."""
        self._generation = 0
        self._exporting = False
        self._select_key: str | None = None

    def compose(self) -> ComposeResult:
        yield DeskHeader()
        with Vertical(id="borrowing-body"):
            with TabbedContent(id="borrowing-tabs", initial="requests"):
                with TabPane(VIEWS["requests"], id="requests"):
                    yield Select([(borrowing.WITH_MESSAGES_NAME, borrowing.WITH_MESSAGES)]
                                 + [(name, code) for code, name in borrowing.STATUS_NAMES.items()],
                                 prompt="Any status", id="borrowing-status", compact=True)
                    yield DeskTable(id="requests-table", flex=("title",), cursor_type="row", zebra_stripes=True,
                                    classes="borrowing-table")
                for view in (*CHECK_VIEWS, "report"):
                    with TabPane(VIEWS[view], id=view):
                        yield DeskTable(id=f"{view}-table", flex=("title", "text"), cursor_type="row", zebra_stripes=True,
                                        classes="borrowing-table")
            yield Static("", id="borrowing-summary", markup=False)
            yield Static("", id="borrowing-hint", markup=False)
            yield ResultLine(id="borrowing-result")
            yield Static("Enter actions · Del Cancel · ctrl+n New · ctrl+t Details · ctrl+s Export · Tab",
                         classes="list-keys")
        yield DeskFooter()

    def on_mount(self) -> None:
        requests_table = self.table("requests")
        for key, header in borrowing.LIST_COLUMNS:
            requests_table.add_column(header, key=key, width=LIST_WIDTHS.get(key))
        for view in CHECK_VIEWS:
            table = self.table(view)
            for key, header in borrowing.CHECK_COLUMNS:
                table.add_column(header, key=key, width=CHECK_WIDTHS.get(key))
        report = self.table("report")
        for key, header in borrowing.REPORT_COLUMNS:
            report.add_column(header, key=key, width=REPORT_WIDTHS.get(key))
        self.update_task_count()

    def on_screen_resume(self) -> None:
        # Back from a pop-up, the detail or another screen: requests may have moved on.
        self.reload()

    # -- views -------------------------------------------------------------------------------
    @property
    def view(self) -> str:
        """The view shown: a key of :data:`VIEWS`."""
        return self.query_one(TabbedContent).active or "requests"

    def show_view(self, view: str) -> None:
        """Switch to ``view`` (its list is read again) and put the focus on its list."""
        tabs = self.query_one(TabbedContent)
        if tabs.active != view:
            tabs.active = view
        else:
            self.reload()
        self.table(view).focus()

    def show_report(self) -> None:
        self.show_view("report")

    @on(TabbedContent.TabActivated, "#borrowing-tabs")
    def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        event.stop()
        self.reload()

    @on(Select.Changed, "#borrowing-status")
    def _status_chosen(self, event: Select.Changed) -> None:
        event.stop()
        self.reload()

    @property
    def status_filter(self) -> str | None:
        """The status the Requests view is narrowed to (None: every status)."""
        value = self.query_one("#borrowing-status", Select).value
        return value if isinstance(value, str) else None

    # -- loading -----------------------------------------------------------------------------
    def refresh_list(self) -> None:
        """F5: read the view again."""
        self.reload()

    def action_finished(self) -> None:
        self.reload()

    def reload(self) -> None:
        """Read the view shown again (the cursor stays on its row)."""
        if not self.is_mounted:
            return
        self._generation += 1
        self._load(self._generation, self.view, self.status_filter)

    @work(thread=True, exclusive=True, group="borrowing-load", exit_on_error=False,
          description="Borrowing Requests: a view")
    def _load(self, generation: int, view: str, status: str | None) -> None:
        try:
            if view in CHECK_VIEWS:
                data = borrowing.checks(self.db, view)
            elif view == "report":
                data = borrowing.stuck_report(self.db)
            else:
                messages = status == borrowing.WITH_MESSAGES
                data = {"rows": borrowing.list_requests(self.db, None if messages else status, limit=LIST_LIMIT,
                                                        with_messages=messages), "status": status}
            tasks = borrowing.task_count(self.db)
        except LibdeskError as exc:
            self.post_message(self.Loaded(generation, view, {}, None, exc.message))
            return
        if not get_current_worker().is_cancelled:
            self.post_message(self.Loaded(generation, view, data, tasks))

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        if message.generation != self._generation:
            return
        if message.error:
            self.result_line.error(message.error)
            return
        view = message.view
        self.data[view] = message.data
        table = self.table(view)
        keep, row_index = self.highlighted_key(table), table.cursor_row
        table.clear()
        self.rows[view] = {}
        if view in CHECK_VIEWS:
            self._fill_check(view, message.data)
        elif view == "report":
            self._fill_report(message.data)
        else:
            self._fill_requests(message.data["rows"])
        if self._select_key is not None and view == "requests":
            keep, self._select_key = self._select_key, None
        self.move_to_key(table, keep, default=row_index)
        if message.tasks is not None:
            self.libdesk_app.task_count = message.tasks
        self._show_summary()
        self._show_hint()

    def _fill_requests(self, rows: list[dict[str, Any]]) -> None:
        table = self.table("requests")
        for row in rows:
            key = str(row["id"])
            cells = []
            for col, _ in borrowing.LIST_COLUMNS:
                cell = Text(cell_text(col, row.get(col)))
                if col in ("id", "days", "active_messages"):
                    cell.justify = "right"
                if col == "active_messages":
                    cell = Text(str(row[col]) if row[col] else "", justify="right")
                    if row[col]:
                        cell.stylize(self.theme_style("text-warning", bold=True))
                cells.append(cell)
            table.add_row(*cells, key=key)
            self.rows["requests"][key] = RowContext(row["id"])

    def _fill_check(self, view: str, data: dict[str, Any]) -> None:
        table = self.table(view)
        heading = self.theme_style("text-accent", bold=True)
        muted = Style(dim=True)  # $text-muted is "auto 60%", which Rich cannot parse
        for section in data["sections"]:
            info = {k: v for k, v in section.items() if k != "rows"}
            action = section["action_label"]
            key = f"sec:{section['key']}"
            style = heading if section["count"] else muted
            table.add_row(Text(""), Text(f"{section['label']} ({section['count']})", style=style),
                          Text(action if section["count"] else "", style=style), Text(""), Text(""), Text(""),
                          Text(""), key=key)
            self.rows[view][key] = RowContext(None, hint=f"{section['label']}: {action} — {section['hint']}",
                                              section=info)
            extra = (REPORT,) if section["action"] == "report" else ()
            for row in section["rows"]:
                first = check_action_option(section, row.get("message_id"))
                if row["kind"] == borrowing.MESSAGE_ROW:
                    key = f"msg:{row['message_id']}"
                    text = row["text"]
                    hint = f"Request {row['id']} ({row['status_name']}), {row['title']}: {row['text']}"
                elif row["kind"] == borrowing.STUCK_ROW:
                    key = f"stuck:{row['id']}"
                    text = row["title"]
                    hint = f"{row['process']}: {row['barcode'] or 'no item'} {row['where']} — {row['cleanup']}"
                    if not row["barcode"]:
                        first = None
                else:
                    key = f"{section['key']}:{row['id']}"
                    text = row["title"]
                    hint = f"{section['label']}: {action} — {section['hint']}"
                since = row.get("since") or row.get("completed")
                days = row.get("days")
                table.add_row(Text(str(row["id"]), justify="right"), Text(text),
                              Text(f"▸ {action}" if first or section["action"] == "contact lender" else ""),
                              Text(row.get("patron") or ""), Text(row.get("partner") or row.get("lender") or ""),
                              Text(cell_text("since", since)), Text("" if days is None else str(days), justify="right"),
                              key=key)
                self.rows[view][key] = RowContext(row["id"], first=first, hint=hint, extra=extra, section=info)

    def _fill_report(self, data: dict[str, Any]) -> None:
        table = self.table("report")
        for row in data["rows"]:
            key = str(row["id"])
            cells = [Text(cell_text(col, row.get(col)), justify="right" if col == "id" else "left")
                     for col, _ in borrowing.REPORT_COLUMNS]
            table.add_row(*cells, key=key)
            first = CLEANUP if row["barcode"] and row["where"] != "never received" else None
            self.rows["report"][key] = RowContext(
                row["id"], first=first, hint=f"{row['process']} · {row['where']} — {row['cleanup']}")

    def _show_summary(self) -> None:
        view = self.view
        data = self.data.get(view)
        if data is None:
            text = "Reading…"
        elif view in CHECK_VIEWS:
            todo = sum(s["count"] for s in data["sections"])
            states = sum(1 for s in data["sections"] if s["count"])
            text = (f"{VIEWS[view]}: {todo} to look at ({states} of {len(data['sections'])} states), oldest first "
                    f"· Tasks {data['task_count']}")
        elif view == "report":
            counts = " · ".join(f"{group} {n}" for group, n in data["counts"].items())
            text = f"Completed, item not returned properly: {data['total']} ({counts}) · ctrl+s exports"
        else:
            rows = data["rows"]
            status = data.get("status")
            which = ("With active general messages: " if status == borrowing.WITH_MESSAGES
                     else f"{borrowing.status_name(status)}: " if status else "All requests: ")
            more = f" (the newest {LIST_LIMIT})" if len(rows) >= LIST_LIMIT else ""
            text = f"{which}{len(rows):,}{more}, newest first"
        self.query_one("#borrowing-summary", Static).update(text)

    @on(DataTable.RowHighlighted)
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_hint()

    def _show_hint(self) -> None:
        context = self.highlighted
        self.query_one("#borrowing-hint", Static).update(context.hint if context else "")

    def worker_failed(self, worker: Worker[Any]) -> None:
        if worker.group == "borrowing-export":
            self._exporting = False

    # -- row actions -------------------------------------------------------------------------
    @on(DataTable.RowSelected, ".borrowing-table")
    def _row_chosen(self, event: DataTable.RowSelected) -> None:
        event.stop()
        context = self.highlighted
        if context is None:
            return
        if context.request_id is None:  # a state's heading row
            section = context.section or {}
            if section.get("action") == "report":
                self.show_report()
            elif section.get("count"):
                event.data_table.action_cursor_down()
            return
        self.open_actions(context.request_id, first=context.first, hint=context.hint, extra=context.extra)

    def action_row_action(self, name: str) -> None:
        """A row action on the highlighted request (Del: cancel, ctrl+t: details)."""
        context = self.highlighted
        if context is None or context.request_id is None:
            self.result_line.error("No request highlighted: pick a request's row")
            return
        b = self.call_engine(borrowing.show, self.db, context.request_id)
        if b is not None:
            self.do_request_action(name, b)

    def action_new_request(self) -> None:
        """ctrl+n: a new borrowing request (a refusal is said in the pop-up, which stays)."""
        place = self.libdesk_app.place
        form = NewRequestForm(pickup=place.code) if place is not None and place.is_desk else None
        self.app.push_screen(NewRequestDialog(self.db.institution, self._create, form), self._created)

    def _create(self, form: NewRequestForm) -> Result:
        """The engine call of the New request pop-up (it shows a refusal itself)."""
        app = self.libdesk_app
        return borrowing.new_request(
            self.db, form.patron, form.title, pickup=form.pickup or "", operator=app.operator,
            author=form.author, identifier=form.identifier, partners=form.partner_list, note=form.note,
            at=app.currently_at)

    def _created(self, result: Result | None) -> None:
        if result is None:
            return
        self.show_result(result)
        self.update_task_count()
        if self.view == "requests":
            self._select_key = str(result.extra["borrowing"]["id"])  # the cursor goes to the new request
        self.reload()

    # -- export ------------------------------------------------------------------------------
    def action_export(self) -> None:
        """ctrl+s: the view shown (the report, a check, the requests) to a CSV or XLSX file."""
        if self._exporting:
            self.result_line.error("Wait: the last export is still running")
            return
        view = self.view
        data = self.data.get(view)
        if data is None:
            self.result_line.error("Wait: the list is still being read")
            return
        columns, rows = borrowing.export_table(view, data)
        name = {"report": "not-returned-properly", "requests": "borrowing-requests"}.get(view, f"borrowing-{view}")
        default = config.export_dir() / f"{name}-{self.libdesk_app.clock():%Y-%m-%d}.xlsx"
        self.app.push_screen(PromptDialog(
            f"Export {VIEWS[view]}", "File (.xlsx or .csv)", str(default),
            note=f"{len(rows):,} rows: exactly the list's columns, as shown now.", id="export-prompt"),
            partial(self.export_to, columns, rows))

    def export_to(self, columns: list[tuple[str, str]], rows: list[dict[str, Any]], path: str | None) -> None:
        """Write the rows (as shown when the pop-up opened) to ``path``, in a worker."""
        if not path:
            return
        self._exporting = True
        self.result_line.show(f"Exporting {len(rows):,} rows…", "info")
        self._export(path, columns, rows)

    @work(thread=True, exclusive=True, group="borrowing-export", exit_on_error=False,
          description="Borrowing Requests: export")
    def _export(self, path: str, columns: list[tuple[str, str]], rows: list[dict[str, Any]]) -> None:
        try:
            written = exporting.export_rows(path, columns, rows)
        except LibdeskError as exc:
            self.post_message(self.Exported(f"Export failed: {exc.message}", error=True))
            return
        self.post_message(self.Exported(f"Exported {written['rows']:,} rows to {written['path']}"))

    @on(Exported)
    def _exported(self, message: Exported) -> None:
        self._exporting = False
        if message.error:
            self.result_line.error(message.message)
        else:
            self.result_line.ok(message.message)

    def desk_commands(self) -> Iterable[DeskCommand]:
        for view, label in VIEWS.items():
            yield DeskCommand(f"Borrowing: {label}", "Show this view of the borrowing requests",
                              partial(self.show_view, view))
        yield DeskCommand("New borrowing request", "For a patron: citation, pickup desk, partners (ctrl+n)",
                          self.action_new_request)
        yield DeskCommand("Actions of the highlighted borrowing request", "What its status allows (Enter)",
                          self._open_highlighted)
        yield DeskCommand("Cancel the highlighted borrowing request", "By the patron or by staff (Del)",
                          partial(self.action_row_action, "cancel"))
        yield DeskCommand("Details and audit trail of the highlighted borrowing request",
                          "Rota, current partner, messages, notes, history (ctrl+t)",
                          partial(self.action_row_action, DETAILS))
        yield DeskCommand("Export this borrowing view", "To a CSV or XLSX file, as shown (ctrl+s)",
                          self.action_export)

    def _open_highlighted(self) -> None:
        context = self.highlighted
        if context is not None and context.request_id is not None:
            self.open_actions(context.request_id, first=context.first, hint=context.hint, extra=context.extra)

    # -- accessors ---------------------------------------------------------------------------
    @property
    def highlighted(self) -> RowContext | None:
        """What the highlighted row of the view shown means (None: an empty list)."""
        view = self.view
        key = self.highlighted_key(self.table(view))
        return self.rows[view].get(key) if key is not None else None

    def table(self, view: str) -> DataTable[Text]:
        """The list of ``view``."""
        return self.query_one(f"#{view}-table", DataTable)


__all__ = ["BorrowingDetailScreen", "BorrowingScreen", "RowContext"]
