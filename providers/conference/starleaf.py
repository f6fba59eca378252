"""StarLeaf through its Cloud API v1 (https://api.starleaf.com/v1).

StarLeaf Ltd went into administration in June 2022 and the service stopped in
October 2022; this provider is kept for deployments of the origin product that used
it and is tested against a loopback fake that follows the published documentation:

- https://support.starleaf.com/integrating/cloud-api/using-the-starleaf-cloud-api/
  (JSON bodies; the integration's token in the ``X-SL-AUTH-TOKEN`` header)
- https://support.starleaf.com/integrating/cloud-api/org-admin-level-requests/
  (``GET /users`` paged by ``count``/``startIndex``; ``POST /conferences`` creates a
  conference for a user of the organization, ``PUT``/``GET``/``DELETE
  /conferences/<conf_id>``)
- https://support.starleaf.com/integrating/cloud-api/request-objects/ (``conf_settings``,
  ``conf_repetition``: frequency daily/weekly/monthly/yearly, interval and count
  1..999, count or until)
- https://support.starleaf.com/integrating/cloud-api/response-objects/ (``conf_dial_info``:
  ``dial_info_url``, ``custom_invite_footer``, ``custom_invite_plain_text``)

The conference's owner is the StarLeaf user with the organizer's e-mail address. The
join URL is ``dial_info.dial_info_url``; the link's text is the plain-text invitation
footer. Start and end are sent as local times in the event's zone, as the API wants.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Self
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx

from providers.conference.base import ConferenceLink, EventContext, ProviderRejected
from providers.conference.http_edge import new_client, send
from providers.conference.options import Options

__all__ = ["DEFAULT_API_URL", "StarLeafProvider", "repetition"]

DEFAULT_API_URL = "https://api.starleaf.com/v1"
PAGE = 100
MAX_PAGES = 100
_FREQUENCIES = {"DAILY": "daily", "WEEKLY": "weekly", "MONTHLY": "monthly", "YEARLY": "yearly"}


def _local(moment: datetime, zone: ZoneInfo) -> str:
    """ISO 8601 without a zone, in ``zone`` (conf_settings start/end)."""
    return moment.astimezone(zone).replace(tzinfo=None).isoformat(timespec="seconds")


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _until(value: str, zone: ZoneInfo) -> str:
    """An RRULE UNTIL (date or UTC/local date-time) as local ISO 8601."""
    for pattern in ("%Y%m%dT%H%M%SZ", "%Y%m%dT%H%M%S", "%Y%m%d"):
        try:
            parsed = datetime.strptime(value, pattern)  # noqa: DTZ007 - zone applied below
        except ValueError:
            continue
        if pattern.endswith("Z"):
            return _local(parsed.replace(tzinfo=ZoneInfo("UTC")), zone)
        return parsed.isoformat(timespec="seconds")
    raise ProviderRejected(f"starleaf: cannot read UNTIL={value!r}")


def repetition(rrule: str, zone: ZoneInfo) -> dict[str, Any]:
    """An RFC 5545 RRULE as a ``conf_repetition`` object (frequency, interval, count or
    until). Day masks are not sent: the series repeats on the first occurrence's day."""
    parts = dict(part.partition("=")[::2] for part in rrule.upper().split(";") if part)
    frequency = _FREQUENCIES.get(parts.get("FREQ", ""))
    if frequency is None:
        raise ProviderRejected(f"starleaf: recurrence FREQ={parts.get('FREQ')!r} not supported")
    result: dict[str, Any] = {"frequency": frequency, "interval": 1}
    try:
        result["interval"] = min(max(int(parts.get("INTERVAL", "1")), 1), 999)
        if "COUNT" in parts:
            result["count"] = min(max(int(parts["COUNT"]), 1), 999)
    except ValueError as exc:
        raise ProviderRejected(f"starleaf: cannot read RRULE {rrule!r}") from exc
    if "UNTIL" in parts and "count" not in result:
        result["until"] = _until(parts["UNTIL"], zone)
    return result


def _title(summary: str) -> str:
    """conf_settings title: 2 to 256 characters."""
    title = summary.strip()[:256]
    return title if len(title) >= 2 else "Meeting"


