"""A loopback StarLeaf Cloud API v1, following the published documentation.

The service stopped in October 2022, so this fake stands in for it, after:

- https://support.starleaf.com/integrating/cloud-api/using-the-starleaf-cloud-api/
  (JSON bodies; an integration authenticates with the ``X-SL-AUTH-TOKEN`` header)
- https://support.starleaf.com/integrating/cloud-api/org-admin-level-requests/
  (``GET /users`` with ``count``/``startIndex`` answers itemsPerPage, startIndex,
  totalResults, users; ``POST /conferences`` answers 201 with a Location header and
  ``{conf_id, dial_info}``; ``PUT``/``GET``/``DELETE /conferences/<conf_id>``)
- https://support.starleaf.com/integrating/cloud-api/request-objects/ (conf_settings:
  title of 2 to 256 characters, timezone, permanent, start/end ISO 8601 without a zone;
  conf_repetition: frequency, interval 1..999, count 1..999 or until, not both)
- https://support.starleaf.com/integrating/cloud-api/response-objects/ (conf_dial_info)
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web

FREQUENCIES = {"daily", "weekly", "monthly", "yearly"}


@dataclass
class FakeStarLeaf:
    token: str
    #: user_id -> e-mail address of the organization's users.
    users: dict[str, str] = field(default_factory=dict)
    conferences: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    fail_with: int | None = None

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self.auth])
        app.router.add_get("/v1/users", self.list_users)
        app.router.add_post("/v1/conferences", self.create)
        app.router.add_get("/v1/conferences/{conf_id}", self.details)
        app.router.add_put("/v1/conferences/{conf_id}", self.update)
        app.router.add_delete("/v1/conferences/{conf_id}", self.delete)
        return app

    @web.middleware
    async def auth(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        if self.fail_with:
            return web.Response(status=self.fail_with, headers={"Retry-After": "30"})
        if request.headers.get("X-SL-AUTH-TOKEN") != self.token:
            return web.json_response({"error": "unauthorized"}, status=401)
        response: web.StreamResponse = await handler(request)
        response.headers["X-SL-SERVER"] = "fake-starleaf"
        return response

    async def list_users(self, request: web.Request) -> web.Response:
        count = int(request.query.get("count", len(self.users) or 1))
        start = int(request.query.get("startIndex", 1))
        everyone = [{"user_id": uid, "email": email} for uid, email in self.users.items()]
        page = everyone[start - 1 : start - 1 + count]
        return web.json_response(
            {"itemsPerPage": count, "startIndex": start, "totalResults": len(everyone),
             "users": page}
        )  # fmt: skip

    def _invalid(self, body: Any) -> str | None:
        if not isinstance(body, dict) or body.get("owner_id") not in self.users:
            return "owner_id"
        settings = body.get("settings")
        if not isinstance(settings, dict):
            return "settings"
        if not 2 <= len(str(settings.get("title", ""))) <= 256:
            return "title"
        if not isinstance(settings.get("timezone"), str) or settings.get("permanent") is not False:
            return "timezone/permanent"
        for key in ("start", "end"):
            value = settings.get(key)
            if not isinstance(value, str) or datetime.fromisoformat(value).tzinfo is not None:
                return key
        repetition = settings.get("repetition")
        if repetition is not None:
            if repetition.get("frequency") not in FREQUENCIES:
                return "frequency"
            if not 1 <= repetition.get("interval", 0) <= 999:
                return "interval"
            if "count" in repetition and "until" in repetition:
                return "count/until"
        return None

    def _dial_info(self, conf_id: str) -> dict[str, str]:
        return {
            "dial_info_url": f"https://meet.starleaf.example/{conf_id}",
            "app_url": f"https://meet.starleaf.example/{conf_id}/app",
            "formatted_access_code": "999 999 9999",
            "custom_invite_footer": f"<a href='https://meet.starleaf.example/{conf_id}'>Join</a>",
            "custom_invite_plain_text": f"Join: https://meet.starleaf.example/{conf_id}\n"
            "Dial: 999 999 9999",
        }

    async def create(self, request: web.Request) -> web.Response:
        body = await request.json()
        invalid = self._invalid(body)
        if invalid:
            return web.json_response({"error": f"invalid {invalid}"}, status=400)
        conf_id = secrets.token_hex(6)
        self.conferences[conf_id] = body
        return web.json_response(
            {"conf_id": conf_id, "dial_info": self._dial_info(conf_id)},
            status=201,
            headers={"Location": f"/v1/conferences/{conf_id}"},
        )

    def _known(self, request: web.Request) -> str:
        conf_id = request.match_info["conf_id"]
        if conf_id not in self.conferences:
            raise web.HTTPNotFound()
        return conf_id

    async def details(self, request: web.Request) -> web.Response:
        conf_id = self._known(request)
        stored = self.conferences[conf_id]
        return web.json_response(
            {"owner_id": stored["owner_id"], "settings": stored["settings"],
             "dial_info": self._dial_info(conf_id)}
        )  # fmt: skip

    async def update(self, request: web.Request) -> web.Response:
        conf_id = self._known(request)
        body = await request.json()
        invalid = self._invalid(body)
        if invalid:
            return web.json_response({"error": f"invalid {invalid}"}, status=400)
        self.conferences[conf_id] = body
        return web.Response(status=204)

    async def delete(self, request: web.Request) -> web.Response:
        del self.conferences[self._known(request)]
        return web.Response(status=204)
