"""Credential shape rules and the User entity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from appointments.domain.contact import check_full_name, normalize_email
from appointments.domain.errors import InvalidValue
from appointments.domain.users import Role, User, check_password, check_username


@pytest.mark.parametrize(
    "username",
    ["abc", "a" * 50, "Dr.House", "jane_doe-2", "A.B", "..._", "123"],
)
def test_valid_usernames(username: str) -> None:
    assert check_username(username) == username


@pytest.mark.parametrize(
    "username",
    [
        pytest.param("ab", id="too-short"),
        pytest.param("a" * 51, id="too-long"),
        pytest.param("", id="empty"),
        pytest.param("jane doe", id="space"),
        pytest.param("jane@doe", id="at-sign"),
        pytest.param("émile", id="non-ascii"),
        pytest.param("abc\n", id="trailing-newline"),
        pytest.param(" abc", id="leading-space"),
        pytest.param("abc/def", id="slash"),
    ],
)
def test_invalid_usernames(username: str) -> None:
    with pytest.raises(InvalidValue) as raised:
        check_username(username)
    assert raised.value.code == "invalid_value"


@pytest.mark.parametrize("length", [8, 9, 64, 127, 128])
def test_password_lengths_accepted(length: int) -> None:
    password = "p" * length
    assert check_password(password) == password


@pytest.mark.parametrize("length", [0, 1, 7, 129, 1000])
def test_password_lengths_refused(length: int) -> None:
    with pytest.raises(InvalidValue):
        check_password("p" * length)


def test_password_length_counts_characters_not_bytes() -> None:
    # 128 characters, 256 bytes in UTF-8: the contract speaks of characters.
    assert check_password("é" * 128) == "é" * 128


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("alice@example.com", "alice@example.com"),
        ("  Alice@Example.COM  ", "Alice@example.com"),
        ("Bob.Smith+tag@Clinic.Example.ORG", "Bob.Smith+tag@clinic.example.org"),
    ],
)
def test_normalize_email_lowercases_domain_only(raw: str, normalized: str) -> None:
    assert normalize_email(raw) == normalized


@pytest.mark.parametrize(
    "raw",
    ["", "alice", "alice@", "@example.com", "alice@localhost", "   "],
)
def test_normalize_email_refuses_invalid(raw: str) -> None:
    with pytest.raises(InvalidValue):
        normalize_email(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Ann", "Ann"),
        ("  Ann Smith  ", "Ann Smith"),
        ("A", "A"),
        ("x" * 200, "x" * 200),
        (" " + "x" * 200 + " ", "x" * 200),
    ],
)
def test_full_name_is_stripped(raw: str, expected: str) -> None:
    assert check_full_name(raw) == expected


@pytest.mark.parametrize("raw", ["", "   ", "\t\n", "x" * 201])
def test_full_name_refused(raw: str) -> None:
    with pytest.raises(InvalidValue):
        check_full_name(raw)


NOW = datetime(2027, 3, 1, 9, tzinfo=UTC)


def make_user() -> User:
    return User(
        email="doc@example.com",
        username="doc",
        full_name="Doc Tor",
        role=Role.DOCTOR,
        password_hash="$argon2id$fake",
        created_at=NOW - timedelta(days=10),
    )


def test_new_user_is_active_with_no_revocation() -> None:
    user = make_user()
    assert user.is_active
    assert user.tokens_valid_after is None


def test_deactivate_revokes_tokens() -> None:
    user = make_user()
    user.deactivate(NOW)
    assert user.is_active is False
    assert user.tokens_valid_after == NOW


def test_revoke_tokens_keeps_user_active_and_moves_forward() -> None:
    user = make_user()
    user.revoke_tokens(NOW)
    assert user.is_active is True
    assert user.tokens_valid_after == NOW
    later = NOW + timedelta(hours=1)
    user.revoke_tokens(later)
    assert user.tokens_valid_after == later


def test_roles_are_the_contract_strings() -> None:
    assert {r.value for r in Role} == {"ADMIN", "DOCTOR", "PATIENT"}


def test_normalize_email_refuses_a_second_at_sign() -> None:
    with pytest.raises(InvalidValue):
        normalize_email("a@b@example.com")
