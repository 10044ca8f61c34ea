"""lakelink.user_token: the App user's token from real request objects (Starlette, Werkzeug), environs, mappings."""

import email.message

import pytest

import lakelink

JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhQGV4YW1wbGUuY29tIn0.c2lnbmF0dXJl"
SECRET = "s3cretPart"


def _starlette(headers):
    from starlette.requests import Request

    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
    return Request({"type": "http", "method": "GET", "path": "/api/x", "headers": raw, "query_string": b""})


def _werkzeug(headers):
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request

    builder = EnvironBuilder(path="/api/x", headers=list(headers))
    try:
        return Request(builder.get_environ())
    finally:
        builder.close()


def _environ(headers):
    from werkzeug.test import EnvironBuilder

    builder = EnvironBuilder(path="/api/x", headers=list(headers))
    try:
        return builder.get_environ()
    finally:
        builder.close()


def _message(headers):
    m = email.message.Message()
    for k, v in headers:
        m[k] = v
    return m


KINDS = {
    "starlette Request": _starlette,
    "werkzeug Request": _werkzeug,
    "werkzeug headers": lambda h: _werkzeug(h).headers,
    "WSGI environ": _environ,
    "ASGI scope": lambda h: _starlette(h).scope,
    "email.message": _message,
    "dict": lambda h: dict(h),
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", ["X-Forwarded-Access-Token", "x-forwarded-access-token", "X-FORWARDED-ACCESS-TOKEN"])
def test_reads_the_token(kind, name):
    assert lakelink.user_token(KINDS[kind]([("Accept", "*/*"), (name, JWT)])) == JWT


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("headers", [[], [("X-Forwarded-Access-Token", "")], [("Authorization", "Bearer " + JWT)]])
def test_missing_names_user_authorization(kind, headers):
    with pytest.raises(lakelink.AppError) as e:
        lakelink.user_token(KINDS[kind](headers))
    assert e.value.kind == "no_user_token"
    assert "User authorization" in str(e.value) and "X-Forwarded-Access-Token" in str(e.value)
    assert JWT not in str(e.value)


# dict and email.message hold one value per name (a dict's second entry differs in case).
@pytest.mark.parametrize("kind", KINDS)
def test_two_values_refused(kind):
    headers = [("X-Forwarded-Access-Token", SECRET), ("x-forwarded-access-token", JWT)]
    with pytest.raises(lakelink.AppError) as e:
        lakelink.user_token(KINDS[kind](headers))
    assert e.value.kind == "bad_user_token"
    # A WSGI environ (and Werkzeug over it) joins repeated headers with a comma.
    assert "2 X-Forwarded-Access-Token headers" in str(e.value) or "comma-separated" in str(e.value)
    assert SECRET not in str(e.value) + repr(e.value) and "eyJ" not in str(e.value) + repr(e.value)


@pytest.mark.parametrize("kind", KINDS)
def test_comma_list_refused(kind):
    with pytest.raises(lakelink.AppError) as e:
        lakelink.user_token(KINDS[kind]([("X-Forwarded-Access-Token", SECRET + "," + JWT)]))
    assert e.value.kind == "bad_user_token" and "comma-separated" in str(e.value)
    assert SECRET not in str(e.value)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("size", [(64 << 10) + 1, 1 << 20])
def test_over_64_kib_refused(kind, size):
    value = SECRET + "a" * (size - len(SECRET))
    with pytest.raises(lakelink.AppError) as e:
        lakelink.user_token(KINDS[kind]([("X-Forwarded-Access-Token", value)]))
    assert e.value.kind == "bad_user_token" and "64 KiB" in str(e.value)
    assert SECRET not in str(e.value) and len(str(e.value)) < 300


@pytest.mark.parametrize("value, words", [
    ("Bearer " + SECRET, 'starts with "Bearer "'),
    (SECRET + " " + JWT, "spaces"),
    (SECRET + '"<>', "a character an access token cannot have (at byte 10)"),
    (SECRET + "\u00e9", "a character an access token cannot have (at byte 10)"),
    ("==", "only padding"),
])
def test_not_one_bearer_token_refused_where_it_is_used(lakebase_conn, value, words):
    # user_token reads the header; the library checks the token's shape (core/auth's CheckBearerToken, the one
    # place of that rule) when a pool is asked for the user's session.
    assert lakelink.user_token({"X-Forwarded-Access-Token": value}) == value
    with lakelink.ConnectionPool(lakebase_conn) as pool:
        with pytest.raises(lakelink.InterfaceError) as e:
            pool.getconn(as_user={"X-Forwarded-Access-Token": value})
        assert words in str(e.value) and e.value.code == lakelink.errors.ERR_INVALID_ARGUMENT
        assert SECRET not in str(e.value) + repr(e.value)
        assert pool.get_stats()["users"] == 0


@pytest.mark.parametrize("value, words", [
    ("Bearer " + SECRET, 'starts with "Bearer "'),
    (SECRET + "\u00e9", "a character an access token cannot have (at byte 10)"),
])
def test_not_one_bearer_token_refused_by_an_app_call(emulator, sp_conn, value, words):
    as_user = lakelink.App(emulator["app_url"], sp_conn).as_user({"X-Forwarded-Access-Token": value})
    with pytest.raises(lakelink.InterfaceError) as e:
        as_user.get("/api/whoami")  # refused before sending
    assert words in str(e.value) and e.value.code == lakelink.errors.ERR_INVALID_ARGUMENT
    assert SECRET not in str(e.value) + repr(e.value)


@pytest.mark.parametrize("value", [JWT, "abc+/_-~.def==", "a" * 10])
def test_bearer_token_shapes_accepted(value):
    assert lakelink.user_token({"X-Forwarded-Access-Token": value}) == value


def test_exactly_64_kib_accepted():
    value = "a" * (64 << 10)
    assert lakelink.user_token({"X-Forwarded-Access-Token": value}) == value


def test_list_values_and_bytes():
    assert lakelink.user_token({b"x-forwarded-access-token": JWT.encode()}) == JWT
    assert lakelink.user_token({"X-Forwarded-Access-Token": [JWT]}) == JWT
    with pytest.raises(lakelink.AppError, match="2 X-Forwarded-Access-Token headers"):
        lakelink.user_token({"X-Forwarded-Access-Token": [JWT, SECRET]})


@pytest.mark.parametrize("missing", [None, ""])
def test_as_user_none_is_the_missing_header(missing):
    # request.headers.get("X-Forwarded-Access-Token") without the header: an error, never the App's own identity.
    with pytest.raises(lakelink.AppError) as e:
        lakelink.App("https://x").as_user(missing)
    assert e.value.kind == "no_user_token" and "User authorization" in str(e.value)


def test_not_a_request():
    with pytest.raises(TypeError, match="expected a request"):
        lakelink.user_token(42)
    with pytest.raises(TypeError, match="expected a request"):
        lakelink.user_token(JWT)  # the token itself is not a request
