"""Persistence: the SQL schema, repositories (all SQL lives here) and migrations."""
