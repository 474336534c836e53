"""Token signing/checking and password hashing, without any database."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import bcrypt
import jwt
import pytest

from appointments.adapters.clock import FixedClock
from appointments.adapters.security import JwtTokenService, PasslibPasswordHasher
from appointments.application.errors import NotAuthenticated
from appointments.domain.users import Role, User

SECRET = "unit-test-secret-key-that-is-long-enough-0123"
OTHER_SECRET = "another-secret-key-that-is-also-long-enough-987"
NOW = datetime(2027, 3, 1, 9, 0, 0, tzinfo=UTC)
TTL_MINUTES = 30


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_json(value: dict[str, Any]) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def hs256_sign(header: dict[str, Any], payload: dict[str, Any], key: str = SECRET) -> str:
    signing_input = f"{b64url_json(header)}.{b64url_json(payload)}"
    signature = hmac.new(key.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def tokens(clock: FixedClock) -> JwtTokenService:
    return JwtTokenService(SECRET, TTL_MINUTES, clock)


@pytest.fixture
def user() -> User:
    return User(
        email="pat@example.com",
        username="pat",
        full_name="Pat Ient",
        role=Role.PATIENT,
        password_hash="unused",
        created_at=NOW - timedelta(days=1),
    )


def valid_claims(user: User) -> dict[str, Any]:
    return {
        "sub": str(user.id),
        "role": user.role.value,
        "jti": "0123456789abcdef",
        "iat": NOW.timestamp(),
        "exp": int((NOW + timedelta(minutes=TTL_MINUTES)).timestamp()),
    }


def assert_refused(tokens: JwtTokenService, token: str) -> None:
    with pytest.raises(NotAuthenticated) as raised:
        tokens.decode(token)
    assert raised.value.code == "not_authenticated"


# --- JwtTokenService -----------------------------------------------------------------------


def test_issue_and_decode_round_trip(tokens: JwtTokenService, user: User) -> None:
    issued = tokens.issue(user, NOW)
    assert issued.expires_at == NOW + timedelta(minutes=TTL_MINUTES)
    assert issued.expires_in == TTL_MINUTES * 60

    claims = tokens.decode(issued.token)
    assert claims.user_id == user.id
    assert claims.role is Role.PATIENT
    assert claims.jti == issued.jti
    assert claims.issued_at == NOW
    assert claims.expires_at == issued.expires_at

    header = jwt.get_unverified_header(issued.token)
    assert header["alg"] == "HS256"
    raw = jwt.decode(issued.token, options={"verify_signature": False})
    assert {"sub", "role", "jti", "iat", "exp"} <= set(raw)
    assert raw["sub"] == str(user.id)
    assert raw["role"] == "PATIENT"


def test_issued_at_keeps_sub_second_precision(tokens: JwtTokenService, user: User) -> None:
    """A token issued right after a password change must not look older than the change."""
    now = NOW + timedelta(microseconds=500_000)
    claims = tokens.decode(tokens.issue(user, now).token)
    assert claims.issued_at == now


def test_every_token_gets_its_own_jti(tokens: JwtTokenService, user: User) -> None:
    first, second = tokens.issue(user, NOW), tokens.issue(user, NOW)
    assert first.jti != second.jti
    assert tokens.decode(first.token).jti != tokens.decode(second.token).jti


def test_token_signed_with_another_key(clock: FixedClock, user: User) -> None:
    forged = JwtTokenService(OTHER_SECRET, TTL_MINUTES, clock).issue(user, NOW).token
    assert_refused(JwtTokenService(SECRET, TTL_MINUTES, clock), forged)


def test_tampered_payload(tokens: JwtTokenService, user: User) -> None:
    header, _, signature = tokens.issue(user, NOW).token.split(".")
    claims = valid_claims(user) | {"role": "ADMIN"}
    assert_refused(tokens, f"{header}.{b64url_json(claims)}.{signature}")


def test_tampered_signature(tokens: JwtTokenService, user: User) -> None:
    token = tokens.issue(user, NOW).token
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    assert_refused(tokens, flipped)


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_alg_none_token(tokens: JwtTokenService, user: User, alg: str) -> None:
    header = b64url_json({"alg": alg, "typ": "JWT"})
    payload = b64url_json(valid_claims(user))
    assert_refused(tokens, f"{header}.{payload}.")


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_hs512_token_with_the_right_key(tokens: JwtTokenService, user: User) -> None:
    token = jwt.encode(valid_claims(user), SECRET, algorithm="HS512")
    assert_refused(tokens, token)


@pytest.mark.parametrize("alg", ["RS256", "ES256", "PS256"])
def test_asymmetric_header_signed_with_the_secret(
    tokens: JwtTokenService, user: User, alg: str
) -> None:
    """Key confusion: the header claims an asymmetric algorithm, the signature is an HMAC
    over the secret. Only HS256 is accepted."""
    assert_refused(tokens, hs256_sign({"alg": alg, "typ": "JWT"}, valid_claims(user)))


def test_hand_built_hs256_token_is_accepted(tokens: JwtTokenService, user: User) -> None:
    """Control for the hand-built tokens above: the same construction with HS256 passes."""
    claims = tokens.decode(hs256_sign({"alg": "HS256", "typ": "JWT"}, valid_claims(user)))
    assert claims.user_id == user.id


@pytest.mark.parametrize("missing", ["sub", "role", "jti", "iat", "exp"])
def test_missing_required_claim(tokens: JwtTokenService, user: User, missing: str) -> None:
    claims = valid_claims(user)
    del claims[missing]
    assert_refused(tokens, jwt.encode(claims, SECRET, algorithm="HS256"))


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        pytest.param("sub", "42", id="sub-not-uuid"),
        pytest.param("sub", "admin", id="sub-word"),
        pytest.param("sub", "", id="sub-empty"),
        pytest.param("role", "SUPERUSER", id="role-unknown"),
        pytest.param("role", "admin", id="role-lowercase"),
        pytest.param("role", None, id="role-null"),
        pytest.param("iat", "yesterday", id="iat-string"),
        pytest.param("exp", "soon", id="exp-string"),
        pytest.param("exp", 1e20, id="exp-overflow"),
        pytest.param("exp", [1], id="exp-list"),
    ],
)
def test_bad_claim_values(tokens: JwtTokenService, user: User, claim: str, value: object) -> None:
    claims = valid_claims(user) | {claim: value}
    assert_refused(tokens, jwt.encode(claims, SECRET, algorithm="HS256"))


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "garbage",
        "a.b.c",
        "..",
        "Bearer abc",
        "eyJhbGciOiJIUzI1NiJ9",
        "eyJhbGciOiJIUzI1NiJ9.not-base64!.sig",
        "\x00\x01\x02",
        "é.é.é",
        "x" * 10_000,
    ],
    ids=lambda v: repr(v)[:20],
)
def test_garbage_strings(tokens: JwtTokenService, garbage: str) -> None:
    assert_refused(tokens, garbage)


@pytest.mark.parametrize(
    ("past_expiry", "accepted"),
    [
        pytest.param(timedelta(minutes=-1), True, id="before-expiry"),
        pytest.param(timedelta(0), True, id="at-expiry"),
        pytest.param(timedelta(seconds=1), True, id="1s-late"),
        pytest.param(timedelta(seconds=9), True, id="9s-late"),
        pytest.param(timedelta(seconds=10), False, id="10s-late"),
        pytest.param(timedelta(seconds=11), False, id="11s-late"),
        pytest.param(timedelta(days=1), False, id="day-late"),
    ],
)
def test_expiry_with_ten_second_leeway(
    tokens: JwtTokenService,
    clock: FixedClock,
    user: User,
    past_expiry: timedelta,
    accepted: bool,
) -> None:
    token = tokens.issue(user, NOW).token
    clock.advance(timedelta(minutes=TTL_MINUTES) + past_expiry)
    if accepted:
        assert tokens.decode(token).user_id == user.id
    else:
        assert_refused(tokens, token)


def test_expiry_uses_the_injected_clock_not_the_system_clock(user: User) -> None:
    """A token that expired long ago in real time is fine while the clock says otherwise."""
    clock = FixedClock(datetime(2001, 1, 1, tzinfo=UTC))
    service = JwtTokenService(SECRET, TTL_MINUTES, clock)
    token = service.issue(user, clock.now()).token
    assert service.decode(token).user_id == user.id


def test_a_token_verified_before_still_expires(
    tokens: JwtTokenService, clock: FixedClock, user: User
) -> None:
    """The verified claims are kept per token, but expiry is checked on every use."""
    token = tokens.issue(user, NOW).token
    first = tokens.decode(token)
    assert tokens.decode(token) is first  # the second use is not decoded again
    clock.advance(timedelta(minutes=TTL_MINUTES, seconds=11))
    assert_refused(tokens, token)


def test_a_refused_token_is_checked_again_each_time(tokens: JwtTokenService, user: User) -> None:
    """Only valid tokens are kept: a forged one is refused on every try, and a garbage
    flood cannot push real tokens out of the kept set."""
    token = tokens.issue(user, NOW).token
    tokens.decode(token)
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    for _ in range(3):
        assert_refused(tokens, forged)
    assert tokens._verified.cache_info().currsize == 1


# --- PasslibPasswordHasher -----------------------------------------------------------------

PASSWORD = "correct horse battery staple"


@pytest.fixture
def hasher() -> PasslibPasswordHasher:
    return PasslibPasswordHasher(memory_kib=1024, time_cost=1)


def bcrypt_hash(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()


async def test_hash_is_argon2id_and_verifies(hasher: PasslibPasswordHasher) -> None:
    hashed = await hasher.hash(PASSWORD)
    assert hashed.startswith("$argon2id$")
    assert "m=1024,t=1" in hashed
    assert PASSWORD not in hashed
    assert await hasher.verify(PASSWORD, hashed) == (True, None)
    assert await hasher.verify(PASSWORD + "!", hashed) == (False, None)
    assert await hasher.verify("", hashed) == (False, None)


async def test_same_password_hashes_differently(hasher: PasslibPasswordHasher) -> None:
    assert await hasher.hash(PASSWORD) != await hasher.hash(PASSWORD)


async def test_verify_without_a_hash_still_does_the_work(
    hasher: PasslibPasswordHasher, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unknown users cost as much as known ones, so timing does not reveal who exists."""
    context = hasher._context
    calls: list[tuple[str, str]] = []
    real_verify: Callable[..., bool] = context.verify

    def spy(secret: str, hashed: str, *args: Any, **kwargs: Any) -> bool:
        calls.append((secret, hashed))
        return real_verify(secret, hashed, *args, **kwargs)

    monkeypatch.setattr(context, "verify", spy)
    assert await hasher.verify(PASSWORD, None) == (False, None)
    assert len(calls) == 1
    assert calls[0][0] == PASSWORD
    assert calls[0][1].startswith("$argon2id$")


