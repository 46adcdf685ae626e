"""Exchange a self-client grant code for a refresh token (once), then keep only the refresh token.

Run (generate the code in https://api-console.zoho.com, "Self Client", and run at once: codes
live 1-3 minutes and are single-use):
    ZOHO_CLIENT_ID=1000.XXXX ZOHO_CLIENT_SECRET=... ZOHO_DC=eu ZOHO_GRANT_CODE=1000.yyy \\
        python bindings-python/examples/self_client.py

Reads ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET, ZOHO_DC and ZOHO_GRANT_CODE. Without them it runs against
zoho_oauth.testing.MockZoho. It prints where to store the refresh token, never the token itself.
"""

from __future__ import annotations

import os

from zoho_oauth import AuthError, OAuthApp, TokenSet


def exchange(app: OAuthApp, code: str) -> TokenSet:
    try:
        return app.exchange_code(code)
    except AuthError as e:
        raise SystemExit(f"{e.code}: {e.hint}") from e


def main() -> None:
    code = os.environ.get("ZOHO_GRANT_CODE")
    if code:
        app = OAuthApp(os.environ["ZOHO_CLIENT_ID"], os.environ["ZOHO_CLIENT_SECRET"], os.environ.get("ZOHO_DC", "us"))
        tokens = exchange(app, code)
    else:
        from zoho_oauth.testing import MockZoho

        with MockZoho() as mock:
            tokens = exchange(mock.app(), mock.mint_code(["ZohoCRM.modules.ALL"])["code"])
    assert tokens.refresh_token is not None, "use access_type=offline codes"
    print(tokens)  # the repr shows no secret
    print(f"store the refresh token (ZOHO_REFRESH_TOKEN) with ZOHO_ACCOUNTS_URL={tokens.accounts_server}")


if __name__ == "__main__":
    main()
