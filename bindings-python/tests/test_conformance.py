"""Cross-language conformance: every scenario of ``tests/conformance/scenarios`` through the Python
API. The schema, the actions and the matcher are described in ``tests/conformance/README.md``; the
Rust and Node runners implement the same few rules, so a scenario that passes here and fails there
fails the build.

Every scenario is also a secret-leak check: the ``zoho_oauth`` logger is captured at every level
(TRACE included), and no log record, error message, error ``repr``/``body``/``hint`` or ``repr``
of a client, app or token set may contain a client secret, refresh token, access token, grant code
or PKCE verifier that the scenario used or saw."""

from __future__ import annotations

import email.utils
import http.client
import json
import logging
import os
import re
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

import pytest

from zoho_oauth import Client, DeviceAuthorization, OAuthApp, Response, TokenSet, ZohoError
from zoho_oauth.testing import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_SCOPES, MockZoho

from kv_stores import DictStore

# The store object of ZOHO_CONFORMANCE_STORE=object: (see Runner.new_client).
OWN_STORE = DictStore()

SCENARIOS = Path(__file__).resolve().parents[2] / "tests" / "conformance" / "scenarios"
FILES = sorted(SCENARIOS.glob("*.json"))


class Runner:
    def __init__(self, scenario: Dict[str, Any]) -> None:
        self.s = scenario
        mock = scenario.get("mock", {})
        self.mock = MockZoho(dcs=mock.get("dcs", ["us"]), settings=mock.get("settings"))
        dcs = self.call("info")["dcs"]
        self.vars: Dict[str, Any] = {"base": self.mock.base_url, "dc": {k: v["accounts_server"] for k, v in dcs.items()}}
        self.clients: Dict[str, Client] = {}
        self.apps: Dict[str, OAuthApp] = {}
        self.flows: Dict[str, DeviceAuthorization] = {}
        self.shown: List[str] = []  # everything the library printed: checked for secrets
        self.secrets: set[str] = {DEFAULT_CLIENT_SECRET}

    def call(self, op: str, body: Any = None) -> Any:
        return self.mock._call(op, body)

    # Placeholders: "${name.path}" (a whole string keeps the value's type), "${http_date+N}".
    def sub(self, v: Any) -> Any:
        if isinstance(v, dict):
            return {k: self.sub(x) for k, x in v.items()}
        if isinstance(v, list):
            return [self.sub(x) for x in v]
        if not isinstance(v, str) or "${" not in v:
            return v
        whole = re.fullmatch(r"\$\{([^}]+)\}", v)
        if whole:
            return self.lookup(whole.group(1))
        return re.sub(r"\$\{([^}]+)\}", lambda m: str(self.lookup(m.group(1))), v)

    def lookup(self, name: str) -> Any:
        if name.startswith("http_date+"):
            secs = self.call("now_ms")["now_ms"] / 1000 + float(name.split("+")[1])
            return email.utils.formatdate(secs, usegmt=True)
        value: Any = self.vars
        for part in name.split("."):
            value = value[part]
        return value

    def new_app(self, a: Dict[str, Any]) -> OAuthApp:
        return self.mock.app(
            a.get("client_id", DEFAULT_CLIENT_ID),
            a.get("client_secret", DEFAULT_CLIENT_SECRET),
            client_type=a.get("client_type", "self"),
            dc=a.get("dc"),
            dc_secrets=a.get("dc_secrets"),
        )

    def new_client(self, c: Dict[str, Any]) -> Client:
        rt = c.get("refresh_token")
        if rt is None:
            minted = self.call("mint_refresh_token", {"scopes": c.get("scopes", list(DEFAULT_SCOPES)), **({"user": c["user"]} if "user" in c else {})})
            rt = minted["refresh_token"]
        self.secrets.add(rt)
        o = dict(c.get("options", {}))
        dc = o.pop("dc", None)
        kw: Dict[str, Any] = {"api_domain": o.pop("api_domain", self.mock.base_url)}
        if dc is not None:
            kw["dc"], kw["accounts_url"] = dc, self.vars["dc"][dc]
        # ZOHO_CONFORMANCE_STORE: every scenario on that shared store (the test command runs
        # the runner once more against PostgreSQL); identities never collide across scenarios.
        # "object:" plays them on a store object of the user's own (one for the whole run, like
        # memory://), so the core's CasStore gives the same results as its own stores.
        store = os.environ.get("ZOHO_CONFORMANCE_STORE")
        if store == "object:":
            kw["token_store"] = OWN_STORE
        elif store:
            kw["token_store"] = store
        return self.mock.client(rt, **kw, **o)

    def token(self, t: TokenSet) -> Dict[str, Any]:
        self.shown += [repr(t), str(t)]
        now = self.call("now_ms")["now_ms"]
        return {
            "access_token": t.access_token,
            "refresh_token": t.refresh_token,
            "api_domain": t.api_domain,
            "accounts_server": t.accounts_server,
            "token_type": t.token_type,
            "scopes": t.scopes,
            "expires_in": (t.expires_at_ms - now) // 1000,
        }

    def response(self, r: Response, raise_: bool) -> Dict[str, Any]:
        if raise_:
            r.raise_for_status()
        try:
            body = r.json()
        except (ZohoError, ValueError):  # Python raises json.JSONDecodeError where Node raises invalid_response
            body = None
        return {"status": r.status, "json": body, "text": r.text, "retry_after": r.retry_after}

    def act(self, st: Dict[str, Any]) -> Any:
        do = st["do"]

        def c() -> Client:
            return self.clients[st.get("client", "main")]

        def app() -> OAuthApp:
            return self.apps[st.get("app", "app")]

        if do == "mock":
            return self.call(st["op"], st.get("body"))
        if do == "advance_clock":
            return self.call("advance_clock", {"seconds": st["seconds"]})["now_ms"]
        if do == "new_client":
            self.clients[st.get("name", "main")] = client = self.new_client(st)
            self.shown += [repr(client), str(client)]
            return None
        if do == "new_app":
            self.apps[st.get("name", "app")] = app_ = self.new_app(st)
            self.shown.append(repr(app_))
            return None
        if do == "access_token":
            return c().access_token()
        if do == "token_set":
            return self.token(c().token_set())
        if do == "force_refresh":
            return self.token(c().force_refresh())
        if do == "invalidate":
            return c().invalidate(st["token"])
        if do == "revoke":
            return c().revoke()
        if do == "request":
            kw = pick(st, ("params", "headers", "product", "timeout", "max_retries", "json", "retry_non_idempotent"))
            return self.response(c().request(st.get("method", "GET"), st["path"], **kw), st.get("raise", False))
        if do == "rate_limits":
            return c().rate_limits()
        if do == "paginate":
            return {"count": sum(1 for _ in c().paginate(st["path"], per_page=st.get("per_page", 200)))}
        if do == "concurrent":
            inner = st["step"]
            with ThreadPoolExecutor(max_workers=min(st["n"], 64)) as pool:
                outs = list(pool.map(lambda _: self.outcome(lambda: self.act(inner)), range(st["n"])))
            return summary(outs)
        if do == "exchange_code":
            kw = pick(st, ("redirect_uri", "code_verifier", "accounts_server"))
            return self.token(app().exchange_code(st["code"], **kw))
        if do == "refresh":
            return self.token(app().refresh(st["refresh_token"], **pick(st, ("accounts_server",))))
        if do == "app_revoke":
            return app().revoke(st["refresh_token"])
        if do == "client_credentials":
            return self.token(app().client_credentials(st["scopes"]))
        if do == "authorization_url":
            kw = pick(st, ("state", "prompt", "access_type"))
            u = app().authorization_url(st["scopes"], st["redirect_uri"], **kw)
            return {"url": u.url, "state": u.state, "code_verifier": u.code_verifier}
        if do == "consent":
            return consent(st["url"], st.get("params", {}))
        if do == "handle_callback":
            kw = pick(st, ("expected_state", "redirect_uri", "code_verifier"))
            return self.token(app().handle_callback(st["url"], **kw))
        if do == "start_device_flow":
            f = app().start_device_flow(st["scopes"], **pick(st, ("access_type",)))
            self.flows[st.get("save", "flow")] = f
            return {"user_code": f.user_code, "verification_url": f.verification_url, "expires_in": f.expires_in, "interval": f.interval}
        if do == "device_wait":
            return self.token(self.flows[st.get("flow", "flow")].wait())
        raise AssertionError(f"unknown action {do!r}")

    def outcome(self, f: Callable[[], Any]) -> Dict[str, Any]:
        try:
            return {"ok": f()}
        except ZohoError as e:
            self.shown += [str(e), repr(e), str(e.body), str(e.hint), str(e.zoho_message)]
            return {"error": {"code": e.code, "status": e.status, "zoho_code": e.zoho_code, "retry_after": e.retry_after}}

    def run(self) -> None:
        self.apps["app"] = self.new_app({})
        self.clients["main"] = self.new_client(self.s.get("client", {}))
        for i, raw in enumerate(self.s["steps"]):
            st = self.sub(raw)
            collect_secrets(st, self.secrets)
            where = f"step {i} ({st['do']})"
            before, t0 = self.call("now_ms")["now_ms"], time.monotonic()
            out = self.outcome(lambda: self.act(st))
            elapsed_ms, advanced = (time.monotonic() - t0) * 1000, (self.call("now_ms")["now_ms"] - before) / 1000
            exp = st.get("expect", {})
            if "error" in exp:
                want = exp["error"] if isinstance(exp["error"], dict) else {"code": exp["error"]}
                assert "error" in out, f"{where}: expected error {want}, got {out}"
                check(want, out["error"], self.vars, where)
            else:
                assert "ok" in out, f"{where}: unexpected error {out.get('error')}"
                if "result" in exp:
                    check(exp["result"], out["ok"], self.vars, where)
            if "counters" in exp:
                check(exp["counters"], self.call("counters"), self.vars, where + " counters")
            if "clock_advanced" in exp:
                check(exp["clock_advanced"], advanced, self.vars, where + " clock_advanced")
            if "elapsed_ms_max" in exp:
                assert elapsed_ms <= exp["elapsed_ms_max"], f"{where}: took {elapsed_ms:.0f} ms"
            if "save" in st:
                self.vars[st["save"]] = out.get("ok", out.get("error"))
            collect_secrets(out, self.secrets)

    def assert_no_leaks(self, logs: List[str]) -> None:
        secrets = sorted(x for x in self.secrets if len(x) >= 8)
        if self.call("counters")["token_requests"].get("refresh_token"):
            assert any("refresh" in line for line in logs), "the core's events reach logging"
        for text in self.shown + logs:
            for secret in secrets:
                assert secret not in text, f"a secret leaked into {text!r}"


