"""Sign-in in the engine (issue 14), on every engine: hashes, lockout, signed sessions."""

from __future__ import annotations

import pytest

from libdesk import operators
from libdesk.errors import NotPermitted
from tests.conftest import db_fingerprint


def test_secrets_lockout_and_sessions(db, tmp_path):
    operators.set_secret(db, "admin", "admin-pass", by=None)
    with pytest.raises(NotPermitted):
        operators.set_secret(db, "circ", "1234", by=None)  # only the very first secret needs no one
    with pytest.raises(NotPermitted, match="administrator"):
        operators.set_secret(db, "cc", "1234", by="circ")
    operators.set_secret(db, "circ", "1234", by="admin")
    assert operators.authenticate(db, "circ", "1234").id == "circ"
    for _ in range(db.institution.sign_in.max_failures):
        with pytest.raises(operators.NotSignedIn, match="Wrong secret"):
            operators.authenticate(db, "circ", "0000")
    with pytest.raises(operators.NotSignedIn, match="locked"):
        operators.authenticate(db, "circ", "1234")
    path = tmp_path / "session.json"
    operators.login(db, "admin", "admin-pass", path)
    assert operators.session_operator(db, path) == "admin"
    operators.set_secret(db, "admin", "new-admin-pass", by="admin")  # a new secret ends old sessions
    assert operators.session_operator(db, path) is None
    before = db_fingerprint(db)
    with pytest.raises(NotPermitted, match="administrator"):
        operators.set_disabled(db, "admin", True, by="circ")
    assert db_fingerprint(db) == before
    operators.set_disabled(db, "circ", True, by="admin")
    with pytest.raises(operators.NotSignedIn, match="disabled"):
        operators.resolve(db, "circ", explicit=True, session_path=path, secret=None)  # the demo: sign_in = false


def _signin_db(tmp_path):
    from libdesk import institution
    from tests.conftest import make_db

    text = institution.demo_path().read_text(encoding="utf-8").replace("sign_in = false", "sign_in = true", 1)
    db = make_db(tmp_path / "signin.db", institution.parse(text, "signin.toml"))
    operators.set_secret(db, "admin", "admin-pass", by=None)
    operators.set_secret(db, "circ", "1234", by="admin")
    return db


def test_recheck_a_session_that_expires_or_ends(tmp_path, frozen_clock):
    from datetime import timedelta

    from libdesk import clock

    db = _signin_db(tmp_path)
    path = tmp_path / "session.json"
    operators.login(db, "circ", "1234", path)
    held = operators.standing(db, "circ", explicit=False, session_path=path, secret=None)
    assert held == operators.Standing("circ", "session", session_path=path)
    operators.recheck(db, held)  # still good
    clock.freeze(frozen_clock + timedelta(hours=db.institution.sign_in.session_hours, seconds=1))
    with pytest.raises(operators.NotSignedIn, match="session expired at"):
        operators.recheck(db, held)
    clock.freeze(frozen_clock)
    operators.recheck(db, held)
    operators.logout(db, path)
    with pytest.raises(operators.NotSignedIn, match="no session"):
        operators.recheck(db, held)
    operators.login(db, "admin", "admin-pass", path)  # someone else signs in here meanwhile
    with pytest.raises(operators.NotSignedIn, match="now signed in as admin"):
        operators.recheck(db, held)
    operators.login(db, "circ", "1234", path)  # signed in again: the run goes on
    operators.recheck(db, held)
    operators.set_disabled(db, "circ", True, by="admin")
    with pytest.raises(operators.NotSignedIn, match="circ is disabled"):
        operators.recheck(db, held)
    db.close()


def test_recheck_a_secret_checked_once(tmp_path, frozen_clock):
    db = _signin_db(tmp_path)
    held = operators.standing(db, "circ", explicit=True, session_path=tmp_path / "none.json", secret="1234")
    assert held.how == "secret" and held.generation == 1
    operators.recheck(db, held)
    operators.set_secret(db, "circ", "5678", by="admin")
    with pytest.raises(operators.NotSignedIn, match="secret of circ was changed"):
        operators.recheck(db, held)
    held = operators.standing(db, "circ", explicit=True, session_path=tmp_path / "none.json", secret="5678")
    operators.set_disabled(db, "circ", True, by="admin")
    with pytest.raises(operators.NotSignedIn, match="disabled"):
        operators.recheck(db, held)
    db.close()


def test_recheck_without_sign_in_only_refuses_a_disabled_operator(db):
    held = operators.standing(db, "circ", explicit=True, session_path=None, secret=None)  # type: ignore[arg-type]
    operators.recheck(db, held)
    operators.set_secret(db, "admin", "admin-pass", by=None)
    operators.set_disabled(db, "circ", True, by="admin")
    with pytest.raises(operators.NotSignedIn, match="disabled"):
        operators.recheck(db, held)
