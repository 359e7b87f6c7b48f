"""Who may do what: the places an action touches, and operators' sign-in.

Permissions (W3, issue 14): an operator may act only at the places the institution file
gives them, and that holds for *every* place an action touches, not only the place the
operator says they are at (``--at``). Each engine action names what it touches through
:meth:`libdesk.core.Ctx.touch` before it changes anything; the check itself lives here,
once (:func:`check_places`). What each action touches:

=========================  ==========================================================
scan in, loan, return,     the place it happens at (``at``): a scan is the item in hand
receive, bulk status/Done
request place              the pickup desk (and ``at`` when given)
request activate, cancel,  the request's place: its department (work order) or its
expiry                     pickup desk (patron request)
request edit               the request's place (like placing a work order, it may send the
                           request on to any department of its type)
workorder --in-hand        an item in a process (transit, hold shelf, work order): where
                           it is meant to be now (below), which it leaves at once; any desk may send an item to any department's
                           work order (the normal flow), and a request placed without
                           the item in hand only joins the queue
physical item editor       the new department and the item's current department
missing / lost             where the item is meant to be: its department, its transit
                           destination, its hold shelf, else its home desk
borrowing                  the role ``borrowing``; receive, loan and return of a borrowed
                           item need ``borrowing_desk`` (or ``borrowing``) and their desk
=========================  ==========================================================

A refusal is raised before the action writes anything, and the action's transaction rolls
back, so a refused action leaves the database exactly as it was.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets as _secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from libdesk import clock
from libdesk.errors import InvalidInput, LibdeskError, NotPermitted
from libdesk.institution import Institution, Operator
from libdesk.models import HOLD_SHELF, TRANSIT, WORK_ORDER, Meta, OperatorAccount, table

BORROWING_ROLE = "borrowing"
"""Manages resource-sharing borrowing requests (every borrowing action)."""
BORROWING_DESK_ROLE = "borrowing_desk"
"""Receives, lends and returns borrowed items at a desk (a subset of ``borrowing``)."""
ADMIN_ROLE = "admin"


def check_places(inst: Institution, op: Operator, codes: Iterable[str | None], doing: str = "") -> None:
    """Raise NotPermitted unless ``op`` may act at every place in ``codes`` (None skipped).

    Raises:
        NotPermitted: naming the first place the operator may not act at.
    """
    for code in dict.fromkeys(c for c in codes if c is not None):
        if not op.may_act_at(code):
            what = f" ({doing})" if doing else ""
            raise NotPermitted(f"Operator {op.id} may not act at {inst.place_name(code)} ({code}){what}")


def check_role(op: Operator, role: str) -> None:
    """Raise NotPermitted unless ``op`` has ``role`` (an operator with every place, "*", has all roles).

    Raises:
        NotPermitted: the role is missing.
    """
    implied = {BORROWING_DESK_ROLE: (BORROWING_ROLE,)}.get(role, ())
    if role not in op.roles and not set(implied) & set(op.roles) and "*" not in op.places:
        what = {BORROWING_ROLE: "does not manage borrowing requests",
                BORROWING_DESK_ROLE: "does not handle borrowed items at the desk",
                ADMIN_ROLE: "is not an administrator"}.get(role, f"lacks the role {role!r}")
        raise NotPermitted(f"Operator {op.id} {what} (needs the role {role!r})")


def item_place(inst: Institution, item: dict[str, Any]) -> str | None:
    """Where an item is meant to be now: the place whose staff answer for it."""
    process = item["process_type"]
    if process == WORK_ORDER:
        return item["department"]
    if process == TRANSIT and item["transit_to"] in inst.places:
        return item["transit_to"]
    if process == HOLD_SHELF and item["hold_shelf"]:
        return item["hold_shelf"]
    return inst.home_desk(item["library"], item["location"]).code


def request_place(req: dict[str, Any]) -> str | None:
    """The place a request belongs to: its department (work order) or pickup desk (patron)."""
    return req["department"] or req["pickup"]


# -- sign-in ------------------------------------------------------------------------------
#
# Secrets are hashed with scrypt (hashlib, the standard library): memory-hard, so guessing
# on a GPU is costly, with its parameters kept in the stored string so they can be raised
# later; argon2id is as good but would add a C-extension dependency for no gain here.
# n = 2**15, r = 8, p = 3 is one of OWASP's scrypt settings (32 MiB; 0.41 s per hash,
# measured on this shared 2-core machine).


SECRET_ENV = "LIBDESK_SECRET"
"""A scripted station's secret (with --operator): checked, rate-limited, on every command."""
SCRYPT_LOG_N, SCRYPT_R, SCRYPT_P = 15, 8, 3
MIN_SECRET = 4
account_t = table(OperatorAccount)
meta_t = table(Meta)
SESSION_KEY = "session_key"


