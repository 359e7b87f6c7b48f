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
clock from the app (``DeskScreen.libdesk_app``). Tests and plug-ins may add a screen to one app with
:meth:`LibdeskApp.register_screen`. Pushed screens (item detail, dialogs) need no registry:
``app.push_screen(ItemDetailScreen(db, barcode))``.

Scanners (SPEC S3/S4, STYLE.md sections 5 and 7) all end in :meth:`LibdeskApp.deliver_scan`:

- **Keyboard wedge.** :meth:`LibdeskApp.on_event` sees every key before any widget does and
  feeds printable keys and Enter, with the key's own arrival time (``events.Key.time``), to one
  :class:`~libdesk.scanners.wedge.BurstDetector` built from the ``[wedge]`` settings. A burst
  ending in Enter is one scan for the active screen, wherever the focus is, and none of its
  keys reach the focused widget. Keys that turn out to be a person typing come back as
  ``PassThrough`` and are replayed, in order, through Textual's own key path (priority
  bindings, then the focused widget), so typing works as it did; any other key (arrows,
  F-keys, ctrl+...) first releases what is held, then is handled as usual. A timer on the
  detector's deadline posts :class:`WedgeDue`, handled in the app's queue after the keys
  already queued, so a burst the app is late reading is never cut in two.
