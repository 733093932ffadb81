"""Alerts: webhook destinations per project, fired when a diagnosis opens at or above a chosen
severity, through a persisted outbox (store/alerts.py) that a separate task drains."""
