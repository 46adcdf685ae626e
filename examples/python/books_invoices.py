"""Zoho Books invoices: every Books call names the organization in the ``organization_id`` query
parameter. Lists invoices, and creates one when a customer is given.

Run against the built-in fake Zoho (no account needed; asserts what it prints):

    python examples/python/books_invoices.py

Run against Zoho (a refresh token with scope ZohoBooks.invoices.ALL; the organization id is in
Books under Settings > Organization Profile; with ZOHO_BOOKS_CUSTOMER_ID it also creates a draft
invoice for that customer):

    ZOHO_CLIENT_ID=1000.XXXX ZOHO_CLIENT_SECRET=... ZOHO_REFRESH_TOKEN=1000.xxx ZOHO_DC=eu \\
    ZOHO_ORG_ID=800000001 python examples/python/books_invoices.py

Reads ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET, ZOHO_REFRESH_TOKEN, ZOHO_DC (default us), ZOHO_ORG_ID,
optionally ZOHO_BOOKS_CUSTOMER_ID, ZOHO_TOKEN_STORE, ZOHO_ACCOUNTS_URL and ZOHO_API_DOMAIN. Without
ZOHO_CLIENT_ID it points those variables at zoho_oauth.testing.MockZoho, started in this process,
and runs the same code.
"""

from __future__ import annotations

import os
from typing import Any, Dict

from zoho_oauth import ApiError, Client


def list_invoices(client: Client, org_id: str) -> int:
    """Prints the first page of invoices and returns how many it holds."""
    page = client.get("/books/v3/invoices", product="books", params={"organization_id": org_id, "per_page": 25})
    invoices = page.raise_for_status().json()["invoices"]
    for inv in invoices:
        print(inv["invoice_number"], inv.get("customer_name"), inv.get("total"), inv["status"])
    return len(invoices)


def create_invoice(client: Client, org_id: str, customer_id: str) -> Dict[str, Any]:
    """Creates a draft invoice and reads it back by id."""
    params = {"organization_id": org_id}
    body = {"customer_id": customer_id, "line_items": [{"name": "Consulting", "rate": 120.0, "quantity": 2}]}
    created = client.post("/books/v3/invoices", product="books", params=params, json=body).raise_for_status().json()
    invoice_id = created["invoice"]["invoice_id"]
    fetched: Dict[str, Any] = client.get(f"/books/v3/invoices/{invoice_id}", product="books", params=params).raise_for_status().json()["invoice"]
    print(f"created {fetched['invoice_number']} ({invoice_id}): {fetched['status']}")
    return fetched


def main() -> None:
    mock = None
    if not os.environ.get("ZOHO_CLIENT_ID"):
        from zoho_oauth.testing import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, MockZoho

        mock = MockZoho()
        os.environ.update(
            ZOHO_CLIENT_ID=DEFAULT_CLIENT_ID,
            ZOHO_CLIENT_SECRET=DEFAULT_CLIENT_SECRET,
            ZOHO_REFRESH_TOKEN=mock.mint_refresh_token(["ZohoBooks.invoices.ALL"])["refresh_token"],
            ZOHO_ACCOUNTS_URL=mock.base_url,
            ZOHO_ORG_ID="800000001",
            ZOHO_BOOKS_CUSTOMER_ID="460000000026049",
        )
    org_id = os.environ["ZOHO_ORG_ID"]
    with Client.from_env() as client:
        if mock is not None:
            # Without organization_id Books answers 400 with its own envelope: {"code":6041,...}.
            try:
                client.get("/books/v3/invoices", product="books").raise_for_status()
                raise AssertionError("Books accepted a call without organization_id")
            except ApiError as e:
                print(f"without organization_id: {e.status} {e.code} (code {e.zoho_code})")
                assert (e.code, e.zoho_code) == ("api_error", "6041")
        before = list_invoices(client, org_id)
        print(f"{before} invoice(s) on the first page")
        customer = os.environ.get("ZOHO_BOOKS_CUSTOMER_ID")
        invoice = create_invoice(client, org_id, customer) if customer else None
        if mock is not None:
            assert before == 3
            assert invoice is not None and invoice["status"] == "draft"
            assert list_invoices(client, org_id) == 4
            assert mock.token_requests("refresh_token") == 1
    if mock is not None:
        mock.stop()


if __name__ == "__main__":
    main()
