"""A list read a page at a time: :class:`PagedListScreen` (In Process, Monitor).

A list that may be long (a department's 100,000 items, every request of the library) is read
by keyset pages (STYLE.md section 6): the first page with the total, a further page when the
cursor, or the mouse wheel, comes near the last loaded row; a refresh re-reads as many rows as
were loaded (up to :data:`MAX_RELOAD`) and keeps the highlight on the same row. Reads run in a
thread worker and post plain data back; an answer to an older question (the filters changed
meanwhile) is dropped by its generation number.

A screen says what to read and how to show it:

- :meth:`PagedListScreen.page_query`: what is asked now (filters; None: no list here);
- :meth:`PagedListScreen.fetch_page`: one engine read (in the worker thread), as a :class:`Page`;
- :meth:`PagedListScreen.row_key` and :meth:`PagedListScreen.row_cells`: a row in the table;
- :meth:`PagedListScreen.page_shown`: after each page (the count line, the facets).

The table is the screen's ``table`` (``PAGED_TABLE``, its id), ``rows`` the loaded rows by key,
``total`` what the query matches, ``next_after`` where the next page starts (None: all loaded).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.message import Message
from textual.widgets import DataTable
from textual.worker import Worker, get_current_worker

from libdesk.errors import LibdeskError
from screens.list_base import ListScreen

PAGE = 200
"""Rows read at a time (STYLE.md section 6: a page of 200-500 rows in a DataTable)."""
MAX_RELOAD = 1000
"""A refresh re-reads at most this many rows (the pages already seen, up to this)."""
MORE_AHEAD = 20
"""The next page is read when the cursor comes this close to the last loaded row."""


@dataclass(frozen=True)
class Page:
    """One read of a paged list."""

    rows: list[dict[str, Any]]
    total: int | None
    """Everything the query matches (None: not counted, a further page keeps the total)."""
    next_after: Any
    """The keyset to read the next page from (None: that was the last)."""
    extra: Any = None
    """What else the read gave (Monitor: the facet counts of a first page)."""


class PagedListScreen(ListScreen):
    """A list screen whose table is read by keyset pages in a worker."""

    @dataclass
    class PageLoaded(Message, bubble=False):
        """A page of the list was read (posted by the load worker)."""

        generation: int
        """Which load: an older one's rows are dropped."""
        page: Page
        append: bool
        """A further page (added below) rather than the first (replacing the table)."""
        error: str | None = None

    PAGED_TABLE: ClassVar[str] = ""
    """The id of the paged table."""

    LOAD_GROUP: ClassVar[str] = ""
    """The load worker's group (one load at a time: a newer one cancels the older)."""

    LOAD_DESCRIPTION: ClassVar[str] = ""
    """The load worker's description (the screen's name: a page)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rows: dict[str, dict[str, Any]] = {}
        """The loaded rows by key, in list order."""
        self.total = 0
        """How many rows the query matches."""
        self.next_after: Any = None
        """Where the next page starts (None: everything is loaded)."""
        self._generation = 0
        self._loading = False

    # -- what a screen says ---------------------------------------------------------------------
    def page_query(self) -> Any | None:
        """What is asked now (read on the UI thread, handed to the worker); None: no list."""
        raise NotImplementedError

    def fetch_page(self, query: Any, after: Any, limit: int) -> Page:
        """Read one page (in the worker thread): ``after`` None is a first page, with its total."""
        raise NotImplementedError

    def row_key(self, row: dict[str, Any]) -> str:
        """A row's key in the table and in ``rows``."""
        raise NotImplementedError

    def row_cells(self, row: dict[str, Any]) -> list[Text]:
        """A row's cells, in the table's column order."""
        raise NotImplementedError

    def page_shown(self, page: Page, append: bool) -> None:
        """A page is in the table: show the count (and whatever else came with it)."""

    # -- loading --------------------------------------------------------------------------------
    def forget_rows(self) -> None:
        """No list here (no department): an empty table, and any answer on its way dropped."""
        self._generation += 1
        self.rows, self.total, self.next_after = {}, 0, None
        self.table.clear()

    def reload(self, *, keep_rows: bool = True) -> None:
        """Read the first page again (when ``keep_rows``, as many rows as were loaded)."""
        query = self.page_query()
        if query is None:
            return
        self._generation += 1
        self._loading = True
        limit = min(max(PAGE, len(self.rows)), MAX_RELOAD) if keep_rows else PAGE
        self._start_load(query, None, limit)

    def load_more(self) -> None:
        """Read the next page, if there is one and nothing is loading."""
        query = self.page_query()
        if query is None or self.next_after is None or self._loading:
            return
        self._loading = True
        self._start_load(query, self.next_after, PAGE)

    def _start_load(self, query: Any, after: Any, limit: int) -> None:
        self.run_worker(partial(self._load, self._generation, query, after, limit), thread=True, exclusive=True,
                        group=self.LOAD_GROUP, exit_on_error=False, description=self.LOAD_DESCRIPTION)

    def _load(self, generation: int, query: Any, after: Any, limit: int) -> None:
        try:
            page = self.fetch_page(query, after, limit)
        except LibdeskError as exc:
            self.post_message(self.PageLoaded(generation, Page([], 0, None), after is not None, exc.message))
            return
        if not get_current_worker().is_cancelled:
            self.post_message(self.PageLoaded(generation, page, after is not None))

    @on(PageLoaded)
    def _page_loaded(self, message: PageLoaded) -> None:
        if message.generation != self._generation:
            return  # the query changed meanwhile
        self._loading = False
        if message.error:
            self.result_line.error(message.error)
            return
        page, table = message.page, self.table
        if not message.append:
            keep = self.highlighted_key(table)
            row_index = table.cursor_row
            table.clear()
            self.rows = {}
        if page.total is not None:
            self.total = page.total
        for row in page.rows:
            key = self.row_key(row)
            self.rows[key] = row
            table.add_row(*self.row_cells(row), key=key)
        if not message.append:
            self.move_to_key(table, keep, default=row_index)
        self.next_after = page.next_after
        self.page_shown(page, message.append)

    def worker_failed(self, worker: Worker[Any]) -> None:
        super().worker_failed(worker)
        if worker.group == self.LOAD_GROUP:
            self._loading = False

    # -- reading on near the end ----------------------------------------------------------------
    def watch_table_scroll(self) -> None:
        """Call from ``on_mount``: the mouse wheel scrolls without moving the cursor, so near
        the end of the loaded rows the next page is read too."""
        self.watch(self.table, "scroll_y", self._scrolled, init=False)

    @on(DataTable.RowHighlighted)
    def _near_the_end(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table is self.table and event.cursor_row >= self.table.row_count - MORE_AHEAD:
            self.load_more()

    def _scrolled(self, scroll_y: float) -> None:
        table = self.table
        if table.row_count and scroll_y >= table.max_scroll_y - MORE_AHEAD:
            self.load_more()

    @property
    def table(self) -> DataTable[Text]:
        return self.query_one(f"#{self.PAGED_TABLE}", DataTable)
