"""Account rules: creating users, signing in with lockout, role scoping, API tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import werkzeug.security
from sqlalchemy import select

from examsvc import clock
from examsvc.accounts import service
from examsvc.accounts.models import ApiToken, RoleGrant, User
from examsvc.accounts.service import authenticate, create_user, issue_api_token, user_for_token
from examsvc.audit.models import AuditEvent
from examsvc.auth import Permission, Role, has_permission, permitted_institutions, require_permission
from examsvc.errors import Conflict, Forbidden, ValidationFailed
from tests.conftest import PASSWORD, count_rows, make_user

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)


def actions(session) -> list[str]:
    return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


def sign_in(session, username: str, password: str, *, max_failures: int = 5, lock_minutes: int = 15):
    outcome = authenticate(session, username, password, max_failures=max_failures, lock_minutes=lock_minutes)
    session.commit()
    return outcome


# --- creating users ------------------------------------------------------------------------------

def test_create_user_stores_a_salted_hash_and_scoped_grants(session, world, monkeypatch):
    monkeypatch.setattr(service, "generate_password_hash", werkzeug.security.generate_password_hash)
    user = create_user(session, username=" alice ", password=PASSWORD, display_name="  艾丽斯 ",
                       roles=[("institution_admin", world["A"].id), ("item_writer", None)])
    session.commit()
    assert user.username == "alice" and user.display_name == "艾丽斯"
    assert PASSWORD not in user.password_hash and user.password_hash.startswith("scrypt:")
    assert werkzeug.security.check_password_hash(user.password_hash, PASSWORD)
    assert {(g.role, g.institution_id) for g in user.grants} == {("institution_admin", world["A"].id),
                                                                  ("item_writer", None)}
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "user.create")).one()
    assert event.subject_id == str(user.id) and event.details["username"] == "alice"
    assert PASSWORD not in str(event.details)


@pytest.mark.parametrize(("kwargs", "error", "field"), [
    ({"username": "ab"}, ValidationFailed, "username"),
    ({"username": "has space"}, ValidationFailed, "username"),
    ({"username": "名字"}, ValidationFailed, "username"),
    ({"password": "short"}, ValidationFailed, "password"),
    ({"display_name": "   "}, ValidationFailed, "display_name"),
    ({"display_name": "名" * 101}, ValidationFailed, "display_name"),   # the column holds 100
    ({"roles": [("wizard", None)]}, ValidationFailed, "roles"),
    ({"roles": [("institution_admin", None)]}, ValidationFailed, "institution"),
    ({"roles": [("invigilator", 999_999)]}, ValidationFailed, "institution"),
    ({"username": "taken"}, Conflict, "username"),
    ({"username": "  taken "}, Conflict, "username"),
])
def test_bad_user_input_names_the_field_and_writes_nothing(session, world, kwargs, error, field):
    make_user(session, "taken", "candidate")
    before = (count_rows(session, User), count_rows(session, RoleGrant), count_rows(session, AuditEvent))
    arguments = {"username": "newcomer", "password": PASSWORD, "display_name": "新人",
                 "roles": [("candidate", None)], **kwargs}
    with pytest.raises(error) as caught:
        create_user(session, **arguments)
    session.rollback()
    assert caught.value.field == field
    assert caught.value.message and caught.value.message_en
    assert (count_rows(session, User), count_rows(session, RoleGrant), count_rows(session, AuditEvent)) == before


# --- signing in, lockout --------------------------------------------------------------------------

def test_right_password_signs_in_and_is_audited(session):
    user = make_user(session, "amy", "candidate")
    outcome = sign_in(session, "amy", PASSWORD)
    assert outcome.ok and outcome.user.id == user.id
    assert actions(session)[-1] == "login.success"


def test_unknown_user_and_wrong_password_fail_and_are_audited(session):
    make_user(session, "amy", "candidate")
    assert sign_in(session, "nobody", PASSWORD).reason == "unknown"
    assert sign_in(session, "amy", "wrong-password").reason == "bad_password"
    failed = session.scalars(select(AuditEvent).where(AuditEvent.action == "login.failed").order_by(AuditEvent.seq)).all()
    assert [(e.details["reason"], e.subject_id) for e in failed] == [("unknown", None), ("bad_password", str(
        session.scalar(select(User.id))))]
    assert failed[0].details["username"] == "nobody"


def test_five_failures_lock_the_account_for_fifteen_minutes(session):
    make_user(session, "bob", "candidate")
    with clock.frozen(T0) as frozen:
        for attempt in range(1, 5):
            assert sign_in(session, "bob", f"wrong-{attempt}").reason == "bad_password"
        locked = sign_in(session, "bob", "wrong-5")
        assert locked.reason == "locked" and locked.locked_until == T0 + timedelta(minutes=15)
        assert actions(session)[-2:] == ["login.failed", "account.locked"]
        # Locked: even the right password is refused, and the refusal is audited.
        frozen.advance(timedelta(minutes=14, seconds=59))
        refused = sign_in(session, "bob", PASSWORD)
        assert refused.reason == "locked" and not refused.ok
        assert actions(session)[-1] == "login.refused_locked"
        frozen.advance(timedelta(seconds=1))
        assert sign_in(session, "bob", PASSWORD).ok
    user = session.scalar(select(User).where(User.username == "bob"))
    session.refresh(user)
    assert user.failed_logins == 0 and user.locked_until is None


def test_a_success_resets_the_failure_count(session):
    make_user(session, "carol", "candidate")
    with clock.frozen(T0):
        for _ in range(4):
            sign_in(session, "carol", "wrong-password")
        assert sign_in(session, "carol", PASSWORD).ok
        for _ in range(4):
            assert sign_in(session, "carol", "wrong-password").reason == "bad_password"
        assert sign_in(session, "carol", PASSWORD).ok


def test_lock_threshold_and_duration_come_from_the_caller(session):
    make_user(session, "dave", "candidate")
    with clock.frozen(T0) as frozen:
        sign_in(session, "dave", "wrong-1", max_failures=2, lock_minutes=60)
        outcome = sign_in(session, "dave", "wrong-2", max_failures=2, lock_minutes=60)
        assert outcome.reason == "locked" and outcome.locked_until == T0 + timedelta(minutes=60)
        frozen.advance(timedelta(minutes=59))
        assert sign_in(session, "dave", PASSWORD, max_failures=2, lock_minutes=60).reason == "locked"


def test_an_inactive_account_cannot_sign_in(session):
    user = make_user(session, "erin", "candidate")
    user.active = False
    session.commit()
    assert sign_in(session, "erin", PASSWORD).reason == "inactive"
    assert actions(session)[-1] == "login.refused_inactive"


# --- permissions and institution scoping ------------------------------------------------------------

def test_a_scoped_grant_gives_its_permissions_in_its_institution_only(session, world):
    a, b = world["A"].id, world["B"].id
    admin_a = make_user(session, "admin_a", "institution_admin", a)
    assert has_permission(admin_a, Permission.INSTITUTION_MANAGE, a)
    assert not has_permission(admin_a, Permission.INSTITUTION_MANAGE, b)
    assert has_permission(admin_a, Permission.INSTITUTION_MANAGE)   # somewhere: the caller narrows
    assert permitted_institutions(admin_a, Permission.INSTITUTION_VIEW) == {a}
    assert not has_permission(admin_a, Permission.AUDIT_VIEW)
    with pytest.raises(Forbidden) as caught:
        require_permission(admin_a, Permission.INSTITUTION_MANAGE, b)
    assert "institution.manage" in caught.value.message_en and str(b) in caught.value.message_en


def test_a_global_grant_applies_in_every_institution(session, world):
    regulator = make_user(session, "reg", "regulator")
    for institution in world.values():
        assert has_permission(regulator, Permission.INSTITUTION_VIEW, institution.id)
    assert permitted_institutions(regulator, Permission.INSTITUTION_VIEW) is None
    assert not has_permission(regulator, Permission.INSTITUTION_MANAGE, world["A"].id)


def test_nobody_signed_out_holds_any_permission():
    class Anonymous:
        is_authenticated = False
        grants = [RoleGrant(role=Role.SYSADMIN.value, institution_id=None)]

    assert not any(has_permission(Anonymous(), p) for p in Permission)
    assert not any(has_permission(None, p) for p in Permission)
    assert permitted_institutions(Anonymous(), Permission.AUDIT_VIEW) == set()


# --- API tokens ----------------------------------------------------------------------------------

def test_api_token_is_stored_hashed_and_expires(session):
    user = make_user(session, "frank", "regulator")
    with clock.frozen(T0) as frozen:
        token = issue_api_token(session, user, days=30, name="laptop")
        session.commit()
        row = session.scalars(select(ApiToken)).one()
        assert token not in row.token_hash and len(row.token_hash) == 64
        assert user_for_token(session, token).id == user.id
        assert user_for_token(session, token + "x") is None
        frozen.advance(timedelta(days=30) - timedelta(seconds=1))
        assert user_for_token(session, token) is not None
        frozen.advance(timedelta(seconds=1))
        assert user_for_token(session, token) is None
    assert actions(session)[-1] == "api_token.issue"


def test_api_token_of_a_revoked_token_or_inactive_user_is_refused(session):
    user = make_user(session, "gina", "regulator")
    revoked = issue_api_token(session, user, days=30)
    kept = issue_api_token(session, user, days=30)
    session.commit()
    assert revoked != kept
    row = session.scalars(select(ApiToken).order_by(ApiToken.id)).first()
    row.revoked_at = clock.now()
    session.commit()
    assert user_for_token(session, revoked) is None
    assert user_for_token(session, kept).id == user.id
    user.active = False
    session.commit()
    assert user_for_token(session, kept) is None


def test_parallel_wrong_passwords_are_all_counted(app, session):
    """A guesser sending requests at once (several workers) still gets five tries, not more."""
    import threading

    make_user(session, "hana", "candidate")
    sessionmaker = app.extensions["examsvc.sessionmaker"]
    start = threading.Barrier(5)
    errors: list[BaseException] = []

    def guess(n: int) -> None:
        own = sessionmaker()
        try:
            start.wait()
            authenticate(own, "hana", f"guess-{n}", max_failures=5, lock_minutes=15)
            own.commit()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            own.close()

    with clock.frozen(T0):
        threads = [threading.Thread(target=guess, args=(n,)) for n in range(5)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
        session.expire_all()
        assert actions(session).count("login.failed") == 5
        assert sign_in(session, "hana", PASSWORD).reason == "locked"
