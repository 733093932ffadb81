"""What an alert says. The snapshot is taken when the diagnosis opens (so a retry hours later
sends what was true then); the body is rendered per destination kind at send time:

- ``json``: ``{"event": "diagnosis.opened", "project", "run": {"id", "name", "url"},
  "diagnosis": <the contract's diagnosis object>}``
- ``slack``: ``{"text", "blocks"}`` (Slack incoming webhooks; Mattermost, Rocket.Chat and
  Discord's ``/slack`` endpoints accept the same)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

EVENT = "diagnosis.opened"
_ICON = {"critical": ":rotating_light:", "warning": ":warning:", "info": ":information_source:"}


def snapshot(
    project: str, run_id: str, run_name: str, diagnosis: dict[str, Any], public_url: str | None
) -> dict[str, Any]:
    url = f"{public_url.rstrip('/')}/runs/{quote(run_id)}" if public_url else None
    return {
        "event": EVENT,
        "project": project,
        "run": {"id": run_id, "name": run_name, "url": url},
        "diagnosis": diagnosis,
    }


def _esc(text: Any) -> str:
    """Slack's escaping: a run named ``<!channel>`` must not ping a channel."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    if kind != "slack":
        return payload
    d, run = payload["diagnosis"], payload["run"]
    severity = str(d.get("severity", ""))
    name = _esc(run["name"])
    where = f"<{run['url']}|{name}>" if run.get("url") else f"`{name}`"
    title = f"{_ICON.get(severity, '')} {_esc(severity.upper())} {_esc(d.get('rule'))}"
    lines = [f"*{title.strip()}* in {_esc(payload['project'])} / {where}", _esc(d.get("summary", ""))]
    first = next(iter(d.get("recommendations") or []), None)
    if isinstance(first, dict) and first.get("detail"):
        lines.append(f"Suggested: {_esc(first.get('action', ''))}: {_esc(first['detail'])}")
    text = "\n".join(lines)
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text[:2900]}}]}
