"""The borrowing state machine as one table (B1-B5): every action on a request, the statuses it
is allowed from, what it needs to know, its words (menu label, help, what it does) and the
engine function that does it.

Everything that asks "may this request do that now?" reads :data:`TRANSITIONS`: the engine's
own refusal (:func:`libdesk.borrowing.records.require`), ``allowed_actions`` (the ``allowed``
list of ``borrowing show`` and of every refusal), the app's action menu and its pop-ups, and the
command line, which registers one subcommand per :func:`cli_transitions` row (its name, help,
arguments) and calls :func:`libdesk.borrowing.perform`.

A row's label, title and note are ``str.format`` templates over :func:`words_of` a request view
(``{partner}``, ``{partner_label}``, ``{first_partner}``, ``{patron}``, ``{pickup}``,
``{active_messages}``, ``{item_barcode}``, ``{status_name}``, ``{id}``, ``{title}``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from libdesk.borrowing.states import (
    _CHECKIN_FROM,
    _WITH_PARTNER,
    CANCEL_BY,
    CANCELLED,
    COMPLETED,
    LOANED,
    LOCATE_FAILED,
    LOCATE_IN_PROCESS,
    PARTNER_PREFIX,
    READY_TO_BE_SENT,
    RECEIVED,
    REQUEST_SENT,
    RETURNED_TO_PATRON,
    SHIPPED,
    STATUSES,
    WAITING_FOR_CANCEL,
    current_partner,
)
from libdesk.errors import NotFound

# ``at``: what the action's place is.
PLACE = "place"
"""Where the operator is, for the history (default: Currently At)."""
DESK = "desk"
"""The circulation desk where it happens: required (default: Currently At)."""
PICKUP = "pickup"
"""The desk where it happens, default the request's pickup desk (not Currently At)."""
NO_PLACE = "none"
"""The action has no place (a new request names its pickup desk)."""


@dataclass(frozen=True)
class Param:
    """One thing an action needs to know besides the request (a keyword of its engine call)."""

    name: str
    """The engine keyword (and the CLI's ``--name``, ``_`` as ``-``)."""
    help: str
    kind: str = "text"
    """``text`` (one line), ``words`` (free text: on the CLI one or more words), ``int``,
    ``choice`` (one of :attr:`choices`), ``flag`` (a yes/no switch), ``list`` (codes, commas)."""
    positional: bool = False
    """On the CLI an argument (``TEXT``, ``MESSAGE_ID``), not an option."""
    required: bool = False
    choices: tuple[str, ...] = ()
    choice_labels: tuple[str, ...] = ()
    """The app's words for each of :attr:`choices`, in order."""
    default: Any = None
    label: str = ""
    """The app's field label ("Barcode")."""
    placeholder: str = ""
    prefill: str | None = None
    """A key of the request view whose value fills the app's field first (``item_barcode``)."""
    metavar: str | None = None
    keyword: str = ""
    """The engine function's keyword when it is not :attr:`name` (``patron`` -> ``patron_id``)."""
    negate: bool = False
    """A ``flag`` that passes False to :attr:`keyword` when given (``--no-locate``: ``locate_now``)."""

    @property
    def engine_keyword(self) -> str:
        return self.keyword or self.name


