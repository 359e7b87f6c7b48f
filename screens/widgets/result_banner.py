"""The result banner: where the item in your hand goes next, big enough to read at arm's length.

The banner shows one result at a time. Its CSS class names the outcome (``-hold-shelf``,
``-transit``, ``-reshelve``, ``-in-process``, ``-stays``, ``-info``, ``-error``, ``-idle``), so
the app's stylesheet can colour each; the colours are theme variables, readable on light and
dark themes. An error stays until the screen shows the next result (S2).

:func:`describe_result` turns an engine :class:`~libdesk.core.Result` into the banner's words;
it only reads the result (which already says where the item goes), it decides nothing.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from libdesk.core import Result
from libdesk.institution import Institution

OUTCOME_CLASSES: dict[str, str] = {
    "idle": "-idle",
    "hold_shelf": "-hold-shelf",
    "transit": "-transit",
    "reshelve": "-reshelve",
    "in_process": "-in-process",
    "stays": "-stays",
    "info": "-info",
    "error": "-error",
}
"""Outcome (an engine ``next_step``, or idle/info/error) -> the banner's CSS class."""


def outcome_of(next_step: str | None) -> str:
    """The banner outcome for an engine ``next_step`` (anything else is plain information)."""
    return next_step if next_step in OUTCOME_CLASSES else "info"


def describe_result(result: Result, inst: Institution) -> tuple[str, str]:
    """The headline and the item line for a result, e.g. ("IN TRANSIT → Langdell Circulation
    Desk", "W01 · Title of W01")."""
    item: dict[str, Any] = result.item or {}
    dest = inst.place_name(result.destination) if result.destination else ""
    step = result.next_step
    if step == "hold_shelf":
        headline = f"HOLD SHELF · {dest}"
    elif step == "transit":
        headline = f"IN TRANSIT → {dest}"
    elif step == "reshelve":
        location = inst.locations.get(item.get("location") or "")
        headline = f"RESHELVE · {location.name}" if location else "RESHELVE"
    elif step == "in_process":
        status = item.get("status")
        headline = f"IN PROCESS · {dest}" + (f" · {status}" if status else "")
    elif step == "stays":
        headline = f"STAYS · {dest}" if dest else "STAYS"
    elif step == "loan":
        headline = "ON LOAN"
    elif step == "waits":
        headline = f"WORK ORDER WAITS · {dest}" if dest else "WORK ORDER WAITS"
    else:
        headline = (step or "done").replace("_", " ").upper()
    barcode = result.barcode or item.get("barcode") or ""
    title = item.get("title") or ""
    return headline, " · ".join(part for part in (barcode, title) if part)


class ResultBanner(Widget):
    """Large text naming where the item goes next, coloured by outcome."""

    DEFAULT_CSS = """
    ResultBanner {
        height: auto;
        min-height: 5;
        padding: 0 2;
        border: tall $primary 50%;
        background: $boost;
        color: $text;
        content-align: left middle;
        &.-hold-shelf { border: tall $accent; background: $accent-muted; }
        &.-transit { border: tall $warning; background: $warning-muted; }
        &.-reshelve { border: tall $success; background: $success-muted; }
        &.-in-process { border: tall $primary; background: $primary-muted; }
        &.-stays { border: tall $secondary; background: $secondary-muted; }
        &.-info { border: tall $primary 50%; }
        &.-error { border: tall $error; background: $error-muted; }
    }
    """

    outcome: reactive[str] = reactive("idle", init=False)
    """What happened: an engine next_step, or idle / info / error; sets the CSS class."""
    headline: reactive[str] = reactive("", layout=True)
    """The big line: where the item goes next (or what is wrong)."""
    detail: reactive[str] = reactive("", layout=True)
    """The engine's message, in full."""
    item_line: reactive[str] = reactive("", layout=True)
    """Which item: barcode and title."""

    def __init__(self, idle_text: str = "Ready: scan an item", *, id: str | None = "banner") -> None:
        super().__init__(id=id, classes="-idle")
        self.idle_text = idle_text
        """What the banner says before the first result."""
        self.set_reactive(ResultBanner.headline, idle_text)

    def watch_outcome(self, outcome: str) -> None:
        self.remove_class(*OUTCOME_CLASSES.values())
        self.add_class(OUTCOME_CLASSES.get(outcome, "-info"))

    def render(self) -> Text:
        parts: list[Any] = [(self.headline, "bold")]
        if self.detail:
            parts += ["\n", self.detail]
        if self.item_line:
            parts += ["\n", (self.item_line, "italic")]
        return Text.assemble(*parts)

    def show(self, outcome: str, headline: str, detail: str = "", item_line: str = "") -> None:
        """Show one result; replaces whatever was shown, errors included."""
        self.headline, self.detail, self.item_line = headline, detail, item_line
        self.outcome = outcome

    def show_result(self, result: Result, inst: Institution) -> None:
        """Show an engine result: the destination big, the engine's message in full."""
        headline, item_line = describe_result(result, inst)
        self.show(outcome_of(result.next_step), headline, result.message, item_line)

    def show_error(self, message: str, barcode: str = "") -> None:
        """Show a user error in red; it stays until the next result."""
        self.show("error", f"✗ {message}", "Nothing was changed.", barcode)

    def show_repeat(self, message: str, barcode: str) -> None:
        """A double scan (S4): nothing was done again. When the banner still shows this item's
        result, that result stays (it is still where the item goes) with the message under it."""
        shows_it = self.outcome not in ("idle", "error", "info") and self.item_line.split(" · ")[0] == barcode
        if shows_it:
            self.detail = f"↻ {message}"
        else:
            self.show("info", f"↻ {barcode}: scanned twice, not acted on again", message, barcode)

    def reset(self) -> None:
        """Back to the idle text (e.g. when Currently At changes)."""
        self.show("idle", self.idle_text)
