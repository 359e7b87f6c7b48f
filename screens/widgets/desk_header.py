"""The desk header: which screen, who is working, where (Currently At), on which database, and
the scanner and task slots, on every screen.

It reads the app's reactives and repaints when they change (as Textual's own ``Header`` watches
``app.title``). It is two lines at every width, so the
screen below keeps its place: who and where, then database, scanner and tasks; a line too
long for the terminal shortens its longest part with an ellipsis. Clicking the operator or Currently At opens the
chooser for it.

The database slot turns red while the database server cannot be reached (the app's
``database_state``, class ``-database-unreachable``) and green once it answers again.

The scanner slot is coloured by the serial scanner's state (the app's ``scanner_state``): the
header carries a class ``-scanner-<state>`` (connected, connecting, waiting, error, stopped,
keyboard) and the slot the component class ``desk-header--scanner``, so the stylesheet says
the colour of each state with theme variables.
"""

from __future__ import annotations

from typing import ClassVar

from rich.cells import cell_len
from textual.content import Content
from textual.geometry import Size
from textual.markup import escape
from textual.widget import Widget

SEPARATOR = " │ "
WATCHED = ("operator", "currently_at", "database", "database_state", "scanner_status", "scanner_state", "task_count")
"""The app reactives the header shows."""
SCANNER_STATES = ("keyboard", "connecting", "connected", "waiting", "error", "stopped")
"""The states of the scanner slot, each a class ``-scanner-<state>`` on the header."""
DATABASE_STATES = ("unreachable", "back")
"""The database slot's states with a colour (red, green), a class ``-database-<state>``; the
usual state, ``ok``, has none (the slot looks as it always did)."""


class DeskHeader(Widget):
    """Operator, Currently At, database, scanner status and task count."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"desk-header--scanner", "desk-header--database"}

    DEFAULT_CSS = """
    DeskHeader {
        dock: top;
        height: auto;
        padding: 0 1;
        background: $panel;
        color: $foreground;
        &.-scanner-connecting > .desk-header--scanner { color: $text-muted; }
        &.-scanner-connected > .desk-header--scanner { color: $text-success; }
        &.-scanner-waiting > .desk-header--scanner { color: $text-warning; text-style: bold; }
        &.-scanner-error > .desk-header--scanner { color: $text-error; text-style: bold; }
        &.-scanner-stopped > .desk-header--scanner { color: $text-muted; }
        &.-database-unreachable > .desk-header--database { color: $text-error; text-style: bold; }
        &.-database-back > .desk-header--database { color: $text-success; }
    }
    """

    def on_mount(self) -> None:
        for name in WATCHED:
            if hasattr(self.app, name):
                self.watch(self.app, name, self._app_changed, init=False)
        self._show_scanner_state()

    def _app_changed(self, _value: object) -> None:
        self._show_scanner_state()
        self.refresh(layout=True)

    def _show_scanner_state(self) -> None:
        state = str(getattr(self.app, "scanner_state", "keyboard"))
        for known in SCANNER_STATES:
            self.set_class(known == state, f"-scanner-{known}")
        database = str(getattr(self.app, "database_state", "ok"))
        for known in DATABASE_STATES:
            self.set_class(known == database, f"-database-{known}")

    def _parts(self) -> list[tuple[Content, int]]:
        """Each part and its width in cells."""
        app = self.app
        parts: list[tuple[str | Content, str]] = []  # (markup or content, plain)
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
        db_state = str(getattr(app, "database_state", "ok"))
        if db_state == "ok":
            parts.append((f"DB {escape(database)}", f"DB {database}"))
        else:
            shown = f"{database}: unreachable" if db_state == "unreachable" else database
            style = self.get_visual_style("desk-header--database", partial=True)
            parts.append((Content.assemble("DB ", (shown, style)), f"DB {shown}"))
        scanner = str(getattr(app, "scanner_status", ""))
        if getattr(app, "scanner_state", "keyboard") == "keyboard":
            parts.append((f"Scanner {escape(scanner)}", f"Scanner {scanner}"))
        else:
            style = self.get_visual_style("desk-header--scanner", partial=True)
            parts.append((Content.assemble("Scanner ", (scanner, style)), f"Scanner {scanner}"))
        tasks = int(getattr(app, "task_count", 0))
        if tasks:
            # Say what the count is and where it is dealt with: "Tasks 2" alone meant nothing.
            spec = getattr(app, "screen_specs", {}).get("borrowing")
            where = f": {spec.key.upper()}" if spec is not None and spec.key else ""
            hint = f" (lender messages{where})"
            parts.append((f"Tasks [b $text-warning]{tasks}[/]{escape(hint)}", f"Tasks {tasks}{hint}"))
        else:
            parts.append(("Tasks 0", "Tasks 0"))
        return [(part if isinstance(part, Content) else Content.from_markup(part), cell_len(plain))
                for part, plain in parts]

    def _lines(self, width: int) -> list[Content]:
        """Always two lines, whatever the width (the screen below never jumps): who and where,
        then the database, scanner and tasks. A line too long for the terminal gives up cells
        from its longest part first (a place name, a database path), with an ellipsis: nothing
        is cut without one."""
        parts = self._parts()
        return [self._fit(parts[:3], width), self._fit(parts[3:], width)]

    @staticmethod
    def _fit(parts: list[tuple[Content, int]], width: int) -> Content:
        sep = cell_len(SEPARATOR)
        lengths = [length for _part, length in parts]
        contents = [part for part, _length in parts]
        excess = sum(lengths) + sep * (len(parts) - 1) - width
        while excess > 0:
            longest = max(range(len(parts)), key=lambda i: lengths[i])
            keep = max(lengths[longest] - excess, 8)
            if keep >= lengths[longest]:
                break
            contents[longest] = contents[longest].truncate(keep, ellipsis=True)
            excess -= lengths[longest] - keep
            lengths[longest] = keep
        pieces: list[Content | str] = []
        for part in contents:
            if pieces:
                pieces.append(SEPARATOR)
            pieces.append(part)
        line = Content.assemble(*pieces)
        return line.truncate(width, ellipsis=True) if line.cell_length > width else line

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return 2

    def render(self) -> Content:
        return Content("\n").join(self._lines(self.content_size.width or 80))
