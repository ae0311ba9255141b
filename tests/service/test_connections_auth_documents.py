"""Logins (argon2, tokens, throttling) and documents (size, type by content, storage) of the
connection service, on SQLite and PostgreSQL. Back-off is tested with the manual clock."""

from __future__ import annotations

import io
import os
import stat

import pytest

from waterops.errors import (
    AccountError,
    AuthenticationError,
    DocumentRejectedError,
    LoginThrottledError,
    PermissionDeniedError,
    RecordNotFoundError,
)
from waterops.model.accounts import Role
from waterops.service.auth import ThrottlePolicy

from .conftest import PDF, World

PASSWORD = "correct horse battery"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00"
    b"\x00\x90wS\xde\x00\x00\x00\x00IEND\xaeB`\x82"
)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64


def test_passwords_are_argon2_hashed_and_tokens_stored_hashed(world: World) -> None:
    alice = world.auth.register_customer("alice", PASSWORD, Role.HOUSEHOLD_CUSTOMER)
    found = world.accounts.credentials("alice")
    assert found is not None and found[1].startswith("$argon2id$") and PASSWORD not in found[1]
    issued = world.auth.login("alice", PASSWORD, "10.0.0.1")
    assert world.auth.authenticate(issued.token) == alice
    with world.accounts.engine.connect() as conn:
        stored = [r[0] for r in conn.exec_driver_sql("SELECT token_hash FROM auth_tokens")]
    assert issued.token not in stored and len(stored) == 1
    world.auth.logout(issued.token)
    with pytest.raises(AuthenticationError, match="log in again"):
        world.auth.authenticate(issued.token)


def test_tokens_expire(world: World) -> None:
    world.auth.register_customer("alice", PASSWORD, Role.HOUSEHOLD_CUSTOMER)
    issued = world.auth.login("alice", PASSWORD, "10.0.0.1")
    world.clock.advance(seconds=world.auth.token_lifetime_s - 1)
    world.auth.authenticate(issued.token)
    world.clock.advance(seconds=2)
    with pytest.raises(AuthenticationError):
        world.auth.authenticate(issued.token)


def test_repeated_failed_logins_are_slowed_exponentially(world: World) -> None:
    world.auth.register_customer("alice", PASSWORD, Role.HOUSEHOLD_CUSTOMER)
    policy = world.auth.throttle
    assert policy == ThrottlePolicy()
    for _ in range(policy.free_failures - 1):
        with pytest.raises(AuthenticationError, match="wrong user name or password"):
            world.auth.login("alice", "guess-guess-guess", "10.0.0.9")
    waits = []
    for _ in range(4):
        with pytest.raises(AuthenticationError) as failed:
            world.auth.login("alice", "guess-guess-guess", "10.0.0.9")
        assert not isinstance(failed.value, LoginThrottledError)
        # now even the right password is refused until the wait is over
        with pytest.raises(LoginThrottledError) as throttled:
            world.auth.login("alice", PASSWORD, "10.0.0.9")
        waits.append(throttled.value.retry_after_s)
        world.clock.advance(seconds=throttled.value.retry_after_s)
    assert waits == [policy.base_delay_s * 2**k for k in range(4)]
    assert world.auth.login("alice", PASSWORD, "10.0.0.9").user.username == "alice"


def test_one_address_guessing_many_accounts_is_slowed(world: World) -> None:
    for name in ("alice", "bob", "carol", "dave"):
        world.auth.register_customer(name, PASSWORD, Role.HOUSEHOLD_CUSTOMER)
    for name in ("alice", "bob", "carol"):
        with pytest.raises(AuthenticationError):
            world.auth.login(name, "guess-guess-guess", "203.0.113.5")
    with pytest.raises(LoginThrottledError, match=r"address:203\.0\.113\.5"):
        world.auth.login("dave", PASSWORD, "203.0.113.5")
    # another address is not held up by it
    assert world.auth.login("dave", PASSWORD, "198.51.100.7").user.username == "dave"


def test_unknown_users_fail_like_wrong_passwords(world: World) -> None:
    with pytest.raises(AuthenticationError, match="wrong user name or password"):
        world.auth.login("nobody", PASSWORD, "10.0.0.1")