class StarLeafProvider:
    """Conferences in one StarLeaf organization, made by an admin integration."""

    def __init__(self, *, api_url: str, token: str, http: httpx.AsyncClient | None = None) -> None:
        self.api_url = api_url.rstrip("/")
        self._token = token
        self._http = http or new_client()

    @classmethod
    def from_options(cls, options: Options, *, http: httpx.AsyncClient | None = None) -> Self:
        return cls(
            api_url=options.url("api_url", DEFAULT_API_URL),
            token=options.string("token", required=True),
            http=http,
        )

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"X-SL-AUTH-TOKEN": self._token, "Accept": "application/json"}
        return await send(
            self._http, method, f"{self.api_url}{path}", what="starleaf", headers=headers, **kwargs
        )

    @staticmethod
    def _json(response: httpx.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError as exc:
            raise ProviderRejected("starleaf: the answer is not JSON") from exc
        if not isinstance(body, dict):
            raise ProviderRejected("starleaf: the answer is not a JSON object")
        return body

    async def owner_id(self, email: str) -> str:
        """The id of the organization's user with this e-mail address (GET /users)."""
        wanted = email.strip().lower()
        start = 1
        for _ in range(MAX_PAGES):
            page = self._json(
                await self._request("GET", "/users", params={"count": PAGE, "startIndex": start})
            )
            users = page.get("users")
            if not isinstance(users, list):
                raise ProviderRejected("starleaf: GET /users: no users list")
            for user in users:
                if isinstance(user, dict) and str(user.get("email", "")).lower() == wanted:
                    found = user.get("user_id") or user.get("uid")
                    if isinstance(found, str) and found:
                        return found
            start += len(users)
            total = page.get("totalResults")
            if not users or not isinstance(total, int) or start > total:
                break
        raise ProviderRejected(f"starleaf: no StarLeaf user has the e-mail {email}")

    def _settings(self, context: EventContext) -> dict[str, Any]:
        zone = _zone(context.timezone)
        settings: dict[str, Any] = {
            "title": _title(context.summary),
            "timezone": zone.key,
            "permanent": False,
            "start": _local(context.start, zone),
            "end": _local(context.end, zone),
            "repetition": repetition(context.rrule, zone) if context.rrule else None,
            "hide_dir_entry": True,
            "send_emails": False,
        }
        return settings

    async def _body(self, context: EventContext) -> dict[str, Any]:
        owner = await self.owner_id(context.organizer.email)
        return {"owner_id": owner, "settings": self._settings(context)}

    def _link(self, conf_id: object, dial_info: object) -> ConferenceLink:
        if not isinstance(conf_id, str) or not conf_id or not isinstance(dial_info, dict):
            raise ProviderRejected("starleaf: the answer lacks conf_id or dial_info")
        url = dial_info.get("dial_info_url")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise ProviderRejected("starleaf: dial_info has no dial_info_url")
        text = dial_info.get("custom_invite_plain_text")
        return ConferenceLink(
            url=url, conference_id=conf_id, text=text if isinstance(text, str) and text else None
        )

    async def create(self, context: EventContext) -> ConferenceLink:
        body = await self._body(context)
        answer = self._json(await self._request("POST", "/conferences", json=body))
        return self._link(answer.get("conf_id"), answer.get("dial_info"))

    def _path(self, context: EventContext) -> str:
        if not context.conference_id:
            raise ProviderRejected("starleaf: no conference id")
        return f"/conferences/{quote(context.conference_id, safe='')}"

    async def update(self, context: EventContext) -> ConferenceLink:
        # PUT /conferences/<conf_id> with the create body (owner_id, conf_settings), then
        # GET it for dial_info (the PUT's answer carries none):
        # https://support.starleaf.com/integrating/cloud-api/org-admin-level-requests/
        path = self._path(context)
        await self._request("PUT", path, json=await self._body(context))
        details = self._json(await self._request("GET", path))
        return self._link(context.conference_id, details.get("dial_info"))

    async def delete(self, context: EventContext) -> None:
        await self._request("DELETE", self._path(context), allow=frozenset({404}))

    async def close(self) -> None:
        await self._http.aclose()
