"""A loopback receiver for the webhook provider (CONTRACTS.md section 6).

It verifies ``X-Easgw-Signature: sha256=<hex HMAC-SHA256 of the body>`` with its own
copy of the secret (401 otherwise), records each action, and answers create/update
with ``{"url", "id", "text"}`` and delete with 204, unless told to misbehave.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class FakeWebhook:
    secret: str
    received: list[dict[str, Any]] = field(default_factory=list)
    #: A raw (status, body) to answer instead of the normal one.
    answer: tuple[int, str] | None = None
    delay: float = 0.0
    #: The URL an update answers with (a provider that moves the meeting); None: the same.
    update_url: str | None = None

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        return app

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        expected = "sha256=" + hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()
        given = request.headers.get("X-Easgw-Signature", "")
        if not hmac.compare_digest(expected, given):
            return web.json_response({"error": "bad signature"}, status=401)
        if request.content_type != "application/json":
            return web.json_response({"error": "not json"}, status=415)
        data = json.loads(body)
        self.received.append(data)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.answer is not None:
            status, text = self.answer
            return web.Response(status=status, text=text, content_type="application/json")
        if data["action"] == "delete":
            return web.Response(status=204)
        conference_id = data.get("conference_id") or secrets.token_hex(6)
        if data["action"] == "update" and self.update_url is not None:
            return web.json_response({"url": self.update_url, "id": conference_id})
        return web.json_response(
            {"url": f"https://video.example.net/m/{conference_id}", "id": conference_id,
             "text": f"Dial-in: +1 555 0100, meeting {conference_id}"}
        )  # fmt: skip
