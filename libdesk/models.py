"""SQLModel tables.

SQLModel defines the schema and serves ordinary reads and edits; the hot paths (a scan, bulk
actions, imports) use SQLAlchemy Core statements on the same ``__table__`` objects, built once
(DESIGN.md: the ORM costs about 4x Core per scan).

An item's whole state is on its row: the process it is in (``process_type``), the work order
(type, department, status), where it travels (``transit_to``), its loan, and the request it
is currently serving (``current_request_id``). ``base_status`` is derived: In place when the
item is in no process.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, DateTime, Index, Table, Text
from sqlmodel import Field, SQLModel

SCHEMA_VERSION = 5

# Process types (item show --json values).
LOAN = "loan"
TRANSIT = "transit"
WORK_ORDER = "work_order"
HOLD_SHELF = "hold_shelf"
ACQUISITION = "acquisition"
RESOURCE_SHARING = "resource_sharing"
MISSING = "missing"
LOST = "lost"
PROCESS_TYPES = (LOAN, TRANSIT, WORK_ORDER, HOLD_SHELF, ACQUISITION, RESOURCE_SHARING, MISSING, LOST)
PROCESS_NAMES = {
    LOAN: "Loan",
    TRANSIT: "Transit",
    WORK_ORDER: "Work Order",
    HOLD_SHELF: "Hold Shelf",
    ACQUISITION: "Acquisition",
    RESOURCE_SHARING: "Resource Sharing Request",
    MISSING: "Missing",
    LOST: "Lost",
}

# Request kinds and workflow steps.
PATRON = "patron"
WORK_ORDER_REQUEST = "work_order"
WAITING = "waiting"
PICKUP_FROM_SHELF = "pickup_from_shelf"
WAITING_FOR_REMOTE_STORAGE = "waiting_for_remote_storage"
TRANSIT_ITEM = "transit_item"
IN_PROCESS = "in_process"
ON_HOLD_SHELF = "on_hold_shelf"
COMPLETED = "completed"
CANCELLED = "cancelled"
STEP_NAMES = {
    WAITING: "Waiting in queue",
    PICKUP_FROM_SHELF: "Pickup From Shelf",
    WAITING_FOR_REMOTE_STORAGE: "Waiting for Remote Storage",
    TRANSIT_ITEM: "Transit Item",
    IN_PROCESS: "In Process",
    ON_HOLD_SHELF: "On Hold Shelf",
    COMPLETED: "Completed",
    CANCELLED: "Cancelled",
}
ACTIVE_STEPS = (WAITING, PICKUP_FROM_SHELF, WAITING_FOR_REMOTE_STORAGE, TRANSIT_ITEM, IN_PROCESS, ON_HOLD_SHELF)


class Item(SQLModel, table=True):
    """A physical item."""

    id: int | None = Field(default=None, primary_key=True)
    barcode: str = Field(unique=True, index=True)
    title: str = ""
    author: str = ""
    call_number: str = ""
    material_type: str = "BOOK"
    library: str = Field(index=True)
    location: str = ""
    process_type: str | None = Field(default=None, index=True)
    work_order_type: str | None = None
    department: str | None = Field(default=None, index=True)
    status: str | None = None
    transit_to: str | None = None
    hold_shelf: str | None = None
    loan_patron: str | None = Field(default=None, index=True)
    loan_due: date | None = None
    current_request_id: int | None = None
    wo_since: datetime | None = Field(default=None, sa_type=DateTime)
    """When the item arrived in its current department (Days in Department)."""
    borrowing_id: int | None = None
    version: int = 1
    created_at: datetime | None = Field(default=None, sa_type=DateTime)
    updated_at: datetime | None = Field(default=None, sa_type=DateTime)


class Request(SQLModel, table=True):
    """A patron request or a work-order request on an item."""

    __table_args__ = (Index("ix_request_item_active", "item_id", "active"),)

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="item.id")
    kind: str
    patron: str | None = Field(default=None, index=True)
    pickup: str | None = None
    work_order_type: str | None = None
    department: str | None = None
    note: str = ""
    in_hand: bool = False
    step: str = Field(default=WAITING, index=True)
    active: bool = True
    forced: bool = False
    forced_rank: int | None = None
    placed_at: datetime = Field(sa_type=DateTime)
    creator: str
    owner: str | None = None
    """The item's owning library, copied at placement: Monitor facets count requests alone."""
    material_type: str | None = None
    """The item's material type, copied at placement (as ``owner``)."""
    expiry: date | None = None
    closed_at: datetime | None = Field(default=None, sa_type=DateTime)


