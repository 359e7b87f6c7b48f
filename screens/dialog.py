"""The base of every pop-up: :class:`Dialog`.

A pop-up is a modal screen centred over the screen it was opened from, its content in one box
of class ``dialog`` (title ``dialog-title``, notes ``dialog-note``, the red line ``dialog-error``,
``dialog-buttons``, and the keys line ``dialog-keys`` kept at the bottom). All of that is styled
once, in ``libdesk.tcss`` (section "Pop-ups"), under the selectors ``Dialog`` and ``.dialog``:
a pop-up class carries no CSS of its own, and only what is its own (a wider box, a coloured
border) is added there under its class name.

A pop-up only collects an answer and hands it back typed; the screen that opened it calls the
engine (STYLE.md section 2). Esc (``action_cancel``, when a pop-up binds it) and a ``#cancel``
button both answer None: nothing changes.
"""

from __future__ import annotations

from typing import Any, cast

from textual import on
from textual.screen import ModalScreen, ScreenResultType
from textual.widgets import Button


class Dialog(ModalScreen[ScreenResultType]):
    """A pop-up: styled as one (``Dialog``, ``.dialog`` in libdesk.tcss); cancelling answers None."""

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    def action_cancel(self) -> None:
        """Esc or the Cancel button: close, answering None (nothing changes)."""
        self.dismiss(cast(Any, None))
