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
