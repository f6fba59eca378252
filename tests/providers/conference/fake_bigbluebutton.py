"""A loopback BigBlueButton API server, following the public API reference.

https://docs.bigbluebutton.org/development/api/ ("API Security Model", "create",
"join"): every call is ``GET /bigbluebutton/api/<call>?<query>&checksum=<hex>``; the
checksum is SHA-1/256/384/512 (told apart by length) of call name + query string
(without the checksum parameter) + shared secret; answers are XML
``<response><returncode>SUCCESS|FAILED</returncode>...``; a wrong checksum answers
FAILED/checksumError. ``create`` on an existing meetingID answers SUCCESS with
messageKey duplicateWarning and the same passwords; ``join`` needs an existing meeting
(FAILED/invalidMeetingIdentifier otherwise), a fullName, and ``role`` (2.4+) or the
moderator/attendee ``password``; with ``redirect=true`` it redirects the browser to
the client.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from aiohttp import web

API = "/bigbluebutton/api"
ALGORITHMS = {40: "sha1", 64: "sha256", 96: "sha384", 128: "sha512"}


@dataclass
class Meeting:
    meeting_id: str
    name: str
    moderator_pw: str = field(default_factory=lambda: secrets.token_hex(4))
    attendee_pw: str = field(default_factory=lambda: secrets.token_hex(4))


@dataclass
class FakeBigBlueButton:
    secret: str
    #: "role" (BBB >= 2.4) or "password" (older servers: role is ignored).
    join_by: str = "role"
    meetings: dict[str, Meeting] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, str], str]] = field(default_factory=list)
    joins: list[tuple[str, str, str]] = field(default_factory=list)
    #: When set, every call answers this HTTP status (an overloaded server).
    fail_with: int | None = None

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get(API + "/{call}", self.handle)
        return app

    def _checksum_ok(self, call: str, raw_query: str) -> tuple[bool, str]:
        pairs = raw_query.split("&")
        given = [p.partition("=")[2] for p in pairs if p.startswith("checksum=")]
        rest = "&".join(p for p in pairs if not p.startswith("checksum="))
        if len(given) != 1 or len(given[0]) not in ALGORITHMS:
            return False, ""
        algorithm = ALGORITHMS[len(given[0])]
        expected = hashlib.new(algorithm, f"{call}{rest}{self.secret}".encode()).hexdigest()
        return hmac.compare_digest(expected, given[0]), algorithm

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if self.fail_with:
            return web.Response(status=self.fail_with, headers={"Retry-After": "7"})
        call = request.match_info["call"]
        ok, algorithm = self._checksum_ok(call, request.rel_url.raw_query_string)
        if not ok:
            return failed("checksumError", "You did not pass the checksum security check")
        params = dict(request.query)
        self.calls.append((call, params, algorithm))
        if call == "create":
            return self.create(params)
        if call == "join":
            return self.join(params)
        return failed("unsupportedRequest", "This request is not supported.")

    def create(self, params: dict[str, str]) -> web.Response:
        meeting_id = params.get("meetingID", "")
        if not meeting_id:
            return failed("missingParamMeetingID", "You must specify a meeting ID")
        known = self.meetings.get(meeting_id)
        meeting = known or Meeting(meeting_id=meeting_id, name=params.get("name", meeting_id))
        self.meetings[meeting_id] = meeting
        extra = (
            "<messageKey>duplicateWarning</messageKey><message>This conference was already in "
            "existence and may currently be in progress.</message>"
            if known
            else "<messageKey></messageKey><message></message>"
        )
        return xml(
            f"<returncode>SUCCESS</returncode><meetingID>{escape(meeting_id)}</meetingID>"
            f"<internalMeetingID>{secrets.token_hex(20)}</internalMeetingID>"
            f"<attendeePW>{meeting.attendee_pw}</attendeePW>"
            f"<moderatorPW>{meeting.moderator_pw}</moderatorPW>"
            f"<createTime>1700000000000</createTime><hasBeenForciblyEnded>false"
            f"</hasBeenForciblyEnded>{extra}"
        )

    def _role(self, meeting: Meeting, params: dict[str, str]) -> str | None:
        if self.join_by == "role" and params.get("role") in {"MODERATOR", "VIEWER"}:
            return params["role"]
        password = params.get("password")
        if password == meeting.moderator_pw:
            return "MODERATOR"
        if password == meeting.attendee_pw:
            return "VIEWER"
        return None

    def join(self, params: dict[str, str]) -> web.StreamResponse:
        meeting = self.meetings.get(params.get("meetingID", ""))
        if meeting is None:
            return failed("invalidMeetingIdentifier", "The meeting ID did not match any meeting")
        if not params.get("fullName"):
            return failed("missingParamFullName", "You must specify a name for the attendee")
        role = self._role(meeting, params)
        if role is None:
            return failed("invalidPassword", "You either did not supply a password or a role")
        self.joins.append((meeting.meeting_id, params["fullName"], role))
        session = secrets.token_hex(8)
        if params.get("redirect", "true") == "true":
            raise web.HTTPFound(f"/html5client/join?sessionToken={session}")
        return xml(f"<returncode>SUCCESS</returncode><session_token>{session}</session_token>")


def xml(inner: str) -> web.Response:
    return web.Response(text=f"<response>{inner}</response>", content_type="text/xml")


def failed(key: str, message: str) -> web.Response:
    return xml(
        f"<returncode>FAILED</returncode><messageKey>{key}</messageKey>"
        f"<message>{escape(message)}</message>"
    )