- **Paste** of several lines (a terminal's bracketed paste): one scan per non-blank line.
- **Serial.** With ``[serial] port`` in the settings (or ``LIBDESK_SERIAL_PORT``), a
  :class:`~libdesk.scanners.serial_reader.SerialReader` thread runs from mount to unmount and
  *posts* :class:`SerialScan` and :class:`ScannerStatusChanged` messages (post_message is
  thread-safe and never blocks the reader; ``call_from_thread`` would wait for the app, and
  the app waits for the reader when it stops). The status is the header's scanner slot.
- **The scan field** (typing, or a paste into it) routes its scans here too.

Where a scan goes: the active screen's ``handle_scan``. A :class:`~screens.base.NoticePopup`
is closed first; another pop-up without ``handle_scan`` gets a scan typed into its text
field (a patron card into the Request pop-up, as a scanner always typed), or else refuses
it with a message; a screen without ``handle_scan`` (Monitor) hands it to Scan In Items.
Misreads (the ``[wedge]`` barcode rules) are shown in red and change nothing. In front of
every handler sits one :class:`~libdesk.scanners.double.DoubleScanFilter` (S4): the same
barcode again within the window is not acted on, and the screen says so.

Sign-in (institution files without ``sign_in = false``): the app opens as the operator the
CLI signed in (``signed_in_as``: a ``libdesk login`` session or LIBDESK_SECRET), else on
:class:`~screens.sign_in.SignInScreen`, where every app action but quitting is off
(:attr:`LibdeskApp.needs_sign_in`). It signs out back to that screen after ``idle_minutes``
without a key, or when :func:`libdesk.operators.recheck` (every 15 s) says the sign-in no
longer stands.

``libdesk`` with no command calls :func:`run_app` (``libdesk/cli.py::cmd_app``).
"""

from __future__ import annotations

import importlib
import os
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events, on, work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.command import CommandPalette, DiscoveryHit, Hit, Hits, Provider
from textual.message import Message
from textual.reactive import reactive
from textual.screen import ModalScreen, Screen
from textual.timer import Timer
from textual.widgets import Input

from libdesk import borrowing, operators
from libdesk import clock as engine_clock
from libdesk.config import Settings, save_settings
from libdesk.db import Database
from libdesk.errors import ConfigError, DatabaseUnreachable, LibdeskError, NotPermitted
from libdesk.institution import Place
from libdesk.scanners.barcodes import Rejected, Scan, ScanEvent
from libdesk.scanners.double import DoubleScanFilter, Repeat
from libdesk.scanners.settings import SerialSettings, WedgeSettings, serial_settings, wedge_settings
from libdesk.scanners.wedge import BurstDetector, PassThrough, WedgeEvent
from screens.base import DeskCommand, DeskScreen, NoticePopup
from screens.choosers import KEEP, operator_chooser, place_chooser, status_chooser
from screens.widgets.scan_field import pasted_barcodes

if TYPE_CHECKING:  # pyserial is imported only when a serial port is configured
    from libdesk.scanners.serial_reader import ReaderStatus, SerialReader

Clock = Callable[[], datetime]
"""Where the app reads the time it shows (the engine's clock unless a test gives another)."""

SERIAL_PORT_ENV = "LIBDESK_SERIAL_PORT"
DATABASE_CHECK_EVERY_S = 30.0
"""A database server is asked this often whether it is there, so the header turns red before
the next scan finds out (SQLite files are not asked)."""
RECONNECT_FIRST_S = 0.5
RECONNECT_MAX_S = 10.0
"""While the server is unreachable it is asked again after 0.5 s, doubling up to 10 s (as
``libdesk listen`` does)."""
"""An environment variable that sets (or overrides) the ``[serial] port`` setting."""


@dataclass
class SerialScan(Message, bubble=False):
    """A read from the serial scanner, posted by its reader thread (never replaced: every
    scan counts)."""

    event: ScanEvent
    """The barcode, or the reason it is not one."""


@dataclass
class ScannerStatusChanged(Message, bubble=False):
    """The serial reader's state changed (posted by its reader thread); only the latest
    matters, so a queued one is replaced by a newer one."""

    status: ReaderStatus
    """connecting / connected / waiting / error / stopped, with a message for a person."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ScannerStatusChanged)


class BorrowingTicked(Message, bubble=False):
    """The timed borrowing work ran (:func:`libdesk.borrowing.tick`, in a thread worker) and
    moved these requests on."""

    def __init__(self, steps: list[dict[str, Any]]) -> None:
        super().__init__()
        self.steps = steps


class WedgeDue(Message, bubble=False):
    """The burst detector's deadline passed: release the keys it holds (posted by a timer, so
    it is handled after the keys already queued)."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, WedgeDue)


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
        return getattr(importlib.import_module(module), name)(app.db)


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
    "hold_shelf": ScreenSpec("Hold Shelf", "screens.hold_shelf:HoldShelfScreen",
                             "Your desk's hold shelf: who waits, since and until when; clear expired items",
                             key="f11"),
    "borrowing": ScreenSpec("Borrowing Requests", "screens.borrowing:BorrowingScreen",
                            "Resource sharing: daily/weekly/monthly checks, request actions, not-returned report",
                            key="f12"),
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


KEY_NAMES = {"escape": "Esc", "delete": "Del", "enter": "Enter", "space": "Space", "tab": "Tab"}
"""Keys as printed on the keyboard, in the footer and the help (Textual writes "esc", "del")."""


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
    # What the screens share and the pop-ups, then each full screen's own layout (beside its module).
    CSS_PATH = ["libdesk.tcss", "scan_in.tcss", "return_items.tcss", "receiving.tcss", "pick_list.tcss",
                "hold_shelf.tcss", "physical_items.tcss", "item_detail.tcss", "in_process.tcss", "monitor.tcss",
                "sign_in.tcss", "borrowing.tcss"]
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
    """The scanner slot of the header ("keyboard", "connected: serial /dev/ttyUSB0 9600 8N1",
    "waiting: serial port /dev/ttyUSB0 disconnected: waiting for it to come back")."""
    scanner_state: reactive[str] = reactive("keyboard")
    """The serial scanner's state for the header's colour: keyboard (no serial scanner),
    connecting, connected, waiting, error, stopped."""
    task_count: reactive[int] = reactive(0)
    """The task slot of the header (borrowing general messages and the like)."""
    database: reactive[str] = reactive("")
    """The database as the header shows it (the SQLite file or the PostgreSQL host)."""
    database_state: reactive[str] = reactive("ok")
    """The database slot's colour: ok (as always), unreachable (red: scans are refused), back
    (green: it was unreachable this session and answers again)."""

    def __init__(self, db: Database, settings: Settings, *, clock: Clock | None = None,
                 signed_in_as: str | operators.Standing | None = None) -> None:
        super().__init__()
        self.db = db
        """The open database; screens and workers call the engine with it."""
        self.settings = settings
        """The workstation settings; the sticky ones are written back on every change."""
        self.clock: Clock = clock or engine_clock.now
        """The time shown on screen (the scan log's times)."""
        self.screen_specs: dict[str, ScreenSpec] = dict(SCREENS)
        """The registered screens of this app."""
        self.search_offer: str | None = None
        """A search F4 carries to Physical Items: the screen left offered it (a barcode not
        found in Scan In or Return Items); Physical Items takes it when it shows."""
        for mode, spec in self.screen_specs.items():
            self.add_mode(mode, partial(spec.build, self))
        inst = db.institution
        if isinstance(signed_in_as, str):
            signed_in_as = operators.Standing(signed_in_as, "claimed")
        self.standing: operators.Standing | None = signed_in_as if inst.sign_in.required else None
        """Sign-in required: how the operator signed in (the CLI's session or LIBDESK_SECRET,
        the sign-in screen, ctrl+o), checked again every ``SIGN_IN_CHECK_EVERY_S``."""
        self.needs_sign_in = inst.sign_in.required and self.standing is None
        """Sign-in required and nobody signed in (none yet, or signed out): the sign-in
        screen is up, and no action but quitting is."""
        self.set_reactive(LibdeskApp.database, db.description)
        self.set_reactive(LibdeskApp.operator, self.standing.operator if self.standing else settings.operator)
        place = inst.places.get(settings.currently_at or "")
        op = inst.operators.get(self.operator)
        if place is None or op is None or not op.may_act_at(place.code):
            place = None
        self.set_reactive(LibdeskApp.currently_at, place.code if place else None)
        if place is not None and place.is_department:
            statuses = inst.work_order_types[place.work_order_type or ""].statuses
            self.set_reactive(LibdeskApp.status, settings.status if settings.status in statuses else None)
            self.set_reactive(LibdeskApp.done, bool(settings.done))
        if settings.keys:
            self.set_keymap({str(k): str(v) for k, v in settings.keys.items()})
        self.scan_clock: Callable[[], float] = time.monotonic
        """Where the double-scan filter reads the time (tests move a fake clock instead of sleeping)."""
        self.serial_opener: Callable[[SerialSettings], Any] | None = None
        """Opens the serial port (None: pyserial's ``serial_for_url``); tests may hand in their own."""
        self.serial_retry: tuple[float, float] | None = None
        """The serial reader's (first, longest) retry delay in seconds; None: its defaults."""
        self.serial_reader: SerialReader | None = None
        """The serial scanner's reader thread, while the app runs with a port configured."""
        self._scanner_problems: list[str] = []
        self.wedge_settings, self.serial_settings = self._scanner_settings(settings)
        self.wedge: BurstDetector | None = self.wedge_settings.detector() if self.wedge_settings.enabled else None
        """The keyboard-wedge burst detector (None: ``[wedge] enabled = false``)."""
        self.double_scans = DoubleScanFilter(self.wedge_settings.double_scan_window)
        """The double-scan window (S4), in front of every screen's scan handler."""
        self._wedge_timer: Timer | None = None
        self.database_check_every = DATABASE_CHECK_EVERY_S
        """Seconds between checks that a database server is there (0: none); SQLite is not checked."""
        self._database_retry = 0.0
        self._database_timer: Timer | None = None

    def _scanner_settings(self, settings: Settings) -> tuple[WedgeSettings, SerialSettings | None]:
        """The ``[wedge]`` and ``[serial]`` tables, validated; a bad one is noted (and said once
        at start) and replaced by the defaults, or no serial scanner: the keyboard still works."""
        try:
            wedge = wedge_settings(settings.wedge)
        except ConfigError as exc:
            self._scanner_problems.append(f"{exc.message}: the keyboard-wedge defaults are used")
            wedge = WedgeSettings()
        raw = dict(settings.serial)
        port = os.environ.get(SERIAL_PORT_ENV, "").strip()
        if port:
            raw["port"] = port
        serial: SerialSettings | None = None
        try:
            serial = serial_settings(raw)
        except ConfigError as exc:
            self._scanner_problems.append(f"{exc.message}: the serial scanner is off (the keyboard still works)")
            self.set_reactive(LibdeskApp.scanner_state, "error")
            self.set_reactive(LibdeskApp.scanner_status, "keyboard · serial off: bad settings")
        return wedge, serial if serial is not None and serial.port else None

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
    SIGN_IN_CHECK_EVERY_S: ClassVar[float] = 15.0
    """How often, with sign-in required, the app checks that its operator's sign-in still
    stands (not disabled, no new secret, the CLI session it opened with still valid)."""
    BORROWING_TICK_EVERY_S: ClassVar[float] = 3600.0
    """How often the app does the timed borrowing work (partners' timeouts), besides at start."""

    def on_mount(self) -> None:
        self.task_count = borrowing.task_count(self.db)  # B6: active general messages from lenders
        self._borrowing_tick()
        self.set_interval(self.BORROWING_TICK_EVERY_S, self._borrowing_tick, name="borrowing-tick")
        for problem in self._scanner_problems:
            self.notify(problem, title="Scanner settings", severity="error")
        self._start_serial()
        self._last_input = time.monotonic()
        rules = self.db.institution.sign_in
        if rules.required and rules.idle_minutes:
            self.set_interval(15, self._sign_out_when_idle, name="idle sign-out")
        if rules.required:
            self.set_interval(self.SIGN_IN_CHECK_EVERY_S, self.check_sign_in, name="sign-in check")
        if self.database_check_every and self.db.engine.dialect.name != "sqlite":
            self.set_interval(self.database_check_every, self.check_database, name="database check")
        if self.needs_sign_in:
            self._sign_in()
        else:
            self._first_screen()

    def _first_screen(self) -> None:
        """Who and where, once someone is signed in (or sign-in is off)."""
        if self.operator not in self.db.institution.operators:
            self.notify(f"Unknown operator {self.operator!r} in the settings file: choose who is working",
                        severity="error")
            self.action_switch_operator()
        elif self.currently_at is None:
            self.action_choose_place()

    @work(thread=True, exclusive=True, group="borrowing-tick", exit_on_error=False,
          description="Borrowing: partners' timeouts")
    def _borrowing_tick(self) -> None:
        try:
            done = borrowing.tick(self.db)
        except LibdeskError:
            return  # the database is busy or away: the next round does it
        if done["steps"]:
            self.post_message(BorrowingTicked(done["steps"]))

    @on(BorrowingTicked)
    def _borrowing_ticked(self, message: BorrowingTicked) -> None:
        self.task_count = borrowing.task_count(self.db)
        shown = "; ".join(step["message"] for step in message.steps[:3])
        more = f" (+{len(message.steps) - 3} more)" if len(message.steps) > 3 else ""
        self.notify(f"{shown}{more}", title=f"Borrowing: {len(message.steps)} request{'s' if len(message.steps) != 1 else ''} "
                    "moved on by themselves")

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
        else:
            # Set Status To is remembered per department: coming back brings it back (S1).
            self.status = self.settings.statuses.get(place.code)
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
        place = self.place
        if place is not None and place.is_department:
            if self.status:
                s.statuses[place.code] = self.status
            else:
                s.statuses.pop(place.code, None)
        try:
            save_settings(s)
        except LibdeskError as exc:
            self.notify(exc.message, title="Settings not saved", severity="error")

    # -- keys ----------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        screen = self.screen
        if self.needs_sign_in and action not in ("quit", "help_quit"):
            return False  # the sign-in screen: nothing else until someone signs in
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
        if binding.key_display is None and binding.key in KEY_NAMES:
            return KEY_NAMES[binding.key]
        return super().get_key_display(binding)

    def action_open(self, mode: str) -> None:
        """Switch to a registered screen (F2, F3, ...)."""
        if mode not in self.screen_specs:
            return
        if isinstance(self.screen, ModalScreen):
            return  # finish or cancel the pop-up first: it belongs to the screen under it
        if mode == "physical_items":  # F4 after "No item with barcode": search for it there
            self.search_offer = getattr(self.screen, "search_offer", None)
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

    def _sign_in(self, reason: str = "") -> None:
        """The sign-in screen (sign-in required): nothing else is reachable until the engine
        accepts an operator's secret; then the desk carries on as at start."""
        from screens.sign_in import SignInScreen

        def signed_in(held: operators.Standing | None) -> None:
            self._last_input = time.monotonic()
            if held is None:
                return
            self.standing, self.needs_sign_in = held, False
            self.set_operator(held.operator)
            self._first_screen()

        self.needs_sign_in, self.standing = True, None
        self.push_screen(SignInScreen(self.db, self.operator, reason=reason), signed_in)

    def sign_out(self, reason: str) -> None:
        """Back to the sign-in screen: pop-ups close (nothing in them was saved)."""
        if self.needs_sign_in:
            return
        while isinstance(self.screen, ModalScreen) and len(self.screen_stack) > 1:
            self.pop_screen()
        self._sign_in(reason)

    def _sign_out_when_idle(self) -> None:
        """Sign-in required: after ``idle_minutes`` without a key the desk signs out."""
        idle = time.monotonic() - getattr(self, "_last_input", time.monotonic())
        minutes = self.db.institution.sign_in.idle_minutes
        if idle >= minutes * 60:
            self.sign_out(f"Signed out after {minutes} minute(s) without use.")

    def check_sign_in(self) -> None:
        """Check again, off the event loop, that the operator's sign-in still stands; if not
        (disabled, a new secret, the CLI session ended), sign out saying why."""
        held = self.standing
        if held is None or self.needs_sign_in:
            return

        def check() -> None:
            try:
                operators.recheck(self.db, held)
            except operators.NotSignedIn as exc:
                self.call_from_thread(self._sign_in_failed, held, exc.message)
            except LibdeskError:
                pass  # the database is busy or away: the next check tells

        self.run_worker(check, thread=True, exclusive=True, group="sign-in-check", exit_on_error=False)

    def _sign_in_failed(self, held: operators.Standing, reason: str) -> None:
        if self.standing is held:  # not someone who signed in since
            self.sign_out(f"Signed out: {reason}.")

    def action_switch_operator(self) -> None:
        """ctrl+o: who is working here (then Currently At, if theirs is not allowed)."""
        if isinstance(self.screen, ModalScreen):
            return

        def signed_in(who: str | operators.Standing | None) -> None:
            if isinstance(who, operators.Standing):
                self.standing, who = who, who.operator
            if who:
                self.set_operator(who)
                if self.currently_at is None:
                    self.action_choose_place()

        def chosen(operator: str | None) -> None:
            if operator and self.db.institution.sign_in.required:
                from screens.sign_in import SecretDialog  # the new operator's secret (issue 14)

                self.push_screen(SecretDialog(self.db, operator), signed_in)
            else:
                signed_in(operator)

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
                keys.append((self.get_key_display(binding), binding.tooltip or binding.description))
        text = screen.HELP if isinstance(screen, DeskScreen) else ""
        from screens.help import HelpScreen  # Markdown and its parser load on the first F1, not at start

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

    # -- scanners: keys ------------------------------------------------------------------------
    async def on_event(self, event: events.Event) -> None:
        # Keys are routed here, in the App's own queue, before any widget sees them, so a
        # scanner's burst keeps its order (STYLE.md section 7); a widget re-routing keys from
        # its handler would race the App.
        if isinstance(event, (events.Key, events.MouseDown)):
            self._last_input = time.monotonic()
        if isinstance(event, events.Key) and not event.is_forwarded:
            wedge = self.wedge
            if wedge is None:
                await self._type_key(event)
                return
            char = self._wedge_char(event)
            if char is None:
                # Not a character: it ends any burst; what was held is typing and goes first.
                await self._settle(wedge.interrupt(event.time))
                await self._type_key(event)
            else:
                await self._settle(wedge.feed(char, event.time, event))
            self._arm_wedge_timer()
            return
        if (isinstance(event, events.MouseDown) and not event.is_forwarded and self.wedge is not None
                and self.wedge.deadline() is not None):
            # A click after typing: the typed keys land first, as they were typed first.
            await self._settle(self.wedge.interrupt(event.time))
            self._arm_wedge_timer()
        elif (isinstance(event, events.Paste) and not event.is_forwarded and self.wedge is not None
                and pasted_barcodes(event.text) is not None and self._pastes_are_scans()):
            await self._settle(self.wedge.paste(event.text))
            self._arm_wedge_timer()
            return
        await super().on_event(event)

    def _wedge_char(self, event: events.Key) -> str | None:
        """What the burst detector is given for a key (None: not a key a scanner types)."""
        if event.key == "enter":
            return "\r"
        if event.key == "tab":
            return "\t" if self.wedge_settings.end_key in ("tab", "either") else None
        character = event.character
        if event.is_printable and character is not None and len(character) == 1:
            return character
        return None

    async def _type_key(self, event: events.Key) -> None:
        """A key a person typed (or a special key): Textual's own path, as if never held."""
        if isinstance(self.screen, NoticePopup) and (event.key in ("enter", "escape") or event.is_printable):
            # Enter/Escape close the notice; a character closes it and goes on below.
            await self._close_notice()
            if not event.is_printable:
                return
        screen = self.screen
        if event.is_printable and isinstance(screen, DeskScreen) and not isinstance(screen.focused, Input):
            # Typing on a list goes to the scan field (see DeskScreen.typing_target).
            target = screen.typing_target()
            if target is not None:
                screen.set_focus(target)
        await super().on_event(event)

    async def _settle(self, outcomes: list[WedgeEvent]) -> None:
        """Act on what the burst detector decided, in order: typing is replayed key by key to
        the focused widget; a scan or a misread goes to the active screen."""
        for outcome in outcomes:
            if isinstance(outcome, PassThrough):
                for key in outcome.keys:
                    await self._type_key(key.token)
            else:
                await self._take_scan(outcome)

    def _arm_wedge_timer(self) -> None:
        """Release held keys once no burst can continue from them."""
        if self._wedge_timer is not None:
            self._wedge_timer.stop()
            self._wedge_timer = None
        if self.wedge is not None and self.wedge.deadline() is not None:
            # Measured from now, not from the key's arrival: never early (a late timer only
            # delays a person's key by a few ms), and the same on every platform's clock.
            self._wedge_timer = self.set_timer(self.wedge.max_key_gap * 1.05, self._wedge_due, name="wedge")

    def _wedge_due(self) -> None:
        self.post_message(WedgeDue())

    @on(WedgeDue)
    async def _release_held_keys(self, message: WedgeDue) -> None:
        if self.wedge is not None:
            # The message's time is Textual's event clock, the one events.Key.time uses.
            await self._settle(self.wedge.poll(message.time))
            self._arm_wedge_timer()

    def _pastes_are_scans(self) -> bool:
        """Whether a pasted list is scans here: not in a pop-up's form, whose text field
        takes a paste as it always did."""
        screen = self.screen
        return not isinstance(screen, ModalScreen) or isinstance(screen, NoticePopup) \
            or getattr(screen, "handle_scan", None) is not None

    # -- the database server going away --------------------------------------------------------
    def database_unreachable(self, exc: DatabaseUnreachable) -> None:
        """A scan or a check found the server gone: the header's DB slot turns red, and the
        server is tried again with backoff (0.5 s doubling to 10 s) until it answers."""
        if self.database_state != "unreachable":
            self.database_state = "unreachable"
            self.notify(f"{exc.message}. Scans are refused until the header's DB is green again.",
                        title="Database unreachable", severity="error")
        self._database_retry = min(self._database_retry * 2, RECONNECT_MAX_S) if self._database_retry else \
            RECONNECT_FIRST_S
        if self._database_timer is not None:
            self._database_timer.stop()
        self._database_timer = self.set_timer(self._database_retry, self.check_database, name="database retry")

    def database_reachable(self) -> None:
        """A transaction went through: if the server was gone, it is back (green)."""
        if self.database_state != "unreachable":
            return
        self.database_state = "back"
        self._database_retry = 0.0
        if self._database_timer is not None:
            self._database_timer.stop()
            self._database_timer = None
        self.notify("The library database answers again: scan on.", title="Database back", severity="information")

    def check_database(self) -> None:
        """Ask the server, off the event loop (a cut network may take the connect timeout)."""
        self.run_worker(self._check_database, thread=True, exclusive=True, group="database-check",
                        exit_on_error=False)

    def _check_database(self) -> None:
        from sqlalchemy import text

        try:
            with self.db.read() as conn:
                conn.execute(text("SELECT 1"))
        except DatabaseUnreachable as exc:
            self.call_from_thread(self.database_unreachable, exc)
            return
        except LibdeskError:
            pass  # it answers (busy, say): reachable
        self.call_from_thread(self.database_reachable)

    # -- scanners: serial ----------------------------------------------------------------------
    def _start_serial(self) -> None:
        cfg = self.serial_settings
        if cfg is None:
            return
        # Lazy: pyserial is needed only at a workstation with a serial scanner.
        from libdesk.scanners.serial_reader import SerialReader

        retry: dict[str, Any] = {} if self.serial_retry is None else {"first_delay": self.serial_retry[0],
                                                      "max_delay": self.serial_retry[1]}
        self.scanner_state = "connecting"
        self.scanner_status = f"connecting: serial {cfg.describe()}"
        # The callbacks run in the reader thread: they only post (thread-safe, never blocks).
        self.serial_reader = SerialReader(cfg, lambda event: self.post_message(SerialScan(event)),
                                          lambda status: self.post_message(ScannerStatusChanged(status)),
                                          opener=self.serial_opener, **retry)
        self.serial_reader.start()

    def on_unmount(self) -> None:
        reader, self.serial_reader = self.serial_reader, None
        if reader is not None:
            reader.stop()  # at most one read timeout (50 ms): the thread checks its stop flag

    @on(SerialScan)
    async def _serial_scan(self, message: SerialScan) -> None:
        await self._take_scan(message.event)

    @on(ScannerStatusChanged)
    def _serial_status(self, message: ScannerStatusChanged) -> None:
        status = message.status
        if self.serial_reader is None:
            return  # stopping: the app is closing
        if status.state in ("connected", "connecting"):
            # "connected: serial /dev/ttyUSB0 9600 8N1"
            text = f"{status.state}: serial {self.serial_reader.cfg.describe()}"
        else:
            # "waiting: serial port /dev/ttyUSB0 disconnected: waiting for it to come back"; a
            # closing hint in brackets is for the command line (the README has it too).
            text = f"{status.state}: {re.sub(r' [(][^()]*[)]$', '', status.message)}"
        self.scanner_state = status.state
        self.scanner_status = text

    # -- scanners: where a scan goes -----------------------------------------------------------
    async def _take_scan(self, event: ScanEvent) -> None:
        """A scan or a misread from the wedge, a paste or the serial scanner: to the active
        screen (see the module doc for pop-ups and screens that take no scans)."""
        await self._close_notice(scan=True)  # a notice never stops a scanner
        screen = self.screen
        if getattr(screen, "handle_scan", None) is None:
            if isinstance(screen, ModalScreen):
                await self._scan_into_popup(screen, event)
                return
            if "scan_in" not in self.screen_specs:
                what = event.barcode if isinstance(event, Scan) else event.raw
                self.notify(f"{what}: this screen takes no scans", severity="error")
                return
            await self.switch_mode("scan_in")  # the README: scans elsewhere are Scan In Items
            screen = self.screen
        if isinstance(screen, DeskScreen) and not isinstance(screen.focused, Input):
            target = screen.typing_target()  # S2: the scan field is focused after a scan
            if target is not None:
                screen.set_focus(target)
        if isinstance(event, Rejected):
            if isinstance(screen, DeskScreen):
                screen.scan_refused(event.reason, event.raw)
            else:
                self.notify(event.reason, title="Not a barcode", severity="error")
            return
        self.deliver_scan(event.barcode, screen=screen)

    async def _close_notice(self, *, scan: bool = False) -> None:
        """Close the notice pop-up on top, if one is, and wait until it is off the stack. For a
        scan, a pop-up that only shows something (``SCAN_CLOSES``: help, an audit trail) closes
        too: the scan is for the screen underneath.

        ``dismiss`` only schedules the pop: a scan routed on at once would still find the notice
        on top, and the screen underneath, acting on it, could open the next notice while the
        first is still there (two pop-ups, the second never seen; the next key crashed the app
        with DuplicateIds). Awaiting here, in the App's own handler, is allowed (a screen may
        not await its own dismissal) and keeps every later key and scan behind it."""
        screen = self.screen
        closes = isinstance(screen, NoticePopup) or (scan and getattr(screen, "SCAN_CLOSES", False))
        if closes and isinstance(screen, ModalScreen) and screen.is_active:
            await screen.dismiss(None)

    async def _scan_into_popup(self, screen: Screen[Any], event: ScanEvent) -> None:
        """A pop-up without ``handle_scan``: a scan is typed into its text field and Enter
        pressed, as a scanner always did (a patron card into the Request pop-up); anywhere
        else in a pop-up it would pick whatever is highlighted, so it is refused."""
        focused = screen.focused
        if isinstance(event, Rejected):
            self.notify(event.reason, title="Not a barcode", severity="error")
        elif isinstance(focused, Input) and not isinstance(screen, CommandPalette):
            focused.insert_text_at_cursor(event.barcode)
            await self.run_action("submit", focused)
        else:
            self.notify(f"{event.barcode} was not used: close the pop-up first (Esc), then scan it again",
                        title="Scan not used", severity="error")

    def deliver_scan(self, barcode: str, *, screen: Screen[Any] | None = None) -> bool:
        """Hand a barcode to a screen's scan handler (default: the active screen's), through
        the double-scan filter (S4); False if the screen takes no scans.

        A repeat within the window is not acted on: the screen says so instead. When the
        handler reports a failure (returns False), the barcode is forgotten, so scanning it
        again at once is not called a repeat."""
        target = screen if screen is not None else self.screen
        handler = getattr(target, "handle_scan", None)
        if handler is None:
            return False
        repeat = self.double_scans.check(barcode, self.scan_clock())
        if repeat is not None:
            self._say_repeat(target, repeat)
            return True
        if handler(barcode) is False:
            self.double_scans.forget(barcode)
            if self.db.engine.dialect.name != "sqlite" and self.database_state != "unreachable":
                # Any screen's refused scan may have been the server going away: ask it now,
                # so the header turns red at once, whichever screen took the scan.
                self.check_database()
        return True

    def _say_repeat(self, screen: Screen[Any], repeat: Repeat) -> None:
        if isinstance(screen, DeskScreen):
            screen.scan_repeated(repeat)
        else:
            self.notify(repeat.message, title="Scanned twice", severity="warning")


def make_app(db: Database, settings: Settings, *, clock: Clock | None = None,
             signed_in_as: str | operators.Standing | None = None) -> LibdeskApp:
    """The app for a database and workstation settings (tests pass a seeded database and a
    frozen clock). With sign-in required, ``signed_in_as`` is the operator already signed in
    (a ``libdesk login`` session, LIBDESK_SECRET); None opens the app on the sign-in screen."""
    return LibdeskApp(db, settings, clock=clock, signed_in_as=signed_in_as)


def run_app(db: Database, settings: Settings, *, signed_in_as: str | operators.Standing | None = None) -> int:
    """Run the desk app until the operator quits; the exit code for the shell."""
    app = make_app(db, settings, signed_in_as=signed_in_as)
    app.run()
    return int(app.return_code or 0)
