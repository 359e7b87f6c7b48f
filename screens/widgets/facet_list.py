"""The facet sidebar of Monitor Requests & Item Processes: each facet, its values, their counts.

Alma's facets on the left of a list: choosing a value narrows the list (and every other
facet's counts) to it; choosing a chosen value again widens it back. The list only shows
what it is given and posts :class:`FacetList.Chosen`; the screen keeps the filters and asks
the engine for the counts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress

from textual import on
from textual.markup import escape
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option, OptionDoesNotExist

CLEAR = "\x00clear"
"""The option id of "Clear all facets"."""

Labeller = Callable[[str, str], str]
"""(facet, value) -> the value in desk words ("TS" -> "Technical Services")."""


def option_id(facet: str, value: str) -> str:
    """The option id of a facet value (facet names have no tab)."""
    return f"{facet}\t{value}"


class FacetList(OptionList):
    """Facets with counts; Enter on a value posts :class:`Chosen`."""

    DEFAULT_CSS = """
    FacetList {
        height: 1fr;
        border: none;
        padding: 0;
        background: $surface;
        /* Wrapped labels are measured at one width: keep the scrollbar's place either way. */
        scrollbar-gutter: stable;
    }
    """

    class Chosen(Message):
        """A facet value was chosen (or ``facet`` is None: clear every facet)."""

        def __init__(self, facet: str | None, value: str | None) -> None:
            super().__init__()
            self.facet = facet
            """The facet ("type", "owner", ...), or None for "clear all"."""
            self.value = value
            """The value chosen, as the engine names it."""

    def show_facets(self, titles: Mapping[str, str], counts: Mapping[str, Mapping[str, int]],
                    chosen: Mapping[str, str | None], label: Labeller,
                    order: Mapping[str, Sequence[str]] | None = None) -> None:
        """Replace the options: a heading per facet, then its values with counts, the chosen
        one ticked. The highlight stays on the same value when it is still there."""
        keep = self.highlighted_option.id if self.highlighted_option is not None else None
        options: list[Option | None] = []
        width = max((len(f"{n:,}") for values in counts.values() for n in values.values()), default=1)
        if any(v is not None for v in chosen.values()):
            options.append(Option("[b]✗ Clear all facets[/b]", id=CLEAR))
        for facet, title in titles.items():
            values = dict(counts.get(facet, {}))
            if not values:
                continue
            if options:
                options.append(None)
            options.append(Option(f"[b]{escape(title)}[/b]", disabled=True))
            wanted = list((order or {}).get(facet, ()))
            names = [v for v in wanted if v in values] + [v for v in values if v not in wanted]
            for value in names:
                tick = "✓" if chosen.get(facet) == value else " "
                # The count first, right-aligned: a long value wraps, its count stays in sight.
                name = escape(label(facet, value) if value else "(none)")
                text = f"{tick}[dim]{values[value]:>{width},}[/dim] {name}"
                # A value the records lack cannot be asked for (the filter compares equal).
                options.append(Option(text, id=option_id(facet, value), disabled=not value))
        self.set_options(options)
        if keep is not None:
            with suppress(OptionDoesNotExist):  # the value is gone (narrowed away): leave the highlight
                self.highlighted = self.get_option_index(keep)

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        ident = event.option.id or ""
        if ident == CLEAR:
            self.post_message(self.Chosen(None, None))
            return
        facet, _, value = ident.partition("\t")
        self.post_message(self.Chosen(facet, value))
