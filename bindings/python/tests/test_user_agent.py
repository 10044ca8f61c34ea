"""The User-Agent of the library's HTTP requests names the Python binding (lakelink_set_user_agent at load)."""

import platform
import re

import lakelink
from emutil import stats


def test_requests_name_the_binding(emulator, sp_conn, lakebase_conn):
    assert lakelink.App(emulator["app_url"], sp_conn).get("/api/whoami").ok
    with lakelink.connect(lakebase_conn) as c:  # SCIM and the credential API
        c.cursor().execute("SELECT 1")
    want = re.compile(rf"lakelink/{re.escape(lakelink.__version__)} go/\S+ os/\S+ "
                      rf"binding/python python/{re.escape(platform.python_version())} auth/oauth-m2m")
    agents = stats(emulator)["user_agents"]
    for endpoint in ("token", "app", "scim-me", "database-credentials"):
        assert any(want.fullmatch(a) for a in agents.get(endpoint, {})), (endpoint, agents.get(endpoint))
