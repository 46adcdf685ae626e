"""Shared fixtures: ``mock_zoho`` (the documented fixture of ``zoho_oauth.testing``)."""

from __future__ import annotations

from zoho_oauth.testing import mock_zoho  # noqa: F401  (re-exported as a fixture)