@dataclass(frozen=True)
class Transition:
    """One action on a borrowing request: a row of the state machine."""

    id: str
    """The CLI subcommand and the app's menu id (``partner-ship``)."""
    function: str
    """What does it: a function of :mod:`libdesk.borrowing`, or ``scan_in`` (a desk's Scan In of
    the request's item, :func:`libdesk.scan.scan_in`)."""
    doing: str
    """What a refusal says cannot be done ("record a shipment")."""
    statuses: tuple[str, ...]
    """The statuses it is allowed from (see also :attr:`when`, :attr:`also`)."""
    label: str
    """The app's menu entry (a template)."""
    help: str
    """One line: the CLI's help."""
    note: str = ""
    """What will happen, for the app's pop-up (a template)."""
    title: str = ""
    """The app's pop-up title (a template); the request is added after it."""
    ok: str = "OK"
    """The pop-up's button."""
    confirm: bool = False
    """The app asks before doing it (an action that needs no answer but cannot be undone)."""
    params: tuple[Param, ...] = ()
    at: str = PLACE
    at_help: str = "where you are, for the history (else Currently At)"
    desk_first: tuple[str, ...] = ("here",)
    """The desk the app offers first (``at`` = desk): ``here`` (Currently At, when a desk) or a key
    of the request view (``pickup``, ``rs_desk``), the first one there."""
    partner: bool = False
    """Recorded by staff for the partner (its event is named ``partner_*``)."""
    when: Callable[[dict[str, Any], int], bool] | None = None
    """A further condition, besides the status (the request row; its active general messages)."""
    also: Callable[[dict[str, Any]], bool] | None = None
    """Allowed outside :attr:`statuses` too when this holds (a cancelled request whose item shipped)."""
    word: str = ""
    """Its name in ``allowed_actions`` (default: :attr:`id`)."""
    also_word: str = ""
    """Its name there when allowed by :attr:`also`."""
    listed: bool = True
    """In ``allowed_actions`` (False: an entry of the app's menu only)."""
    cli: bool = True
    """A ``libdesk borrowing`` subcommand."""

    def allows(self, b: dict[str, Any], active_messages: int = 0) -> bool:
        """Whether request row ``b`` (its status, and whatever :attr:`when` needs) allows it now."""
        if b["status"] in self.statuses:
            return self.when is None or self.when(b, active_messages)
        return self.also is not None and self.also(b)

    def name_for(self, b: dict[str, Any]) -> str:
        """Its name in ``allowed_actions`` for ``b``."""
        if self.also_word and b["status"] not in self.statuses:
            return self.also_word
        return self.word or self.id

    @property
    def cli_name(self) -> str:
        return self.id


def _shipped_cancelled(b: dict[str, Any]) -> bool:
    return b["status"] in CANCELLED and b["shipped_at"] is not None


def _not_received(b: dict[str, Any]) -> bool:
    return _shipped_cancelled(b) and b["item_id"] is None


def _received(b: dict[str, Any]) -> bool:
    return _shipped_cancelled(b) and b["item_id"] is not None


def _has_partner(b: dict[str, Any], _active: int) -> bool:
    return current_partner(b) is not None


def _item_left(b: dict[str, Any], _active: int) -> bool:
    return b["item_id"] is not None and b["item_removed_at"] is None


_OPEN = tuple(s for s in STATUSES if s != COMPLETED)

_BARCODE = Param("barcode", "the lender's barcode, when known (receive uses it)", label="Their barcode",
                 placeholder="the lender's barcode, if known", prefill="item_barcode")

