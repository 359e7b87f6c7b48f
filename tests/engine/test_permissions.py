"""Issue 14 item 2: every operator x every action x every place, from the institution file.

For each action and each place it can touch, an administrator sets the scene on a fresh copy
of one database; then each operator of the institution tries the action. An operator not
permitted at a place the action touches is refused (NotPermitted) and the database stays
byte-identical; a permitted one is never refused for permission (the action may still fail
for another reason, e.g. a wrong state, which the matrix does not judge).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from libdesk import borrowing, circulation, institution, requests, workorders
from libdesk.db import open_database
from libdesk.errors import LibdeskError, NotPermitted
from libdesk.importing import insert_items
from tests.conftest import FROZEN, db_fingerprint, make_db

INST = institution.load_file(institution.demo_path())
DESKS = [p for p in INST.places.values() if p.is_desk]
DEPARTMENTS = [p for p in INST.places.values() if p.is_department]


def _item(db: Any, code: str, place: institution.Place) -> str:
    """A new item of the place's library; for a desk, one whose home is that desk."""
    library = place.library
    loc = next(c for c, loc in INST.locations.items() if loc.library == library and (
        not place.is_desk or INST.home_desk(library, c).code == place.code))
    insert_items(db, [{"barcode": code, "title": f"Title of {code}", "author": "A", "call_number": "QA1",
                       "material_type": "BOOK", "library": library, "location": loc, "process_type": None,
                       "version": 1, "created_at": FROZEN, "updated_at": FROZEN}], operator="admin", source="test")
    return code


def _request_at(db: Any, place: institution.Place) -> int:
    """An active request that belongs to ``place``: a work order there, or a patron pickup there."""
    code = _item(db, "PERM-R", place)
    if place.is_department:
        r = workorders.place_work_order(db, code, place.work_order_type or "", place.code, operator="admin")
    else:
        r = requests.place_request(db, code, "P0001", place.code, operator="admin")
    return int(r.extra["request"]["id"])


def _item_at(db: Any, place: institution.Place) -> str:
    """An item that is meant to be at ``place``: in a work order there, or at home there."""
    code = _item(db, "PERM-I", place)
    if place.is_department:
        workorders.edit_item(db, code, place.work_order_type or "", place.code, operator="admin")
    return code


def _other_department(place: institution.Place) -> institution.Place:
    return next(d for d in DEPARTMENTS if d.work_order_type != place.work_order_type)


# action name -> (places it is tried for, set-up by admin returning the target, the attempt)
Setup = Callable[[Any, institution.Place], Any]
Attempt = Callable[[Any, Any, str, institution.Place], Any]
ACTIONS: dict[str, tuple[list[institution.Place], Setup, Attempt]] = {
    "request activate": (DESKS + DEPARTMENTS, _request_at,
                         lambda db, rid, op, p: requests.activate(db, rid, operator=op)),
    "request cancel": (DESKS + DEPARTMENTS, _request_at,
                       lambda db, rid, op, p: requests.cancel(db, rid, operator=op, confirm=True)),
    "request expiry": (DESKS + DEPARTMENTS, _request_at,
                       lambda db, rid, op, p: requests.set_expiry(db, rid, "2026-12-31", operator=op)),
    "request edit": (DESKS + DEPARTMENTS, _request_at,
                     lambda db, rid, op, p: requests.edit(db, rid, operator=op, note="moved")),
    "request place": (DESKS, lambda db, p: _item(db, "PERM-P", p),
                      lambda db, code, op, p: requests.place_request(db, code, "P0002", p.code, operator=op)),
    "missing": (DESKS + DEPARTMENTS, _item_at,
                lambda db, code, op, p: circulation.mark_missing(db, code, operator=op)),
    "workorder --in-hand": (DEPARTMENTS, _item_at,
                            lambda db, code, op, p: workorders.place_work_order(
                                db, code, _other_department(p).work_order_type or "", _other_department(p).code,
                                operator=op, in_hand=True)),
    "physical item editor": (DEPARTMENTS, _item_at,
                             lambda db, code, op, p: workorders.edit_item(
                                 db, code, p.work_order_type or "", p.code, operator=op)),
    "scan in": (DESKS + DEPARTMENTS, lambda db, p: _item(db, "PERM-S", p),
                lambda db, code, op, p: __import__("libdesk.scan").scan.scan_in(db, code, at=p.code, operator=op)),
}


def _touched(action: str, place: institution.Place) -> list[str]:
    return [place.code]


def test_every_operator_every_action_every_place(tmp_path: Path) -> None:
    base = tmp_path / "base.db"
    make_db(base, INST).close()
    wrong: list[str] = []
    cases = 0
    for action, (places, setup, attempt) in ACTIONS.items():
        for place in places:
            scene = tmp_path / "scene.db"
            shutil.copyfile(base, scene)
            db = open_database(scene)
            target = setup(db, place)
            db.close()
            for op in INST.operators.values():
                case = tmp_path / "case.db"
                shutil.copyfile(scene, case)
                db = open_database(case)
                before = db_fingerprint(db)
                allowed = all(op.may_act_at(code) for code in _touched(action, place))
                try:
                    attempt(db, target, op.id, place)
                except NotPermitted as exc:
                    if allowed and "may not act at" in exc.message:
                        wrong.append(f"{op.id} × {action} × {place.code}: refused: {exc.message}")
                    elif db_fingerprint(db) != before:
                        wrong.append(f"{op.id} × {action} × {place.code}: refused but the database changed")
                except LibdeskError:
                    pass  # a permitted operator may still meet a wrong state
                else:
                    if not allowed:
                        wrong.append(f"{op.id} × {action} × {place.code}: allowed")
                finally:
                    db.close()
                cases += 1
    assert not wrong, "\n".join(wrong)
    assert cases > 300


def test_borrowed_items_at_the_desk_need_a_borrowing_role(tmp_path: Path) -> None:
    db = make_db(tmp_path / "b.db", INST)
    before = db_fingerprint(db)
    for op in INST.operators.values():
        has_role = bool({"borrowing", "borrowing_desk"} & set(op.roles)) or "*" in op.places
        for name, call in (("loan", lambda: borrowing.loan(db, 999, operator=op.id)),
                           ("return", lambda: borrowing.return_item(db, 999, at="WID-CIRC", operator=op.id)),
                           ("receive", lambda: borrowing.receive(db, 999, at="WID-CIRC", operator=op.id))):
            try:
                call()
            except NotPermitted as exc:
                if "role" in exc.message:
                    assert not has_role, f"{op.id} {name}: {exc.message}"
                else:
                    assert not op.may_act_at("WID-CIRC"), f"{op.id} {name}: {exc.message}"
            except LibdeskError as exc:
                assert has_role, f"{op.id} {name}: not refused for its role ({exc.message})"
            else:
                raise AssertionError(f"{op.id} {name}: a missing borrowing request was not refused")
    assert db_fingerprint(db) == before