SECRET_KEYS = ("access_token", "refresh_token", "client_secret", "code_verifier")
TOKEN_SHAPED = re.compile(r"^1000\.[0-9a-f]{16,}")


def collect_secrets(v: Any, out: set[str], key: str = "") -> None:
    """Every secret in a step or a result: values of secret-named keys, everything under
    ``secrets``/``dc_secrets``, and anything shaped like a Zoho token or grant code."""
    if isinstance(v, dict):
        for k, x in v.items():
            collect_secrets(x, out, key if key in ("secrets", "dc_secrets") else k)
    elif isinstance(v, list):
        for x in v:
            collect_secrets(x, out, key)
    elif isinstance(v, str) and (key in SECRET_KEYS or key in ("secrets", "dc_secrets") or TOKEN_SHAPED.match(v)):
        out.add(v)


class Capture(logging.Handler):
    """Every record of the ``zoho_oauth`` logger, message and structured fields."""

    def __init__(self) -> None:
        super().__init__(level=1)
        self.lines: List[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage() + " " + repr(getattr(record, "zoho_fields", "")))


def pick(st: Dict[str, Any], keys: Tuple[str, ...]) -> Dict[str, Any]:
    return {k: st[k] for k in keys if k in st}


def summary(outs: List[Dict[str, Any]]) -> Dict[str, Any]:
    oks = [json.dumps(o["ok"], sort_keys=True) for o in outs if "ok" in o]
    return {"ok": len(oks), "errors": sorted({o["error"]["code"] for o in outs if "error" in o}), "distinct": len(set(oks))}


