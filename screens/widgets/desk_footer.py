"""The desk footer: the keys that matter on this screen, as many as the terminal's width holds.

Textual's :class:`~textual.widgets.Footer` lays every shown binding out in one row and lets
the row run off the right edge: at 80 columns Scan In ended at "F9 Statu" and F10 and ctrl+q
were never seen. :class:`DeskFooter` chooses instead. Each shown binding gets a rank (see
:func:`footer_rank`): F1 first, always; then the screen's own keys, in the order the screen
binds them; then the app's keys that act on this screen (Done, status, refresh, Currently
At); then Quit; then the keys that switch to another screen; last the key of the screen you
are on. Keys are taken in rank order while they fit; a key that does not fit is left out
whole, never cut. When something is left out, F1 says so ("F1 All keys"): the help lists
every key of the screen. What is shown keeps the usual order (F-keys by number, then the
screen's other keys, Quit last), so a key does not move about between screens.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.cells import cell_len
from textual import events
from textual.app import ComposeResult
from textual.binding import ActiveBinding, Binding
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

HELP_ACTION = "help"
MORE_KEYS = "All keys"
"""F1's word when some keys did not fit: the help lists them all."""
SCREEN_ACTIONS = ("toggle_done", "choose_status", "refresh", "choose_place")
"""App keys that act on the screen you are on (in this order of importance)."""


def footer_rank(active: ActiveBinding, app: Any, current_mode: str | None) -> tuple[int, int]:
    """The footer's order of importance for a binding (lower first)."""
    action = active.binding.action
    if action == HELP_ACTION:
        return (0, 0)
    if active.node is not app:
        return (1, 0)
    if action in SCREEN_ACTIONS:
        return (2, SCREEN_ACTIONS.index(action))
    if action == "quit":
        return (3, 0)
    if current_mode is not None and action == f"open('{current_mode}')":
        return (5, 0)
    return (4, 0)


def _display_rank(binding: Binding) -> tuple[int, int]:
    key = binding.key
    if binding.action == "quit":
        return (2, 0)
    if key.startswith("f") and key[1:].isdigit():
        return (0, int(key[1:]))
    return (1, 0)


def key_width(key_display: str, description: str) -> int:
    """Cells a footer key takes: a space, the key, a space, the description (libdesk.tcss)."""
    return 1 + cell_len(key_display) + (1 + cell_len(description) if description else 0)


class DeskFooter(Footer):
    """A one-line footer that shows the most important keys that fit, none cut."""

    DEFAULT_CSS = """
    DeskFooter FooterKey, DeskFooter.-compact FooterKey {
        margin: 0;
    }
    """

    def __init__(self) -> None:
        super().__init__(show_command_palette=False)
        self._laid_out_width = 0
        self.hidden_keys: list[str] = []
        """The keys (as shown) that did not fit at the present width."""

    def _available(self) -> int:
        width = self.size.width or self.app.size.width
        return max(width, 1)

    def chosen(self, width: int) -> list[tuple[Binding, bool, str, str]]:
        """(binding, enabled, tooltip, description) of the keys shown at ``width``, in footer order."""
        app = self.app
        mode = getattr(app, "current_mode", None)
        shown: list[ActiveBinding] = []
        seen_actions: set[str] = set()
        for active in self.screen.active_bindings.values():
            binding = active.binding
            if not binding.show or binding.action in seen_actions:
                continue
            seen_actions.add(binding.action)
            shown.append(active)
        ranked = sorted(enumerate(shown), key=lambda item: (footer_rank(item[1], app, mode), item[0]))
        taken: list[int] = []
        used = 0
        hidden: list[str] = []
        has_help = any(active.binding.action == HELP_ACTION for active in shown)
        # Room for F1's longer word, should anything have to be left out.
        reserve = cell_len(MORE_KEYS) - cell_len("Help") if has_help else 0
        for index, active in ranked:
            binding = active.binding
            width_needed = key_width(app.get_key_display(binding), binding.description)
            if used + width_needed + (0 if binding.action == HELP_ACTION else reserve) <= width:
                taken.append(index)
                used += width_needed
            else:
                hidden.append(app.get_key_display(binding))
        self.hidden_keys = hidden
        result: list[tuple[Binding, bool, str, str]] = []
        for index in sorted(taken, key=lambda i: (_display_rank(shown[i].binding), i)):
            active = shown[index]
            binding = active.binding
            description = binding.description
            if binding.action == HELP_ACTION and hidden:
                description = MORE_KEYS
            if binding.action == HELP_ACTION:
                result.insert(0, (binding, active.enabled, active.tooltip, description))
            else:
                result.append((binding, active.enabled, active.tooltip, description))
        return result

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        width = self._available()
        self._laid_out_width = width
        yield from self._keys(self.chosen(width))

    def _keys(self, chosen: Iterable[tuple[Binding, bool, str, str]]) -> Iterable[FooterKey]:
        for binding, enabled, tooltip, description in chosen:
            yield FooterKey(binding.key, self.app.get_key_display(binding), description, binding.action,
                            disabled=not enabled, tooltip=tooltip or binding.description)

    def on_resize(self, event: events.Resize) -> None:
        if self._bindings_ready and event.size.width != self._laid_out_width:
            self.call_after_refresh(self.recompose)
