"""The request row inside an action: load it, refuse an action its status does not allow, apply
a change with its history event (one transaction, the caller's)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from libdesk.borrowing.states import MESSAGE, borrowing_t, message_t, partner_label, status_name
from libdesk.borrowing.transitions import TRANSITIONS, allowed_actions
from libdesk.core import (
    Ctx,
    known_id,
)
from libdesk.db import Database
from libdesk.errors import ConcurrentChange, NotFound, WrongState
from libdesk.operators import BORROWING_ROLE, check_role
from libdesk.routing import notify

_SELECT = select(borrowing_t).where(borrowing_t.c.id == bindparam("id")).with_for_update()

def _staff(ctx: Ctx) -> None:
    """Raises NotPermitted unless the operator manages borrowing requests."""
    check_role(ctx.operator, BORROWING_ROLE)


def _load(ctx: Ctx, borrowing_id: int) -> dict[str, Any]:
    row = ctx.conn.execute(_SELECT, {"id": _known(borrowing_id)}).first()
    if row is None:
        raise NotFound(f"No borrowing request {borrowing_id}")
    return dict(row._mapping)


def _known(borrowing_id: int) -> int:
    """Raises NotFound for an id no borrowing request can have (see :func:`core.known_id`)."""
    return known_id(borrowing_id, f"No borrowing request {borrowing_id}")


def _active_messages(conn: Connection, borrowing_id: int, kind: str | None = None) -> list[dict[str, Any]]:
    stmt = select(message_t).where(message_t.c.borrowing_id == borrowing_id, message_t.c.active.is_(True))
    if kind is not None:
        stmt = stmt.where(message_t.c.kind == kind)
    return [dict(r._mapping) for r in conn.execute(stmt.order_by(message_t.c.id))]


def _refuse(conn: Connection, b: dict[str, Any], doing: str) -> WrongState:
    """The refusal of an action the status does not allow, naming what is allowed from here."""
    allowed = allowed_actions(b, len(_active_messages(conn, b["id"], MESSAGE)))
    here = f"allowed from here: {', '.join(allowed)}" if allowed else "nothing more can be done (final status)"
    return WrongState(f"Borrowing request {b['id']} is {status_name(b['status'])}: cannot {doing}; {here}")


def _require(conn: Connection, b: dict[str, Any], action_id: str) -> None:
    """Refuse ``action_id`` unless its row of :data:`~libdesk.borrowing.transitions.TRANSITIONS`
    allows it from the request's status: the one check of every request action.

    Raises:
        WrongState: naming what is allowed from here.
    """
    t = TRANSITIONS[action_id]
    active = len(_active_messages(conn, b["id"], MESSAGE)) if t.when is not None else 0
    if not t.allows(b, active):
        raise _refuse(conn, b, t.doing)


_JSON_COLUMNS = ("rota", "partners_given")


def _plain(value: Any, key: str = "") -> Any:
    """A value for an event or a view: ISO times, JSON columns as lists."""
    if isinstance(value, datetime):
        return value.isoformat()
    if key in _JSON_COLUMNS and isinstance(value, str):
        return json.loads(value)
    return value


def _update(ctx: Ctx, b: dict[str, Any], action_name: str, message: str, *,
            item: dict[str, Any] | None = None, **changes: Any) -> None:
    """Apply ``changes`` to the request and write its event, in the action's transaction.

    Raises:
        ConcurrentChange: another desk changed the request since it was read.
    """
    if "status" in changes and changes["status"] != b["status"]:
        changes["status_at"] = ctx.now
    changed = {k: v for k, v in changes.items() if b[k] != v} or changes
    before = {k: _plain(b[k], k) for k in changed if k != "status_at"}
    after = {k: _plain(v, k) for k, v in changed.items() if k != "status_at"}
    done = ctx.conn.execute(
        update(borrowing_t).where(borrowing_t.c.id == b["id"], borrowing_t.c.version == b["version"])
        .values(**changes, version=b["version"] + 1)).rowcount
    if done != 1:
        raise ConcurrentChange(f"Borrowing request {b['id']} was changed at another desk a moment ago; "
                               "look at it again")
    b.update(changes)
    b["version"] += 1
    ctx.event(action_name, item=item, borrowing_id=b["id"], before=before, after=after, message=message)


def _partner_says(ctx: Ctx, code: str | None, what: str) -> str:
    """The history message of a partner's action recorded by staff."""
    return f"Partner {partner_label(ctx.inst, code)} {what} (recorded by {ctx.operator.id} for the partner)"


def _notify_cancelled(ctx: Ctx, b: dict[str, Any], why: str) -> None:
    notify(ctx, b["patron"], "borrowing_cancelled", None, None,
           f"Your borrowing request {b['id']} for {b['title']} was cancelled: {why}. "
           "Please submit an InterLibrary Loan request instead.")

def _read(db: Database, borrowing_id: int) -> dict[str, Any]:
    with db.read() as conn:
        row = conn.execute(select(borrowing_t).where(borrowing_t.c.id == _known(borrowing_id))).first()
    if row is None:
        raise NotFound(f"No borrowing request {borrowing_id}")
    return dict(row._mapping)