def consent(url: str, params: Dict[str, str]) -> str:
    """The browser's part: open the authorization URL, return the redirect's Location."""
    if params:
        url += "&" + urllib.parse.urlencode(params)
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.netloc, timeout=10)
    conn.request("GET", f"{u.path}?{u.query}")
    resp = conn.getresponse()
    location = resp.getheader("Location")
    conn.close()
    assert resp.status == 302 and location, f"consent answered {resp.status}"
    return location


def check(want: Any, got: Any, vars: Dict[str, Any], where: str) -> None:
    assert matches(want, got, vars), f"{where}: expected {json.dumps(want)}, got {json.dumps(got, default=str)}"


def matches(want: Any, got: Any, vars: Dict[str, Any]) -> bool:
    if isinstance(want, dict) and any(k.startswith("$") for k in want):
        (op, arg), = want.items()
        if op == "$len":
            return hasattr(got, "__len__") and len(got) == arg
        if op == "$between":
            return isinstance(got, (int, float)) and not isinstance(got, bool) and arg[0] <= got <= arg[1]
        if op == "$same":
            return bool(got == lookup_var(vars, arg))
        if op == "$not":
            return not matches(arg, got, vars)
        if op == "$contains":
            return isinstance(got, str) and arg in got
        if op == "$type":
            kinds: Dict[str, Any] = {"string": str, "array": list, "object": dict, "number": (int, float), "boolean": bool}
            return arg == "any" and got is not None or arg == "null" and got is None or isinstance(got, kinds.get(arg, ()))
        raise AssertionError(f"unknown matcher {op}")
    if isinstance(want, dict):
        return isinstance(got, dict) and all(
            matches(v, got.get(k), vars) or (v == 0 and not isinstance(v, bool) and k not in got) for k, v in want.items()
        )
    if isinstance(want, list):
        return isinstance(got, list) and len(got) == len(want) and all(matches(w, g, vars) for w, g in zip(want, got))
    if isinstance(want, (int, float)) and not isinstance(want, bool):
        return isinstance(got, (int, float)) and not isinstance(got, bool) and float(want) == float(got)
    return bool(want == got)


