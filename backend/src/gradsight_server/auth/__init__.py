"""Accounts, sessions, projects, roles and API keys (docs/security.md)."""