TRANSITIONS: dict[str, Transition] = {t.id: t for t in (
    Transition(
        "new", "new_request", "create a request", (), "New borrowing request…",
        "a new borrowing request: Locate in Process, then the locate forms the rota", at=NO_PLACE,
        params=(
            Param("patron", "", kind="text", required=True, keyword="patron_id"),
            Param("title", "", kind="text", required=True),
            Param("author", ""),
            Param("identifier", "ISBN, OCLC number …"),
            Param("partners", "partners to ask, in order (default: the institution's partners; '' = none holds it)",
                  kind="list", metavar="CODE,CODE"),
            Param("pickup", "", required=True, metavar="DESK"),
            Param("note", "a staff note (an Active Note until dismissed)"),
            Param("no_locate", "leave it in Locate in Process (a locate that hung)", kind="flag",
                  keyword="locate_now", negate=True),
        ), listed=False),
    Transition(
        "locate", "locate", "locate partners", (LOCATE_IN_PROCESS,), "Locate again (form the rota)",
        "run the locate again for a request in Locate in Process"),
    Transition(
        "send", "send", "send", (READY_TO_BE_SENT,), "Send to {first_partner}",
        "send a Ready to be Sent request to the first partner of its rota"),
    Transition(
        "receive", "receive", "receive an item", (SHIPPED,), "Receive the item…      a temporary item, at a desk",
        "receive the lender's item: a temporary item on the pickup hold shelf",
        title="Receive the item", ok="Receive",
        note=("A temporary item is made: on the hold shelf when received at the pickup desk ({pickup}), else in "
              "transit to it; the patron is told it waits."),
        params=(Param("barcode", "the temporary item's barcode (default: the lender's, else RS + id)",
                      label="Barcode", placeholder="blank: the lender's, else RS + the request number",
                      prefill="item_barcode"),),
        at=DESK, at_help="the receiving desk (else Currently At)", desk_first=("here", "pickup"),
        also=_not_received),
    Transition(
        "loan", "loan", "lend the item", (RECEIVED,), "Loan to patron {patron} at {pickup}",
        "lend the received item to the request's patron",
        at=PICKUP, at_help="the desk (default: the pickup desk)"),
    Transition(
        "return", "return_item", "return the item", (LOANED,), "Return the item…       at the desk where it came back",
        "return the item: to the lender, or via the resource-sharing desk",
        title="Return the item", ok="Return",
        note=("The desk where the patron returned it: at the resource-sharing library it goes back to the lender, "
              "elsewhere in transit to the resource-sharing desk."),
        at=DESK, at_help="the desk where it is returned (else Currently At)"),
    Transition(
        "scan-in", "scan_in", "scan the item in", (RETURNED_TO_PATRON,), "Scan the item in…      at a desk",
        "Scan In the request's item at a desk (libdesk scan)",
        title="Scan In {item_barcode}", ok="Scan in",
        note=("Scan In at a circulation desk, as if scanned there: the item goes where its request says (back to "
              "the lender, or out of the catalogue once the lender checked it in)."),
        at=DESK, desk_first=("rs_desk",), also=_received,
        word="scan in at the resource-sharing desk", also_word="scan the item in", cli=False),
    Transition(
        "partner-ship", "partner_ship", "record a shipment", (REQUEST_SENT, WAITING_FOR_CANCEL),
        "{partner} shipped the item…", "record: the partner shipped the item (Shipped Physically)",
        title="{partner_label} shipped the item", ok="Record shipment",
        note=("Recorded for the partner: the request becomes Shipped Physically (the weekly check lists it until "
              "it is received)."),
        params=(_BARCODE,), partner=True),
    Transition(
        "partner-reject", "partner_reject", "record a partner's rejection", (REQUEST_SENT, WAITING_FOR_CANCEL),
        "{partner} rejected the request…", "record: the partner rejected (next partner, or Rejected by Partner)",
        title="{partner_label} rejected the request", ok="Record rejection",
        note=("Recorded for the partner: the next partner of the rota gets the request; after the last one it is "
              "Rejected by Partner and the patron is told."),
        params=(Param("reason", "", default="", label="Reason", placeholder="optional, e.g. not on shelf"),), partner=True),
    Transition(
        "partner-expire", "partner_expire", "record an expiry at the partner", (REQUEST_SENT, WAITING_FOR_CANCEL),
        "The request expired at {partner}…", "record: the request expired at the partner (next partner, or Expired)",
        title="The request expired at {partner_label}?", ok="Record expiry", confirm=True,
        note=("Recorded for the partner: the next partner of the rota gets the request; after the last one it is "
              "Expired and the patron is told."), partner=True),
    Transition(
        "cancel", "cancel", "cancel", (LOCATE_IN_PROCESS, READY_TO_BE_SENT, REQUEST_SENT, SHIPPED, RECEIVED),
        "Cancel…                by the patron or by staff (Del)",
        "cancel the request (patron from their account, or staff)",
        title="Cancel request {id} · {title}: on whose behalf?",
        note=("{status_name}: what cancelling does from here, the result says (a partner that has it is asked to "
              "cancel; an item already shipped still arrives and goes back to the lender)."),
        params=(Param("by", "", kind="choice", choices=CANCEL_BY, default="patron",
                      choice_labels=("By the patron   (from their account)",
                                     "By staff        (the patron is told to try InterLibrary Loan)")),)),
    Transition(
        "complete", "complete", "route to Request Completed", (LOCATE_IN_PROCESS, LOCATE_FAILED),
        "Complete…              route it to Request Completed",
        "route a Locate Failed / Locate in Process request to Request Completed",
        title="Route request {id} to Request Completed?", ok="Complete it", confirm=True,
        note=("{status_name}: the seed's clean-up. If a mistake was made, submit a new request for patron {patron} "
              "first (ctrl+n).")),
    Transition(
        "partner-checkin", "partner_checkin", "record the lender's check-in", _CHECKIN_FROM,
        "{partner} checked the item in…", "record: the lender checked the item in (Request Completed)",
        title="{partner_label} checked the item in?", ok="Record check-in", confirm=True,
        note="Recorded for the lender: the request becomes Request Completed.", partner=True,
        also=_shipped_cancelled),
    Transition(
        "partner-message", "partner_message", "record a partner's message (no partner has it)", _WITH_PARTNER,
        "{partner} sent a general message…", "record a general message from the partner (B6)",
        title="General message from {partner_label}", ok="Record message",
        note="It stays active, in the header's task count, until dismissed.",
        params=(Param("text", "", kind="words", positional=True, required=True, default="", metavar="TEXT", label="Message",
                      placeholder="what the lender wrote"),),
        partner=True, when=_has_partner),
    Transition(
        "dismiss", "dismiss", "dismiss a message", STATUSES, "Dismiss all {active_messages} general messages",
        "dismiss a message or note (default: every active general message)",
        params=(Param("message_id", "", kind="int", positional=True, metavar="MESSAGE_ID"),),
        when=lambda b, active: active > 0),
    Transition(
        "note", "add_note", "add a note", _OPEN, "Add a note…", "add a staff note (an Active Note until dismissed)",
        title="Add a note", ok="Add note", note="An Active Note until dismissed (the daily check lists it).",
        params=(Param("text", "", kind="words", positional=True, required=True, default="", metavar="TEXT", label="Note"),)),
    Transition(
        "cleanup", "scan_in", "clean up", (COMPLETED,), "Clean up: scan {item_barcode} in at a desk…",
        "Scan In the item of a completed request not returned properly (B8)",
        title="Scan In {item_barcode}", ok="Scan in",
        note=("Scan In at a circulation desk, as if scanned there: the item goes where its request says (back to "
              "the lender, or out of the catalogue once the lender checked it in)."),
        at=DESK, when=_item_left, listed=False, cli=False),
)}
"""Every action on a borrowing request, in the order ``allowed_actions`` and the app's menu list them."""