def lookup_var(vars: Dict[str, Any], name: str) -> Any:
    value: Any = vars
    for part in name.split("."):
        value = value[part]
    return value


# Credentials of the configuration cases (no mock: nothing is sent).
CONFIG_CREDENTIALS = {"client_id": "1000.CONFORMANCE", "client_secret": "conformance-secret", "refresh_token": "1000.conformance-refresh"}
PRODUCTS = ("crm", "books", "desk", "mail", "campaigns")


def config_case(case: Dict[str, Any]) -> Any:
    """One case of a ``"kind": "config"`` scenario: the client's resolution, or the request or
    page size (its construction only: the accounts server is a closed port and nothing is retried,
    so a request that wrongly builds fails fast instead of reaching Zoho)."""
    options = {**CONFIG_CREDENTIALS, **case.get("options", {})}
    if "request" in case or "paginate" in case:
        options.setdefault("accounts_url", "http://127.0.0.1:1")
        options.setdefault("max_retries", 0)
    client = Client(**options)
    if "request" in case:
        r = dict(case["request"])
        client.request(r.pop("method"), r.pop("path"), data=r.pop("form", None), **r)
        return "built"
    if "paginate" in case:
        p = case["paginate"]
        client.paginate(p["path"], per_page=p["per_page"])
        return "built"
    return {"dc": client.dc, "accounts_server": client.accounts_server, "api_hosts": {p: client.base_url(p) for p in PRODUCTS}}


def run_config(scenario: Dict[str, Any]) -> None:
    failures = []
    for case in scenario["cases"]:
        try:
            out: Dict[str, Any] = {"ok": config_case(case)}
        except ZohoError as e:
            out = {"error": {"code": e.code, "status": e.status, "zoho_code": e.zoho_code, "retry_after": e.retry_after}}
        exp = case["expect"]
        if "error" in exp:
            want = exp["error"] if isinstance(exp["error"], dict) else {"code": exp["error"]}
            ok = "error" in out and matches(want, out["error"], {})
        else:
            ok = "ok" in out and matches(exp["result"], out["ok"], {})
        if not ok:
            failures.append(f"case {case['name']!r}: expected {exp}, got {out}")
    assert not failures, "; ".join(failures)


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_scenario(path: Path) -> None:
    scenario = json.loads(path.read_text())
    if "python" in scenario.get("not_in", {}):
        pytest.skip(scenario["not_in"]["python"])
    if scenario.get("kind") == "config":
        run_config(scenario)
        return
    logger, capture = logging.getLogger("zoho_oauth"), Capture()
    level = logger.level
    logger.setLevel(1)  # TRACE (5) and up
    logger.addHandler(capture)
    runner = Runner(scenario)
    try:
        runner.run()
        runner.assert_no_leaks(capture.lines)
    finally:
        logger.removeHandler(capture)
        logger.setLevel(level)
        runner.mock.stop()


def test_there_are_enough_scenarios() -> None:
    assert len(FILES) >= 40
    names = [json.loads(p.read_text())["name"] for p in FILES]
    assert len(set(names)) == len(names), "scenario names are unique"
