"""Login lockout by username and address together (django-axes), answered with Retry-After."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db
OFFICE = "198.51.100.20"  # one NAT address for a whole office


def log_in(client, username, password, address=OFFICE):
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


def test_five_wrong_passwords_lock_that_user_out_from_that_address_with_retry_after(
    client, make_staff
):
    make_staff("alice", "clinician", password="alice correct horse")
    codes = [log_in(client, "alice", "wrong").status_code for _ in range(5)]
    assert codes == [200, 200, 200, 200, 429]
    locked = log_in(client, "alice", "alice correct horse")
    assert locked.status_code == 429
    assert b"Too many failed logins" in locked.content
    retry_after = locked["Retry-After"]
    assert retry_after.isdigit()
    assert 1790 <= int(retry_after) <= 1800  # the 30-minute cool-off, just begun


def test_another_user_at_the_same_address_still_logs_in(client, make_staff):
    make_staff("alice", "clinician", password="alice correct horse")
    make_staff("bob", "peer", password="bob correct horse")
    for _ in range(5):
        log_in(client, "alice", "wrong")
    assert log_in(client, "alice", "alice correct horse").status_code == 429
    response = log_in(client, "bob", "bob correct horse")
    assert response.status_code == 302
    assert "Retry-After" not in response


def test_five_different_wrong_usernames_do_not_lock_out_the_admin_at_that_address(
    client, make_staff
):
    make_staff("root", "admin", password="long-enough-password-1")
    codes = [log_in(client, f"typo{n}", "wrong").status_code for n in range(5)]
    assert codes == [200] * 5
    assert log_in(client, "root", "long-enough-password-1").status_code == 302
