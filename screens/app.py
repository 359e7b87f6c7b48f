"""LibdeskApp: the desk workstation's frame around the Alma screens.

The app holds who and where: the operator, Currently At, and the sticky Scan In settings
(Set Status To, Done), as reactives that the header and the screens watch. It saves the
sticky ones to the workstation settings file whenever they change and restores them at start
(S1). It owns the F-keys, in one list, so the same number means the same thing on every
screen (STYLE.md section 7), and the command palette's desk commands.

Screens are registered in :data:`SCREENS` (mode name -> :class:`ScreenSpec`); each becomes a
Textual mode, built on first use and kept, so a screen's session state (the scan log, the
returned list) survives switching away and back. A reserved F-key whose screen is not
registered is simply not shown and does nothing. To add a screen, one line::

    "physical_items": ScreenSpec("Physical Items", "screens.physical_items:PhysicalItemsScreen",
                                 "Search by barcode, prefix or words"),

F4 (``physical_items``), F6 (``in_process``) and F7 (``monitor``) are reserved and light up
by themselves; a screen without a reserved F-key may name one with ``key="ctrl+l"``. A screen
class takes the :class:`~libdesk.db.Database` only and reads operator, Currently At and the
clock from the app (``DeskScreen.desk``). Tests and plug-ins may add a screen to one app with
:meth:`LibdeskApp.register_screen`. Pushed screens (item detail, dialogs) need no registry:
``app.push_screen(ItemDetailScreen(db, barcode))``.

``libdesk`` with no command calls :func:`run_app` (``libdesk/cli.py::cmd_app``).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, ClassVar

from textual import events
from textual.app import App
from textual.binding import Binding, BindingType
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.reactive import reactive
from textual.screen import ModalScreen, Screen
from textual.widgets import Input

from libdesk import clock as engine_clock
from libdesk.config import Settings, save_settings
from libdesk.db import Database
from libdesk.errors import LibdeskError, NotPermitted
from libdesk.institution import Place
from screens.base import DeskCommand, DeskScreen, NoticePopup
from screens.choosers import KEEP, operator_chooser, place_chooser, status_chooser
from screens.help import HelpScreen

Clock = Callable[[], datetime]
"""Where the app reads the time it shows (the engine's clock unless a test gives another)."""


@dataclass(frozen=True)
class ScreenSpec:
    """A desk screen the app can switch to."""

    title: str
    """Its name in desk words, as the command palette offers it ("Scan In Items")."""
    target: str | Callable[[LibdeskApp], Screen[Any]]
    """``"module:Class"`` (imported on first use; the class is called with the Database), or a
    factory called with the app."""
    help: str = ""
    """One line for the command palette."""
    key: str | None = None
    """A key for a screen without a reserved F-key (non-printable: scanners type letters)."""

    def build(self, app: LibdeskApp) -> Screen[Any]:
        """A new instance of the screen."""
        if callable(self.target):
            return self.target(app)
        module, _, name = self.target.partition(":")
        return getattr(importlib.import_module(module), name)(app.db)  # type: ignore[no-any-return]


SCREENS: dict[str, ScreenSpec] = {
    "scan_in": ScreenSpec("Scan In Items", "screens.scan_in:ScanInScreen",
                          "Scan items in at your desk or department (status, Done)"),
    "return_items": ScreenSpec("Return Items", "screens.return_items:ReturnItemsScreen",
                               "Return loans at a circulation desk; start a Work Order from the list"),
    "receiving": ScreenSpec("Receiving", "screens.receiving:ReceivingScreen",
                            "Receive new acquisitions, with or without Keep in Department", key="ctrl+r"),
    "physical_items": ScreenSpec("Physical Items", "screens.physical_items:PhysicalItemsScreen",
                                 "Search items by barcode, prefix* or words; Work Order, Request, Edit Item"),
    "in_process": ScreenSpec("Manage In Process Items", "screens.in_process:InProcessScreen",
                             "Items at your department: filters, bulk Change Status and Done, export"),
    "monitor": ScreenSpec("Monitor Requests & Item Processes", "screens.monitor:MonitorScreen",
                          "Every active request and work order, with facets; cancel, edit, expiry, audit"),
    "pick_list": ScreenSpec("Pick From Shelf", "screens.pick_list:PickListScreen",
                            "Your library's pick list in shelf order; scan what you pull", key="ctrl+l"),
}
"""Mode name -> screen. The first one is where the app starts."""

RESERVED_KEYS: dict[str, tuple[str, str]] = {
    "scan_in": ("f2", "Scan In"),
    "return_items": ("f3", "Return"),
    "physical_items": ("f4", "Items"),
    "in_process": ("f6", "In Process"),
    "monitor": ("f7", "Monitor"),
}
"""Mode name -> (F-key, footer label): the same number on every screen, registered or not."""


def _binding_id(mode: str) -> str:
    return "open-" + mode.replace("_", "-")


def _open_binding(mode: str) -> Binding:
    key, label = RESERVED_KEYS[mode]
    return Binding(key, f"open('{mode}')", label, id=_binding_id(mode))


def _extra_bindings() -> list[Binding]:
    return [Binding(spec.key, f"open('{mode}')", spec.title, show=False, id=_binding_id(mode))
            for mode, spec in SCREENS.items() if spec.key and mode not in RESERVED_KEYS]


class DeskCommands(Provider):
    """The command palette's desk commands: every screen and action, by desk words."""

    def _commands(self) -> list[DeskCommand]:
        app = self.app
        return list(app.desk_commands(self.screen)) if isinstance(app, LibdeskApp) else []

    async def discover(self) -> Hits:
        for command in self._commands():
            yield DiscoveryHit(command.name, command.callback, help=command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in self._commands():
            score = max(matcher.match(command.name), matcher.match(command.help) * 0.5)
            if score > 0:
                yield Hit(score, matcher.highlight(command.name), command.callback, help=command.help)


class LibdeskApp(App[int], inherit_bindings=False):
    """The desk app: header, F-key footer, screens by mode, sticky settings."""

    TITLE = "libdesk"
    CSS_PATH = "libdesk.tcss"
    COMMANDS = App.COMMANDS | {DeskCommands}
    DEFAULT_MODE = next(iter(SCREENS))
    NOTIFICATION_TIMEOUT = 8

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "help", "Help", id="help"),
        _open_binding("scan_in"),
        _open_binding("return_items"),
        _open_binding("physical_items"),
        Binding("f5", "refresh", "Refresh", id="refresh"),
        _open_binding("in_process"),
        _open_binding("monitor"),
        Binding("f8", "toggle_done", "Done", id="toggle-done"),
        Binding("f9", "choose_status", "Status", id="change-status"),
        Binding("f10", "choose_place", "Currently At", id="change-place"),
        Binding("ctrl+q", "quit", "Quit", priority=True, id="quit"),
        Binding("ctrl+o", "switch_operator", "Switch operator", show=False, id="switch-operator"),
        *_extra_bindings(),
        # Textual's own (not inherited, so that Quit comes last in the footer, not first).
        Binding("ctrl+c", "help_quit", show=False, system=True, id="help-quit"),
    ]

    operator: reactive[str] = reactive("admin", init=False)
    """Who is working: every engine call is made as this operator."""
    currently_at: reactive[str | None] = reactive(None, init=False)
    """Currently At: the desk or department code, or None until chosen."""
    status: reactive[str | None] = reactive(None, init=False)
    """Set Status To (departments only; None: keep the item's status, or the type's first)."""
    done: reactive[bool] = reactive(False, init=False)
    """Done: Yes (departments only)."""
    scanner_status: reactive[str] = reactive("keyboard")
    """The scanner slot of the header ("keyboard", "serial /dev/ttyUSB0", "scanner unplugged")."""
    task_count: reactive[int] = reactive(0)
    """The task slot of the header (borrowing general messages and the like)."""
    database: reactive[str] = reactive("")
    """The database as the header shows it (the SQLite file or the PostgreSQL host)."""

    def __init__(self, db: Database, settings: Settings, *, clock: Clock | None = None) -> None:
        super().__init__()
        self.db = db
        """The open database; screens and workers call the engine with it."""
        self.settings = settings
        """The workstation settings; the sticky ones are written back on every change."""
        self.clock: Clock = clock or engine_clock.now
        """The time shown on screen (the scan log's times)."""
        self.screen_specs: dict[str, ScreenSpec] = dict(SCREENS)
        """The registered screens of this app."""
        for mode, spec in self.screen_specs.items():
            self.add_mode(mode, partial(spec.build, self))
        inst = db.institution
        self.set_reactive(LibdeskApp.database, db.description)
        self.set_reactive(LibdeskApp.operator, settings.operator)
        place = inst.places.get(settings.currently_at or "")
        op = inst.operators.get(settings.operator)
        if place is None or op is None or not op.may_act_at(place.code):
            place = None
        self.set_reactive(LibdeskApp.currently_at, place.code if place else None)
        if place is not None and place.is_department:
            statuses = inst.work_order_types[place.work_order_type or ""].statuses
            self.set_reactive(LibdeskApp.status, settings.status if settings.status in statuses else None)
            self.set_reactive(LibdeskApp.done, bool(settings.done))
        if settings.keys:
            self.set_keymap({str(k): str(v) for k, v in settings.keys.items()})

    def register_screen(self, mode: str, spec: ScreenSpec) -> None:
        """Register a screen on this app at run time (tests, plug-ins), with its key if it has
        one. Screens that ship with libdesk go in :data:`SCREENS` instead, where their keys
        get binding ids (remappable in the settings file)."""
        if mode in self.screen_specs:
            raise ValueError(f"screen {mode!r} is already registered")
        self.screen_specs[mode] = spec
        self.add_mode(mode, partial(spec.build, self))
        if spec.key and mode not in RESERVED_KEYS:
            # App.bind has no binding id; the SCREENS list is the way to a remappable key.
            self.bind(spec.key, f"open('{mode}')", description=spec.title, show=False)
        self.refresh_bindings()

    # -- start ---------------------------------------------------------------------------
    def on_mount(self) -> None:
        if self.operator not in self.db.institution.operators:
            self.notify(f"Unknown operator {self.operator!r} in the settings file: choose who is working",
                        severity="error")
            self.action_switch_operator()
        elif self.currently_at is None:
            self.action_choose_place()

    # -- who and where ----------------------------------------------------------------------
    @property
    def place(self) -> Place | None:
        """Currently At as a Place (None until chosen)."""
        return self.db.institution.places.get(self.currently_at or "")

    @property
    def at_department(self) -> bool:
        """Whether Currently At is a work-order department (status and Done apply)."""
        place = self.place
        return place is not None and place.is_department

    def set_place(self, code: str) -> None:
        """Change Currently At (only to a place the operator may act at, W3).

        Raises:
            NotFound: unknown place or operator. NotPermitted: not this operator's place.
        """
        inst = self.db.institution
        place = inst.place(code)
        op = inst.operator(self.operator)
        if not op.may_act_at(place.code):
            raise NotPermitted(f"Operator {op.id} may not act at {place.name} ({place.code})")
        self.currently_at = place.code

    def set_operator(self, operator: str) -> None:
        """Switch operator; Currently At is kept only if the new operator may act there.

        Raises:
            NotFound: unknown operator.
        """
        op = self.db.institution.operator(operator)
        self.operator = op.id
        if self.currently_at is not None and not op.may_act_at(self.currently_at):
            self.currently_at = None

    def watch_currently_at(self, code: str | None) -> None:
        place = self.place
        if place is None or place.is_desk:
            # A desk has no status and no Done (W6): clear them, as `libdesk settings --at` does.
            self.status, self.done = None, False
        elif self.status is not None:
            statuses = self.db.institution.work_order_types[place.work_order_type or ""].statuses
            if self.status not in statuses:
                self.status = None
        self._save_settings()
        self.refresh_bindings()

    def watch_operator(self, operator: str) -> None:
        self._save_settings()

    def watch_status(self, status: str | None) -> None:
        self._save_settings()

    def watch_done(self, done: bool) -> None:
        self._save_settings()

    def _save_settings(self) -> None:
        """Write the sticky settings (S1); a failure is said, never fatal."""
        s = self.settings
        s.operator, s.currently_at, s.status, s.done = self.operator, self.currently_at, self.status, self.done
        try:
            save_settings(s)
        except LibdeskError as exc:
            self.notify(exc.message, title="Settings not saved", severity="error")

    # -- keys ----------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        screen = self.screen
        if action == "open":
            return parameters[0] in self.screen_specs
        if action == "refresh":
            return isinstance(screen, DeskScreen) and screen.supports("refresh")
        if action in ("toggle_done", "choose_status"):
            wanted = "done" if action == "toggle_done" else "status"
            return self.at_department and isinstance(screen, DeskScreen) and screen.supports(wanted)
        return True

    def get_key_display(self, binding: Binding) -> str:
        if binding.key_display is None and re.fullmatch(r"f\d+", binding.key):
            return binding.key.upper()  # "F2", as printed on the keyboard
        return super().get_key_display(binding)

    def action_open(self, mode: str) -> None:
        """Switch to a registered screen (F2, F3, ...)."""
        if mode not in self.screen_specs:
            return
        if isinstance(self.screen, ModalScreen):
            return  # finish or cancel the pop-up first: it belongs to the screen under it
        self.switch_mode(mode)

    def action_refresh(self) -> None:
        """F5: reload the current screen's list."""
        if isinstance(self.screen, DeskScreen):
            self.screen.refresh_list()

    def action_toggle_done(self) -> None:
        """F8: Done Yes / No (departments only)."""
        if self.at_department:
            self.done = not self.done

    def action_choose_status(self) -> None:
        """F9: Set Status To, from the department type's statuses."""
        if not self.at_department or self.currently_at is None:
            return

        def chosen(status: str | None) -> None:
            if status is not None:
                self.status = None if status == KEEP else status

        self.push_screen(status_chooser(self.db.institution, self.currently_at, self.status), chosen)

    def action_choose_place(self) -> None:
        """F10: Currently At, from the places this operator may act at."""
        if isinstance(self.screen, ModalScreen):
            return

        def chosen(code: str | None) -> None:
            if code:
                try:
                    self.set_place(code)
                except LibdeskError as exc:
                    self.notify(exc.message, severity="error")

        try:
            chooser = place_chooser(self.db.institution, self.operator, self.currently_at)
        except LibdeskError as exc:
            self.notify(exc.message, severity="error")
            return
        self.push_screen(chooser, chosen)

    def action_switch_operator(self) -> None:
        """ctrl+o: who is working here (then Currently At, if theirs is not allowed)."""
        if isinstance(self.screen, ModalScreen):
            return

        def chosen(operator: str | None) -> None:
            if operator:
                self.set_operator(operator)
                if self.currently_at is None:
                    self.action_choose_place()

        self.push_screen(operator_chooser(self.db.institution, self.operator), chosen)

    def action_help(self) -> None:
        """F1: what this screen is for, and its keys."""
        screen = self.screen
        if isinstance(screen, ModalScreen):
            return
        keys: list[tuple[str, str]] = []
        for active in screen.active_bindings.values():
            if active.node is not self and active.node is not screen:
                continue  # the focused field's editing keys are not desk actions
            binding = active.binding
            if binding.description and active.enabled and not binding.system:
                keys.append((self.get_key_display(binding), binding.description))
        text = screen.HELP if isinstance(screen, DeskScreen) else ""
        self.push_screen(HelpScreen(screen.title or self.title, text, keys))

    # -- command palette ------------------------------------------------------------------
    def desk_commands(self, screen: Screen[Any]) -> Iterable[DeskCommand]:
        """The palette's commands on ``screen``, in desk words."""
        for mode, spec in self.screen_specs.items():
            yield DeskCommand(spec.title, spec.help, partial(self.action_open, mode))
        yield DeskCommand("Change Currently At", "Where you are working: a desk or a department (F10)",
                          self.action_choose_place)
        yield DeskCommand("Switch operator", "Who is working at this workstation (ctrl+o)",
                          self.action_switch_operator)
        if self.check_action("choose_status", ()):
            yield DeskCommand("Set Status To", "The work-order status scans set here (F9)", self.action_choose_status)
        if self.check_action("toggle_done", ()):
            yield DeskCommand(f"Done: {'No' if self.done else 'Yes'}",
                              "Mark work orders Done when scanned (F8)" if not self.done
                              else "Stop marking Done: scans keep items in the department (F8)",
                              self.action_toggle_done)
        if self.check_action("refresh", ()):
            yield DeskCommand("Refresh the list", "Read the list again from the database (F5)", self.action_refresh)
        yield DeskCommand("Help for this screen", "What it does and its keys (F1)", self.action_help)
        if isinstance(screen, DeskScreen):
            yield from screen.desk_commands()

    # -- scanners ----------------------------------------------------------------------------
    async def on_event(self, event: events.Event) -> None:
        # Keys are routed here, in the App's own queue, so a scanner's burst keeps its order
        # (STYLE.md section 7); a widget re-routing keys from its handler would race the App.
        if isinstance(event, events.Key) and not event.is_forwarded:
            if isinstance(self.screen, NoticePopup) and (event.key in ("enter", "escape") or event.is_printable):
                # Enter/Escape close the notice; a character closes it and goes on below.
                self.screen.dismiss(None)
                if not event.is_printable:
                    return
            screen = self.screen
            if event.is_printable and isinstance(screen, DeskScreen) and not isinstance(screen.focused, Input):
                # Typing on a list goes to the scan field (see DeskScreen.typing_target).
                target = screen.typing_target()
                if target is not None:
                    screen.set_focus(target)
        await super().on_event(event)

    def deliver_scan(self, barcode: str) -> bool:
        """Hand a barcode from a scanner to the active screen; False if it takes none."""
        handler = getattr(self.screen, "handle_scan", None)
        if handler is None:
            return False
        handler(barcode)
        return True


def make_app(db: Database, settings: Settings, *, clock: Clock | None = None) -> LibdeskApp:
    """The app for a database and workstation settings (tests pass a seeded database and a
    frozen clock)."""
    return LibdeskApp(db, settings, clock=clock)


def run_app(db: Database, settings: Settings) -> int:
    """Run the desk app until the operator quits; the exit code for the shell."""
    app = make_app(db, settings)
    app.run()
    return int(app.return_code or 0)
