"""Secrets never shown: a server that echoes a credential, a URL with a password."""

from __future__ import annotations

import json
import traceback
import urllib.request
from typing import Any

import pytest

import lakelink


def _arm(emulator: dict[str, Any], fault: dict[str, Any]) -> None:
    req = urllib.request.Request(emulator["admin_url"] + "/faults", data=json.dumps(fault).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        assert r.status == 201


def _shown(e: BaseException) -> str:
    return str(e) + repr(e) + repr(e.args) + "".join(traceback.format_exception(e)) + repr(vars(e))


def test_credential_cut_short_is_not_in_the_exception(emulator: dict[str, Any], lakebase_conn: str) -> None:
    secret = "SECRETcutCredentialPy"
    _arm(emulator, {"endpoint": "database-credentials", "kind": "malformed",
                    "body": '{"token": "%s", "expiration_time": ' % secret})
    with pytest.raises(lakelink.Error) as e:
        lakelink.connect(lakebase_conn + ";Timeout=41")  # an identity of its own: no credential cached yet
    shown = _shown(e.value)
    assert secret not in shown and "Request log" not in shown, shown
    assert "not valid JSON" in str(e.value)


def test_url_password_is_not_in_repr(emulator: dict[str, Any], lakebase_conn: str) -> None:
    host = emulator["workspace_url"].replace("http://", "http://u:PwSECRET@")
    c = lakelink.connect(lakebase_conn.replace(emulator["workspace_url"], host))
    try:
        assert "PwSECRET" not in repr(c) and "PwSECRET" not in str(c)
        assert "http://u:***@" in repr(c)
    finally:
        c.close()


def test_token_answers_leave_the_token_out_of_repr(sp_conn: str) -> None:
    """lakelink_token's answer, a local of the functions that read it (a traceback that shows locals shows it)."""
    from lakelink import _proto

    answer = _proto.GetToken(sp_conn).run()
    token = answer.token
    assert token and token not in repr(answer) and token not in str(answer)
    assert token not in repr(lakelink.token(sp_conn))
