"""A project's alert destinations (project admins): webhooks fired when a diagnosis opens at
or above their severity, and the record of their deliveries."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Response
from starlette.concurrency import run_in_threadpool

from gradsight_server.alerts import service
from gradsight_server.api.access import OnProject, ProjectPath
from gradsight_server.api.account_schemas import DeliveryList, WebhookIn, WebhookList, WebhookOut
from gradsight_server.api.context import ContextDep
from gradsight_server.api.routes.projects import ERRORS
from gradsight_server.auth.model import Permission

router = APIRouter(tags=["alerts"])
MANAGE = [Depends(OnProject(Permission.MANAGE_PROJECT))]
WebhookId = Annotated[int, Path(ge=1, le=2**62, description="the webhook's id")]


@router.get("/projects/{project}/webhooks", response_model=WebhookList, responses=ERRORS, dependencies=MANAGE)
async def list_webhooks(project: ProjectPath, ctx: ContextDep) -> dict[str, Any]:
    return {"items": await run_in_threadpool(service.list_webhooks, ctx.db, project)}


@router.post(
    "/projects/{project}/webhooks",
    response_model=WebhookOut,
    status_code=201,
    responses=ERRORS,
    dependencies=MANAGE,
)
async def add_webhook(project: ProjectPath, body: WebhookIn, ctx: ContextDep) -> dict[str, Any]:
    """Add a destination. ``kind``: ``json`` (the diagnosis as JSON) or ``slack`` (Slack-style
    incoming webhooks). ``secret``: sign bodies with HMAC-SHA256 (``X-Gradsight-Signature``)."""
    return await run_in_threadpool(
        service.add_webhook,
        ctx.db,
        project,
        body.name,
        body.url,
        body.kind,
        body.min_severity,
        body.secret,
        ctx.settings.webhook_allow_private,
    )


@router.delete(
    "/projects/{project}/webhooks/{webhook_id}", status_code=204, responses=ERRORS, dependencies=MANAGE
)
async def delete_webhook(project: ProjectPath, webhook_id: WebhookId, ctx: ContextDep) -> Response:
    await run_in_threadpool(service.delete_webhook, ctx.db, project, webhook_id)
    return Response(status_code=204)


@router.get(
    "/projects/{project}/webhooks/{webhook_id}/deliveries",
    response_model=DeliveryList,
    responses=ERRORS,
    dependencies=MANAGE,
)
async def list_deliveries(project: ProjectPath, webhook_id: WebhookId, ctx: ContextDep) -> dict[str, Any]:
    """The latest 100 alerts sent (or being retried) to this destination."""
    return {"items": await run_in_threadpool(service.deliveries, ctx.db, project, webhook_id)}