async def test_bcrypt_hash_verifies_and_is_upgraded(hasher: PasslibPasswordHasher) -> None:
    legacy = bcrypt_hash(PASSWORD)
    ok, upgraded = await hasher.verify(PASSWORD, legacy)
    assert ok is True
    assert upgraded is not None
    assert upgraded.startswith("$argon2id$")
    assert await hasher.verify(PASSWORD, upgraded) == (True, None)


async def test_wrong_password_against_bcrypt(hasher: PasslibPasswordHasher) -> None:
    assert await hasher.verify("wrong password", bcrypt_hash(PASSWORD)) == (False, None)


async def test_password_over_72_bytes_against_bcrypt(hasher: PasslibPasswordHasher) -> None:
    """bcrypt only sees 72 bytes; a longer password must be a plain mismatch, not a 500 and
    not a match on its first 72 bytes."""
    legacy = bcrypt_hash("a" * 72)
    assert await hasher.verify("a" * 100, legacy) == (False, None)
    assert await hasher.verify("é" * 40, bcrypt_hash("é" * 36)) == (False, None)


@pytest.mark.parametrize(
    "malformed",
    [
        "",
        "not-a-hash",
        "$argon2id$garbage",
        "$argon2id$v=19$m=1024,t=1,p=1$!!!$!!!",
        "$2b$12$short",
        "$2b$04$" + "x" * 60,
        "$1$md5$crypt",
    ],
)
async def test_malformed_hash_is_a_mismatch(hasher: PasslibPasswordHasher, malformed: str) -> None:
    assert await hasher.verify(PASSWORD, malformed) == (False, None)
