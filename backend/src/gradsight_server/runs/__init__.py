"""Run lifecycle: create or resume, list, finish, delete."""
