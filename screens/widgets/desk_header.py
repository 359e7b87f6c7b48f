"""The desk header: which screen, who is working, where (Currently At), on which database, and
the scanner and task slots, on every screen.

It reads the app's reactives and repaints when they change (as Textual's own ``Header`` watches
``app.title``). It is one line on a wide terminal and wraps its parts onto more lines on a
narrow one, never cutting a part in half. Clicking the operator or Currently At opens the
chooser for it.
"""

from __future__ import annotations

from rich.cells import cell_len
from textual.content import Content
from textual.geometry import Size
from textual.markup import escape
from textual.widget import Widget

SEPARATOR = " │ "
WATCHED = ("operator", "currently_at", "database", "scanner_status", "task_count")
"""The app reactives the header shows."""


class DeskHeader(Widget):
    """Operator, Currently At, database, scanner status and task count."""

    DEFAULT_CSS = """
    DeskHeader {
        dock: top;
        height: auto;
        padding: 0 1;
        background: $panel;
        color: $foreground;
    }
    """

    def on_mount(self) -> None:
        for name in WATCHED:
            if hasattr(self.app, name):
                self.watch(self.app, name, self._app_changed, init=False)

    def _app_changed(self, _value: object) -> None:
        self.refresh(layout=True)

    def _parts(self) -> list[tuple[str, int]]:
        """Markup for each part and its width in cells."""
        app = self.app
        parts: list[tuple[str, str]] = []  # (markup, plain)
        title = self.screen.title or app.title
        parts.append((f"[b]{escape(title)}[/b]", title))
        operator = str(getattr(app, "operator", ""))
        parts.append((f"Operator [b][@click=app.switch_operator]{escape(operator)}[/][/b]",
                      f"Operator {operator}"))
        code = getattr(app, "currently_at", None)
        if code:
            name = app.db.institution.place_name(code)  # type: ignore[attr-defined]
            where = f"{name} · {code}" if name != code else code
            parts.append((f"Currently At [b][@click=app.choose_place]{escape(where)}[/][/b]", f"Currently At {where}"))
        else:
            parts.append(("Currently At [b $text-warning][@click=app.choose_place]not set: F10[/][/]",
                          "Currently At not set: F10"))
        database = str(getattr(app, "database", ""))
        parts.append((f"DB {escape(database)}", f"DB {database}"))
        scanner = str(getattr(app, "scanner_status", ""))
        parts.append((f"Scanner {escape(scanner)}", f"Scanner {scanner}"))
        tasks = int(getattr(app, "task_count", 0))
        parts.append((f"Tasks [b $text-warning]{tasks}[/]" if tasks else "Tasks 0", f"Tasks {tasks}"))
        return [(markup, cell_len(plain)) for markup, plain in parts]

    def _lines(self, width: int) -> list[str]:
        lines: list[str] = []
        current, used = "", 0
        sep = cell_len(SEPARATOR)
        for markup, length in self._parts():
            if current and used + sep + length > width:
                lines.append(current)
                current, used = "", 0
            if current:
                current, used = current + SEPARATOR, used + sep
            current, used = current + markup, used + length
        if current:
            lines.append(current)
        return lines

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return max(1, len(self._lines(width)))

    def render(self) -> Content:
        return Content.from_markup("\n".join(self._lines(self.content_size.width or 80)))
