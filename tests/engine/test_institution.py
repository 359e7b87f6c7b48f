"""The institution file: the shipped demo is SPEC section 0; broken files are refused with
the file, the key and what is wrong."""

from __future__ import annotations

import pytest

from libdesk import institution
from libdesk.errors import ConfigError


def demo_text() -> str:
    return institution.demo_path().read_text(encoding="utf-8")


def test_demo_matches_spec_section_0(inst):
    assert set(inst.libraries) == {"WID", "LAW", "HD"}
    assert {c: t.statuses for c, t in inst.work_order_types.items()} == {
        "TS": ("Cataloging", "Processing", "Shelf Prep"),
        "PRES": ("Assessment", "Pocket", "Repair", "Rehousing", "Unknown Substance"),
        "WPC": ("Survey", "Treatment", "Housing"),
        "IMG": ("Queued", "Imaging", "Quality Review"),
        "BD": ("Received", "Processing"),
        "ILL": ("Received", "Processing"),
        "SCP": ("Review", "Scanning"),
    }
    depts = {p.code: (p.work_order_type, p.library, p.days) for p in inst.places.values() if p.is_department}
    assert depts == {
        "ITS625": ("TS", "WID", 14), "ITSLAW": ("TS", "LAW", 14), "JUD": ("TS", "WID", 14),
        "CCWID": ("PRES", "WID", 30), "CCLAW": ("PRES", "LAW", 30), "WPC": ("WPC", "WID", 60),
        "IMG": ("IMG", "WID", 21), "BD": ("BD", "WID", 7), "ILL": ("ILL", "WID", 7), "SCP": ("SCP", "WID", 30),
    }
    assert inst.places["WID-CIRC"].is_desk and inst.places["LAW-CIRC"].is_desk
    assert inst.locations["HD"].remote_storage
    # Temporary items of borrowing requests (SPEC B4); its library is the resource-sharing library.
    rs = inst.locations["RS"]
    assert (rs.library, rs.remote_storage) == ("WID", False)
    assert inst.policy.work_orders_equal_patron_requests is True
    ops = {o.id: set(o.places) for o in inst.operators.values()}
    assert ops["admin"] == {"*"} and ops["circ"] == {"WID-CIRC", "LAW-CIRC"} and ops["cc"] == {"CCWID"}
    assert ops["its"] == {"ITS625", "ITSLAW"} and ops["jud"] == {"JUD"} and ops["rs"] == {"ILL", "BD"}
    assert "borrowing" in inst.operators["rs"].roles
    patrons = {p.id for p in inst.patrons}
    assert {"P0001", "P0040", "PSEUDO-TS"} <= patrons
    assert [p for p in inst.patrons if p.pseudo][0].id == "PSEUDO-TS"


def test_home_desk_of_remote_item_is_the_depository(inst):
    assert inst.home_desk("WID", "HD").code == "HD"
    assert inst.home_desk("LAW", "LAW-STACKS").code == "LAW-CIRC"


@pytest.mark.parametrize(("change", "key", "what"), [
    (('type = "PRES"', 'type = "NOPE"'), "departments[3].type", "unknown work-order type 'NOPE'"),
    (('statuses = ["Survey", "Treatment", "Housing"]', "statuses = []"), "work_order_types[2].statuses", "no statuses"),
    (('code = "LAW-CIRC"', 'code = "WID-CIRC"'), "desks[1].code", "duplicate place code 'WID-CIRC'"),
    (('code = "ITSLAW"', 'code = "ITS625"'), "departments[1].code", "duplicate place code 'ITS625'"),
    (('code = "LAW"\nname', 'code = "WID"\nname'), "libraries[1].code", "duplicate library code 'WID'"),
    (("days = 60", 'days = "sixty"'), "departments[5].days", "must be int"),
    (('places = ["CCWID"]', 'places = ["NOWHERE"]'), "operators[2].places", "unknown place 'NOWHERE'"),
    (('places = ["CCWID"]', "places = [1, 2]"), "operators[2].places[0]", "must be a string, not int"),
    (('places = ["CCWID"]', 'places = ["CCWID", ["HD"]]'), "operators[2].places[1]", "must be a string, not list"),
    (('places = ["CCWID"]', 'places = [""]'), "operators[2].places[0]", "is empty"),
    (('roles = ["borrowing_desk"]', 'roles = [{ name = "x" }]'), "operators[1].roles[0]", "must be a string, not dict"),
    (('roles = ["borrowing_desk"]', "roles = [true]"), "operators[1].roles[0]", "must be a string, not bool"),
    (('roles = ["borrowing_desk"]', 'roles = "borrowing_desk"'), "operators[1].roles", "must be list, not str"),
    (("recall_days = 7", "recall_dayz = 7"), "policy.recall_dayz", "unknown setting"),
    (('desk = "HD"\n', ""), "locations[3].desk", "remote-storage location needs"),
])
def test_broken_institution_is_refused_with_file_key_and_reason(tmp_path, change, key, what):
    old, new = change
    text = demo_text()
    assert old in text
    path = tmp_path / "broken.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        institution.load_file(path)
    message = str(info.value)
    assert str(path) in message and key in message and what in message


def test_not_toml_and_missing_file(tmp_path):
    path = tmp_path / "x.toml"
    path.write_text("[[libraries]\ncode=", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        institution.load_file(path)
    with pytest.raises(ConfigError, match="not found"):
        institution.load_file(tmp_path / "missing.toml")


def test_schema_1_database_is_upgraded_on_open(tmp_path, inst):
    """A database made before requests carried owner/material type opens and is upgraded."""
    import sqlite3

    from libdesk import queries, requests
    from libdesk.db import open_database
    from tests.conftest import make_db

    path = tmp_path / "old.db"
    make_db(path, inst).close()
    con = sqlite3.connect(path)
    for trigger in ("request_facets_ai", "request_facets_ad", "request_facets_au"):
        con.execute(f"DROP TRIGGER {trigger}")
    con.execute("DROP TABLE request_facets")
    for table in ("borrowingmessage", "borrowingrequest"):  # schema 3
        con.execute(f"DROP TABLE {table}")
    con.execute("DROP INDEX ix_request_monitor")
    con.execute("ALTER TABLE request DROP COLUMN owner")
    con.execute("ALTER TABLE request DROP COLUMN material_type")
    con.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    con.execute("DROP TABLE alembic_version")  # made before libdesk used Alembic
    con.commit()
    con.close()
    db = open_database(path)
    requests.place_request(db, "L01", "P0001", "LAW-CIRC", operator="circ")
    assert queries.monitor(db, {"owner": "LAW"})["total"] == 1
    con = sqlite3.connect(path)
    from libdesk.models import SCHEMA_VERSION

    assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == str(SCHEMA_VERSION)
    from libdesk import borrowing

    assert borrowing.list_requests(db) == []