def test_accounts_rules_and_staff_creation_is_audited(world: World) -> None:
    admin = world.auth.create_administrator("root-admin", PASSWORD)
    with pytest.raises(AccountError, match="taken"):
        world.auth.register_customer("root-admin", PASSWORD, Role.HOUSEHOLD_CUSTOMER)
    with pytest.raises(AccountError, match="not a customer role"):
        world.auth.register_customer("sneaky", PASSWORD, Role.ADMINISTRATOR)
    agent = world.auth.create_staff(admin, "agent1", PASSWORD, Role.SERVICE_AGENT)
    with pytest.raises(PermissionDeniedError):
        world.auth.create_staff(agent, "agent2", PASSWORD, Role.ADMINISTRATOR)
    with pytest.raises(AccountError, match="10-256"):
        world.auth.create_staff(admin, "agent3", "short", Role.SERVICE_AGENT)
    world.auth.login("agent1", PASSWORD, "10.0.0.2")
    lines = world.accounts.audit_lines()
    assert [(a["actor"], a["action"], a["target_id"]) for a in lines] == [
        ("root-admin", "create_user", agent.id),
        ("agent1", "login", agent.id),
    ]
    assert lines[0]["after"] == {"username": "agent1", "role": "service_agent"}


@pytest.mark.parametrize(
    ("content", "media_type"), [(PDF, "application/pdf"), (PNG, "image/png"), (JPEG, "image/jpeg")]
)
def test_documents_are_typed_by_content_and_kept_outside_the_web_root(
    world: World, content: bytes, media_type: str
) -> None:
    alice = world.auth.register_customer("alice", PASSWORD, Role.HOUSEHOLD_CUSTOMER)
    doc = world.documents.upload(alice, "../../etc/scan.exe", io.BytesIO(content))
    assert doc.media_type == media_type and doc.size_bytes == len(content)
    assert doc.original_name == "scan.exe"  # the path is dropped; the name is only shown
    path = world.documents.directory / doc.stored_name
    assert path.read_bytes() == content and "." not in doc.stored_name
    mode = stat.S_IMODE(os.stat(path).st_mode)
    assert mode & 0o111 == 0 and mode & 0o077 == 0  # never executable, owner only
    assert world.documents.content(alice, doc.id) == (doc, content)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (EXE, "not a PDF, JPEG or PNG"),
        (b"%PDF-1.7\n/OpenAction << /S /JavaScript /JS (app.alert(1)) >>\n%%EOF", "active content"),
        (PDF[:-8], "truncated"),
        (PNG[:-12], "truncated"),
        (b"", "empty"),
        (b"<html><script>alert(1)</script></html>", "not a PDF"),
    ],
)
def test_disallowed_documents_are_refused_and_nothing_is_kept(
    world: World, content: bytes, reason: str
) -> None:
    alice = world.auth.register_customer("alice", PASSWORD, Role.HOUSEHOLD_CUSTOMER)
    with pytest.raises(DocumentRejectedError, match=reason) as refused:
        world.documents.upload(alice, "id-card.pdf", io.BytesIO(content))
    assert not refused.value.too_large
    assert not any(world.documents.directory.glob("*"))  # no file without its record


def test_oversized_documents_are_refused(world: World) -> None:
    alice = world.auth.register_customer("alice", PASSWORD, Role.HOUSEHOLD_CUSTOMER)
    big = PDF[:-6] + b"\n" * (world.documents.max_bytes) + b"%%EOF\n"
    with pytest.raises(DocumentRejectedError, match="larger than the limit") as refused:
        world.documents.upload(alice, "scan.pdf", io.BytesIO(big))
    assert refused.value.too_large
    exactly = PDF[:-6] + b" " * (world.documents.max_bytes - len(PDF)) + b"%%EOF\n"
    assert (
        world.documents.upload(alice, "scan.pdf", io.BytesIO(exactly)).size_bytes
        == world.documents.max_bytes
    )


def test_documents_are_read_back_by_owner_and_staff_only(world: World) -> None:
    alice = world.auth.register_customer("alice", PASSWORD, Role.HOUSEHOLD_CUSTOMER)
    bob = world.auth.register_customer("bob", PASSWORD, Role.HOUSEHOLD_CUSTOMER)
    admin = world.auth.create_administrator("root-admin", PASSWORD)
    planner = world.auth.create_staff(admin, "planner1", PASSWORD, Role.PLANNER)
    doc = world.documents.upload(alice, "scan.pdf", io.BytesIO(PDF))
    with pytest.raises(RecordNotFoundError):
        world.documents.content(bob, doc.id)
    with pytest.raises(PermissionDeniedError):
        world.documents.upload(planner, "scan.pdf", io.BytesIO(PDF))
    assert world.documents.content(planner, doc.id)[1] == PDF
    audit = world.accounts.audit_lines(actor="planner1")
    assert [(a["action"], a["target_kind"], a["target_id"]) for a in audit] == [
        ("read_document", "document", doc.id)
    ]
