"""The generic webhook provider (CONTRACTS.md section 6): any meeting service behind a URL.

easgw POSTs a JSON object::

    {"action": "create"|"update"|"delete", "uid", "summary", "start", "end", "timezone",
     "recurring": bool, "organizer": {"email", "name"}, "attendees": [{"email", "name"}],
     "conference_id" (update and delete only)}

``start``/``end`` are ISO 8601 with their UTC offset. The header
``X-Easgw-Signature: sha256=<hex>`` is the HMAC-SHA256 of the exact body bytes with
``secret``, so the receiver can check the sender and the content. ``create`` and
``update`` must answer 200 with ``{"url", "id", "text"}`` (``text`` optional or null);
``delete`` any 2xx. Anything else (another status, a redirect, not JSON, a missing or
non-http(s) ``url``, no ``id``) is a provider error; timeouts (``timeout_seconds``,
default 5), connection failures, 429 and 5xx are retryable.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any, Self

import httpx

from providers.conference.base import ConferenceLink, EventContext, ProviderRejected
from providers.conference.http_edge import new_client, send
from providers.conference.options import Options

__all__ = ["SIGNATURE_HEADER", "WebhookProvider", "parse_answer", "payload", "signature"]

SIGNATURE_HEADER = "X-Easgw-Signature"


def signature(body: bytes, secret: str) -> str:
    """The header value: ``sha256=`` + hex HMAC-SHA256 of ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def payload(action: str, context: EventContext) -> dict[str, Any]:
    """The JSON object sent for ``action``."""
    data: dict[str, Any] = {
        "action": action,
        "uid": context.uid,
        "summary": context.summary,
        "start": context.start.isoformat(),
        "end": context.end.isoformat(),
        "timezone": context.timezone,
        "recurring": context.recurring,
        "organizer": {"email": context.organizer.email, "name": context.organizer.name},
        "attendees": [{"email": a.email, "name": a.name} for a in context.attendees],
    }
    if action != "create":
        data["conference_id"] = context.conference_id
    return data


def parse_answer(action: str, body: bytes) -> ConferenceLink:
    """A create/update answer ``{"url", "id", "text"}`` -> a link; anything else is refused."""
    try:
        answer = json.loads(body)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise ProviderRejected(f"webhook: {action}: the answer is not JSON") from exc
    if not isinstance(answer, dict):
        raise ProviderRejected(f"webhook: {action}: the answer is not a JSON object")
    url, conference_id, text = answer.get("url"), answer.get("id"), answer.get("text")
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise ProviderRejected(f"webhook: {action}: no http(s) url in the answer")
    if isinstance(conference_id, int) and not isinstance(conference_id, bool):
        conference_id = str(conference_id)
    if not isinstance(conference_id, str) or not conference_id:
        raise ProviderRejected(f"webhook: {action}: no id in the answer")
    if text is not None and not isinstance(text, str):
        raise ProviderRejected(f"webhook: {action}: text is not a string")
    return ConferenceLink(url=url, conference_id=conference_id, text=text or None)


class WebhookProvider:
    """Links made by an HTTP endpoint the admin runs."""

    def __init__(
        self,
        *,
        url: str,
        secret: str,
        timeout_seconds: float = 5.0,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.url = url
        self._secret = secret
        self._http = http or new_client(timeout_seconds)
        self.timeout = timeout_seconds

    @classmethod
    def from_options(cls, options: Options, *, http: httpx.AsyncClient | None = None) -> Self:
        return cls(
            url=options.url("url"),
            secret=options.string("secret", required=True),
            timeout_seconds=options.number("timeout_seconds", 5.0, minimum=0.1),
            http=http,
        )

    async def _post(self, action: str, context: EventContext) -> httpx.Response:
        body = json.dumps(payload(action, context), ensure_ascii=False).encode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature(body, self._secret),
        }
        response = await send(
            self._http,
            "POST",
            self.url,
            what="webhook",
            content=body,
            headers=headers,
            timeout=self.timeout,
        )
        if not 200 <= response.status_code < 300:
            raise ProviderRejected(f"webhook: {action}: HTTP {response.status_code}")
        return response

    async def _link(self, action: str, context: EventContext) -> ConferenceLink:
        response = await self._post(action, context)
        if response.status_code != 200:
            raise ProviderRejected(f"webhook: {action}: HTTP {response.status_code}, not 200")
        return parse_answer(action, response.content)

    async def create(self, context: EventContext) -> ConferenceLink:
        return await self._link("create", context)

    async def update(self, context: EventContext) -> ConferenceLink:
        if not context.conference_id:
            raise ProviderRejected("webhook: update needs a conference id")
        return await self._link("update", context)

    async def delete(self, context: EventContext) -> None:
        if not context.conference_id:
            raise ProviderRejected("webhook: delete needs a conference id")
        await self._post("delete", context)

    async def close(self) -> None:
        await self._http.aclose()
