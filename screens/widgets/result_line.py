"""The result line of a list screen: what the last action did, in words, coloured by outcome.

List screens (Physical Items, item detail, Manage In Process Items, Monitor) act on rows
rather than on the item in hand, so a one-line result under the list replaces the big banner
of the scan screens. Errors are red and stay until the next action (as S2 asks of scans).
The state is a CSS class (``-ok``, ``-warning``, ``-error``, ``-info``), the colours theme
variables.
"""

from __future__ import annotations

from textual.widgets import Static

KINDS = ("ok", "warning", "error", "info")
"""What a result can be: done, done with a caveat, refused / failed, or plain information."""


class ResultLine(Static):
    """One line (wrapping when long) naming what the last action did."""

    DEFAULT_CSS = """
    ResultLine {
        height: auto;
        min-height: 1;
        padding: 0 1;
        color: $text-muted;
        &.-ok { color: $text-success; text-style: bold; }
        &.-warning { color: $text-warning; text-style: bold; }
        &.-error { color: $text-error; text-style: bold; }
        &.-info { color: $foreground; }
    }
    """

    def __init__(self, text: str = "", *, id: str | None = None) -> None:
        super().__init__(text, id=id, markup=False)
        self.text = text
        """What the line says now (plain text)."""
        self.kind = "idle"
        """ok | warning | error | info | idle."""

    def show(self, text: str, kind: str = "info") -> None:
        """Say ``text`` as a result of ``kind`` (replacing what was there, errors included)."""
        self.text, self.kind = text, kind
        self.update(text)
        self.remove_class(*(f"-{k}" for k in KINDS))
        if kind in KINDS:
            self.add_class(f"-{kind}")

    def ok(self, text: str) -> None:
        """An action went through."""
        self.show(text, "ok")

    def error(self, text: str) -> None:
        """An action was refused or failed: red, and nothing was changed."""
        self.show(f"✗ {text}", "error")