class NotSignedIn(LibdeskError):
    """A wrong secret, a locked or disabled operator, or no valid session."""

    kind = "not_signed_in"


def hash_secret(secret: str) -> str:
    salt = _secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=2 ** SCRYPT_LOG_N, r=SCRYPT_R, p=SCRYPT_P,
                            maxmem=64 * 1024 * 1024, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${SCRYPT_LOG_N}${SCRYPT_R}${SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_secret(secret: str, stored: str) -> bool:
    try:
        scheme, log_n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        want = base64.b64decode(digest)
        got = hashlib.scrypt(secret.encode(), salt=base64.b64decode(salt), n=2 ** int(log_n), r=int(r), p=int(p),
                             maxmem=128 * 1024 * 1024, dklen=len(want))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


def _check_secret_text(secret: str) -> None:
    if len(secret) < MIN_SECRET:
        raise InvalidInput(f"A secret needs at least {MIN_SECRET} characters")
    if any(ord(c) < 32 for c in secret):
        raise InvalidInput("A secret may not contain control characters")


_ACCOUNT = select(account_t).where(account_t.c.operator == bindparam("op"))
"""Built once: listen re-checks an account before every scan."""


def _account(conn: Connection, op_id: str) -> dict[str, Any] | None:
    row = conn.execute(_ACCOUNT, {"op": op_id}).first()
    return dict(row._mapping) if row is not None else None


def accounts(db: Any) -> list[dict[str, Any]]:
    """Every institution operator with their sign-in state (never the secret)."""
    with db.read() as conn:
        out = []
        for op in db.institution.operators.values():
            acc = _account(conn, op.id)
            out.append({"operator": op.id, "name": op.name, "has_secret": acc is not None,
                        "disabled": bool(acc and acc["disabled"]),
                        "locked_until": acc["locked_until"].isoformat() if acc and acc["locked_until"] else None})
        return out


def _any_account(conn: Connection) -> bool:
    return conn.execute(select(account_t.c.operator).limit(1)).first() is not None


def set_secret(db: Any, op_id: str, secret: str, *, by: str | None, new: bool = False) -> str:
    """Give ``op_id`` a secret (``new``: refuse if they already have one). ``by`` is the
    signed-in administrator, or the operator themself; None only while no operator has a
    secret yet (setting up a database: whoever holds the file has everything anyway).

    Raises:
        NotFound (operator), NotPermitted (not an administrator), InvalidInput (short secret; exists).
    """
    op = db.institution.operator(op_id)
    _check_secret_text(secret)
    hashed = hash_secret(secret)
    with db.write() as conn:
        if by is None:
            if _any_account(conn):
                raise NotPermitted("Sign in as an administrator first (libdesk login) to set secrets")
        elif by != op.id:
            check_role(db.institution.operator(by), ADMIN_ROLE)
        acc = _account(conn, op.id)
        now = clock.now()
        if acc is None:
            conn.execute(insert(account_t).values(operator=op.id, secret_hash=hashed, disabled=False, failures=0,
                                                  generation=1, updated_at=now, updated_by=by or op.id))
        elif new:
            raise InvalidInput(f"Operator {op.id} already has a secret: use `libdesk operator set-secret`")
        else:
            conn.execute(update(account_t).where(account_t.c.operator == op.id).values(
                secret_hash=hashed, failures=0, locked_until=None, generation=acc["generation"] + 1,
                updated_at=now, updated_by=by or op.id))
    return f"Secret set for {op.id}" + (" (earlier sessions of theirs are signed out)" if not new else "")


def set_disabled(db: Any, op_id: str, disabled: bool, *, by: str) -> str:
    """Disable (or enable) an operator: a disabled one cannot sign in, and their sessions end.

    Raises:
        NotFound, NotPermitted (not an administrator), InvalidInput (no secret yet).
    """
    op = db.institution.operator(op_id)
    check_role(db.institution.operator(by), ADMIN_ROLE)
    with db.write() as conn:
        acc = _account(conn, op.id)
        if acc is None:
            if not disabled:
                raise InvalidInput(f"Operator {op.id} has no secret yet: `libdesk operator add {op.id}`")
            # Disabling an operator without a secret: keep a row with an unusable hash.
            conn.execute(insert(account_t).values(operator=op.id, secret_hash="!", disabled=True, failures=0,
                                                  generation=1, updated_at=clock.now(), updated_by=by))
        else:
            conn.execute(update(account_t).where(account_t.c.operator == op.id).values(
                disabled=disabled, generation=acc["generation"] + 1, updated_at=clock.now(), updated_by=by,
                failures=0, locked_until=None))
    return f"Operator {op.id} {'disabled' if disabled else 'enabled'}"


def authenticate(db: Any, op_id: str, secret: str) -> Operator:
    """Check an operator's secret; failures are recorded and lock the operator out for
    ``lockout_minutes`` after ``max_failures`` in a row (a correct secret is refused too
    while locked).

    Raises:
        NotFound (unknown operator), NotSignedIn (wrong secret, locked, disabled, no secret).
    """
    op = db.institution.operator(op_id)
    rules = db.institution.sign_in
    with db.read() as conn:
        acc = _account(conn, op.id)
    now = clock.now()
    if acc is None:
        raise NotSignedIn(f"Operator {op.id} has no secret yet: an administrator sets one (libdesk operator add {op.id})")
    if acc["disabled"]:
        raise NotSignedIn(f"Operator {op.id} is disabled")
    if acc["locked_until"] is not None and acc["locked_until"] > now:
        raise NotSignedIn(f"Operator {op.id} is locked after {rules.max_failures} wrong secrets until "
                          f"{acc['locked_until'].strftime('%H:%M')}")
    if verify_secret(secret, acc["secret_hash"]):
        if acc["failures"] or acc["locked_until"]:
            with db.write() as conn:
                conn.execute(update(account_t).where(account_t.c.operator == op.id).values(failures=0, locked_until=None))
        return op
    with db.write() as conn:  # its own transaction: the failure stays recorded though we refuse
        row = conn.execute(select(account_t.c.failures).where(account_t.c.operator == op.id)).first()
        failures = (row.failures if row else 0) + 1
        locked = now + timedelta(minutes=rules.lockout_minutes) if failures >= rules.max_failures else None
        conn.execute(update(account_t).where(account_t.c.operator == op.id).values(
            failures=0 if locked else failures, locked_until=locked))
    if locked is not None:
        raise NotSignedIn(f"Wrong secret for {op.id}; locked for {rules.lockout_minutes} minutes")
    raise NotSignedIn(f"Wrong secret for {op.id} ({rules.max_failures - failures} tries left before a lockout)")


# -- workstation sessions -------------------------------------------------------------------

_SESSION_KEY = select(meta_t.c.value).where(meta_t.c.key == SESSION_KEY)


def _session_key(db: Any, create: bool) -> bytes | None:
    with (db.write() if create else db.read()) as conn:
        row = conn.execute(_SESSION_KEY).first()
        if row is not None:
            return bytes.fromhex(row.value)
        if not create:
            return None
        key = _secrets.token_bytes(32)
        conn.execute(insert(meta_t).values(key=SESSION_KEY, value=key.hex()))
        return key


def _sign(key: bytes, payload: dict[str, Any]) -> str:
    return hmac.new(key, json.dumps(payload, sort_keys=True).encode(), hashlib.sha256).hexdigest()


def _db_id(key: bytes) -> str:
    return hashlib.sha256(b"libdesk-db-id" + key).hexdigest()[:16]


def _read_sessions(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_sessions(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def login(db: Any, op_id: str, secret: str, path: Path) -> dict[str, Any]:
    """Sign in and keep a signed, expiring session for this database in ``path`` (mode 0600).

    Raises:
        NotFound, NotSignedIn.
    """
    op = authenticate(db, op_id, secret)
    key = _session_key(db, create=True)
    assert key is not None
    with db.read() as conn:
        acc = _account(conn, op.id)
    now = clock.now()
    payload = {"operator": op.id, "db": _db_id(key), "generation": acc["generation"] if acc else 0,
               "expires": (now + timedelta(hours=db.institution.sign_in.session_hours)).isoformat()}
    data = _read_sessions(path)
    data[str(payload["db"])] = {**payload, "sig": _sign(key, payload)}
    _write_sessions(path, data)
    return {"operator": op.id, "expires": payload["expires"], "session_file": str(path)}


def logout(db: Any, path: Path) -> bool:
    key = _session_key(db, create=False)
    data = _read_sessions(path)
    if key is None or data.pop(_db_id(key), None) is None:
        return False
    _write_sessions(path, data)
    return True


def session_operator(db: Any, path: Path) -> str | None:
    """The operator of this workstation's valid session for this database, else None."""
    return session_check(db, path)[0]


def session_check(db: Any, path: Path) -> tuple[str | None, str]:
    """This workstation's session for this database: (operator, "") while it is valid, else
    (None, why not, in words: none here, expired, the secret changed, disabled)."""
    key = _session_key(db, create=False)
    if key is None:
        return None, "no session on this workstation"
    entry = _read_sessions(path).get(_db_id(key))
    if not isinstance(entry, dict):
        return None, "no session on this workstation (signed out?)"
    payload = {k: entry.get(k) for k in ("operator", "db", "generation", "expires")}
    if not hmac.compare_digest(str(entry.get("sig", "")), _sign(key, payload)):
        return None, "the session file is not valid"
    try:
        expires = datetime.fromisoformat(str(payload["expires"]))
    except ValueError:
        return None, "the session file is not valid"
    if expires <= clock.now():
        return None, f"the session expired at {expires.strftime('%Y-%m-%d %H:%M')}"
    op = db.institution.operators.get(str(payload["operator"]))
    if op is None:
        return None, f"operator {payload['operator']} is no longer in the institution file"
    with db.read() as conn:
        acc = _account(conn, op.id)
    if acc is None:
        return None, f"operator {op.id} has no secret any more"
    if acc["disabled"]:
        return None, f"operator {op.id} is disabled"
    if acc["generation"] != payload["generation"]:
        return None, f"the secret of {op.id} was changed (or they were disabled and enabled)"
    return op.id, ""


@dataclass(frozen=True)
class Standing:
    """Who acts for a command or a station, and how they came to (:func:`standing`), so that
    a long run (``listen``) can check again that it still holds (:func:`recheck`)."""

    operator: str
    how: str
    """``session`` (this workstation's ``libdesk login``), ``secret`` (LIBDESK_SECRET, checked
    once), or ``claimed`` (sign-in not required)."""
    generation: int | None = None
    """The operator's account generation when the secret was checked (``secret``)."""
    session_path: Path | None = None


def resolve(db: Any, claimed: str, *, explicit: bool, session_path: Path, secret: str | None) -> str:
    """Who acts for a CLI command or ``listen`` (see :func:`standing`).

    Raises:
        NotFound (unknown operator), NotSignedIn.
    """
    return standing(db, claimed, explicit=explicit, session_path=session_path, secret=secret).operator


def standing(db: Any, claimed: str, *, explicit: bool, session_path: Path, secret: str | None) -> Standing:
    """Who acts for a CLI command or ``listen``: with sign-in required, the operator whose
    secret is in ``LIBDESK_SECRET`` or whose session this workstation holds; without it, the
    operator claimed (--operator or the settings file), unless disabled.

    Raises:
        NotFound (unknown operator), NotSignedIn.
    """
    inst = db.institution
    if not inst.sign_in.required:
        op = inst.operator(claimed)
        with db.read() as conn:
            acc = _account(conn, op.id)
        if acc is not None and acc["disabled"]:
            raise NotSignedIn(f"Operator {op.id} is disabled")
        return Standing(op.id, "claimed")
    if secret is not None:
        return sign_in(db, claimed, secret)
    current = session_operator(db, session_path)
    if current is None:
        raise NotSignedIn("Sign in first: libdesk login --operator ID (scripts: set LIBDESK_SECRET and --operator)")
    if explicit and claimed != current:
        raise NotSignedIn(f"Signed in as {current}, not {claimed}: libdesk login --operator {claimed}")
    return Standing(current, "session", session_path=session_path)


def sign_in(db: Any, op_id: str, secret: str) -> Standing:
    """:func:`authenticate`, kept as a :class:`Standing` to :func:`recheck` later (the desk
    app's sign-in screen, LIBDESK_SECRET).

    Raises:
        NotFound (unknown operator), NotSignedIn.
    """
    op = authenticate(db, op_id, secret)
    with db.read() as conn:
        acc = _account(conn, op.id)
    return Standing(op.id, "secret", generation=acc["generation"] if acc else None)


def recheck(db: Any, held: Standing) -> None:
    """Check again, during a long run, that ``held`` still stands: the session is still valid
    (not expired, not signed out, the secret unchanged), or the operator whose secret was
    checked has neither been disabled nor been given a new secret since. One or two reads, no
    hashing: cheap enough before every scan.

    Raises:
        NotSignedIn: one line saying why, and how to go on.
    """
    if held.how == "session" and held.session_path is not None:
        current, why = session_check(db, held.session_path)
        if current == held.operator:
            return
        if current is not None:
            why = f"this workstation is now signed in as {current}"
        raise NotSignedIn(f"Signed out: {why}; sign in again (libdesk login --operator {held.operator})")
    with db.read() as conn:
        acc = _account(conn, held.operator)
    if acc is not None and acc["disabled"]:
        raise NotSignedIn(f"Operator {held.operator} is disabled")
    if held.how == "secret" and (acc is None or acc["generation"] != held.generation):
        raise NotSignedIn(f"The secret of {held.operator} was changed: start again with the new one")