class Event(SQLModel, table=True):
    """One change: who, where, when, what, before and after."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=DateTime)
    operator: str
    place: str | None = None
    action: str
    item_id: int | None = Field(default=None, index=True)
    request_id: int | None = Field(default=None, index=True)
    borrowing_id: int | None = Field(default=None, index=True)
    barcode: str | None = None
    before: str | None = Field(default=None, sa_column=Column(Text))
    after: str | None = Field(default=None, sa_column=Column(Text))
    message: str = ""


class Patron(SQLModel, table=True):
    id: str = Field(primary_key=True)
    name: str = ""
    pseudo: bool = False
    active: bool = True


class Notice(SQLModel, table=True):
    """A notice to a patron (recall / due date change, hold available, cancellation)."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=DateTime)
    patron: str = Field(index=True)
    kind: str
    item_id: int | None = None
    request_id: int | None = None
    text: str = ""


class Meta(SQLModel, table=True):
    """Key/value facts about the database: schema version, the institution file's text."""

    key: str = Field(primary_key=True)
    value: str = ""


class BorrowingRequest(SQLModel, table=True):
    """A resource-sharing borrowing request (SPEC section B, seed 004): a patron's request for
    an item from a partner library, with its rota, status and the temporary item it brings.

    ``rota`` is a JSON list of partner codes in the order they are asked; ``current_partner``
    is the index in it of the partner now holding the request (None before it is sent).
    ``partners_given`` is the partner list given with the request (JSON), or None for the
    institution's partners. The status codes and their names are in :mod:`libdesk.borrowing`.
    """

    id: int | None = Field(default=None, primary_key=True)
    patron: str = Field(index=True)
    title: str
    author: str = ""
    identifier: str = ""
    pickup: str
    partners_given: str | None = None
    rota: str = "[]"
    current_partner: int | None = None
    status: str = Field(index=True)
    status_at: datetime = Field(sa_type=DateTime)
    """When the request entered its current status (the check views sort by it)."""
    cancel_by: str | None = None
    """Who asked to cancel (patron | staff): kept while Waiting for Cancel Response."""
    item_id: int | None = None
    item_barcode: str | None = None
    """The lender's barcode (given when shipped), then the temporary item's barcode."""
    item_removed_at: datetime | None = Field(default=None, sa_type=DateTime)
    """When the temporary item left the catalogue (returned properly, lender checked it in)."""
    creator: str
    created_at: datetime = Field(sa_type=DateTime)
    sent_at: datetime | None = Field(default=None, sa_type=DateTime)
    shipped_at: datetime | None = Field(default=None, sa_type=DateTime)
    received_at: datetime | None = Field(default=None, sa_type=DateTime)
    closed_at: datetime | None = Field(default=None, sa_type=DateTime)
    version: int = 1


class BorrowingMessage(SQLModel, table=True):
    """A general message from a lender, or a staff note, on a borrowing request; active until
    someone dismisses it (B6)."""

    id: int | None = Field(default=None, primary_key=True)
    borrowing_id: int = Field(foreign_key="borrowingrequest.id", index=True)
    kind: str
    """message (a lender's general message) | note (staff)."""
    partner: str | None = None
    text: str = Field(sa_column=Column(Text, nullable=False))
    at: datetime = Field(sa_type=DateTime)
    recorded_by: str
    active: bool = Field(default=True, index=True)
    dismissed_at: datetime | None = Field(default=None, sa_type=DateTime)
    dismissed_by: str | None = None


class OperatorAccount(SQLModel, table=True):
    """An operator's sign-in (issue 14): the operator's places and roles stay in the
    institution file; their secret, disabled flag and failed attempts live here.

    ``secret_hash`` is ``scrypt$<log2 n>$<r>$<p>$<salt b64>$<hash b64>`` (libdesk.operators);
    the secret itself is never stored. ``generation`` grows with every new secret or disable,
    so signed sessions issued before it no longer verify.
    """

    operator: str = Field(primary_key=True)
    secret_hash: str
    disabled: bool = False
    failures: int = 0
    """Failed sign-ins in a row (reset by a good one)."""
    locked_until: datetime | None = Field(default=None, sa_type=DateTime)
    generation: int = 1
    updated_at: datetime = Field(sa_type=DateTime)
    updated_by: str


def table(model: type[SQLModel]) -> Table:
    """The Core table of a model class, typed: SQLModel sets ``__table__`` when the class is
    made but does not declare it, so the one ``type: ignore`` for it lives here."""
    return model.__table__  # type: ignore[attr-defined]
