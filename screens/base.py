"""What every desk screen shares: the app's handles, the F-keys it takes part in, its commands.

A desk screen subclasses :class:`DeskScreen`. The F-keys live on the app (one definition, so
the same number means the same thing everywhere, in the same footer order); a screen says
which of the shared ones apply to it with :attr:`DeskScreen.SUPPORTS` (or by overriding
:meth:`DeskScreen.supports`) and implements the matching hook:

- ``"refresh"`` (F5): :meth:`DeskScreen.refresh_list`;
- ``"status"`` (F9) and ``"done"`` (F8): nothing to implement; the app changes its sticky
  Set Status To / Done and the screen repaints from the app's reactives.

A screen that accepts barcodes implements :meth:`DeskScreen.handle_scan` (the scan field, and
later the wedge and serial scanners, end there). Extra command-palette entries come from
:meth:`DeskScreen.desk_commands`. A pop-up that only tells something (where a returned item
goes) is a :class:`NoticePopup`, which a scanner can never get stuck in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple, cast

from textual import events
from textual.screen import ModalScreen, Screen
from textual.widget import Widget

from screens.widgets.scan_field import ScanField

if TYPE_CHECKING:  # the app imports the screens; the screens only need its type
    from screens.app import LibdeskApp


class DeskCommand(NamedTuple):
    """A command-palette entry, named in desk words."""

    name: str
    help: str
    callback: Callable[[], Any]


class DeskScreen(Screen[None]):
    """A desk screen: header, F-key footer, the app's Currently At and operator."""

    SUPPORTS: ClassVar[frozenset[str]] = frozenset()
    """The shared F-key actions that apply here: "refresh", "status", "done"."""

    HELP: ClassVar[str] = ""
    """What this screen is for and its keys (Markdown), shown by F1."""

    @property
    def desk(self) -> LibdeskApp:
        """The app, typed: operator, Currently At, sticky settings, the database."""
        return cast("LibdeskApp", self.app)

    def supports(self, action: str) -> bool:
        """Whether a shared F-key action applies here now (the footer hides it otherwise)."""
        return action in self.SUPPORTS

    def refresh_list(self) -> None:
        """F5: reload this screen's list (screens that support "refresh")."""

    def desk_commands(self) -> Iterable[DeskCommand]:
        """This screen's own command-palette entries."""
        return ()

    def typing_target(self) -> Widget | None:
        """Where characters go when the focus is on something that does not type (a list): the
        scan field, so a scanner is never lost in a list (where its Enter would act on a row)."""
        fields = self.query(ScanField)
        return fields.first() if fields else None


class NoticePopup(ModalScreen[None]):
    """A pop-up that tells, and never stops a scanner.

    Enter or Escape closes it; so does the first character typed, which then goes on to the
    scan field underneath with the rest of the barcode. The app does the routing
    (:meth:`screens.app.LibdeskApp.on_event`), before any key reaches a screen: keys that a
    scanner sends in one burst are forwarded in the order they came, whereas a pop-up closing
    itself from its own key handler would already hold the next barcode's first keys, and
    the scan field would get them after the rest (or not at all).
    """

    def on_click(self, event: events.Click) -> None:
        self.dismiss(None)