ACTIONS = tuple(t for t in TRANSITIONS.values() if t.id != "new")


def transition(action_id: str) -> Transition:
    """The row of ``action_id``.

    Raises:
        NotFound: no such action.
    """
    try:
        return TRANSITIONS[action_id]
    except KeyError:
        raise NotFound(f"{action_id!r} is not a borrowing action (one of: {', '.join(TRANSITIONS)})") from None


def allowed_actions(b: dict[str, Any], active_messages: int = 0) -> list[str]:
    """What the request's status allows now: ``borrowing`` subcommand names, or the desk
    action in words where the next step is a scan at a desk."""
    return [t.name_for(b) for t in ACTIONS if t.listed and t.allows(b, active_messages)]


def available(b: dict[str, Any], active_messages: int = 0) -> list[str]:
    """The ids of every action request row ``b`` allows now (the app's menu; ``cleanup`` too)."""
    return [t.id for t in ACTIONS if t.allows(b, active_messages)]


def cli_transitions() -> list[Transition]:
    """The rows the command line registers as ``libdesk borrowing`` subcommands, in order."""
    return [t for t in TRANSITIONS.values() if t.cli]


def words_of(b: dict[str, Any]) -> dict[str, Any]:
    """The fields a row's templates use, from a request view (:func:`libdesk.borrowing.show`)."""
    rota = b.get("rota") or []
    return {
        "id": b.get("id"),
        "title": b.get("title") or "",
        "status_name": b.get("status_name") or "",
        "patron": b.get("patron"),
        "pickup": b.get("pickup") or "the pickup desk",
        "partner": b.get("current_partner") or "the partner",
        "partner_label": b.get("current_partner_label") or "the partner",
        "first_partner": b.get("next_partner") or (rota[0] if rota else "the first partner"),
        "active_messages": b.get("active_messages", 0),
        "item_barcode": b.get("item_barcode") or "the item",
    }


def label(action_id: str, b: dict[str, Any]) -> str:
    """The menu entry of ``action_id`` for request view ``b``."""
    return TRANSITIONS[action_id].label.format(**words_of(b))


def title(action_id: str, b: dict[str, Any]) -> str:
    return TRANSITIONS[action_id].title.format(**words_of(b))


def explain(action_id: str, b: dict[str, Any]) -> tuple[str, bool]:
    """What ``action_id`` will do to request view ``b``, for the pop-up that asks, and whether
    that is a warning (a lender's check-in of an item that did not come back properly)."""
    t = TRANSITIONS[action_id]
    note = t.note.format(**words_of(b))
    if action_id == "partner-checkin":
        item = b.get("item")
        if item and not str(item.get("transit_to") or "").startswith(PARTNER_PREFIX):
            return (note + f"\n\nThe item {item['barcode']} is still here ({item['process_name']}): it was not "
                    "returned properly, and the request will be in the monthly report."), True
    return note, False
