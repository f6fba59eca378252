"""BigBlueButton through its public API (https://docs.bigbluebutton.org/development/api/).

Every call is ``GET <api_url>/<call>?<query>&checksum=<hex>`` where the checksum is
``SHA(call + query + shared secret)``: SHA-1 by default, or SHA-256/384/512
(``checksum_algorithm``; the server tells them apart by length, and
``supportedChecksumAlgorithms`` in bbb-web.properties may switch SHA-1 off). Answers
are XML ``<response><returncode>SUCCESS|FAILED</returncode>...<messageKey>``.

A meeting must exist (``create``) before anyone can ``join``, and a server forgets a
meeting nobody joined after a few minutes, so a calendar cannot carry a BBB URL: the
link is ``join_via_gateway`` and the gateway's ``/conf/<token>`` redirect calls
:meth:`BigBlueButtonProvider.join_url`, which re-runs ``create`` (idempotent on the
same meetingID: a running meeting answers SUCCESS with ``duplicateWarning``) and
returns a checksummed ``join`` URL. ``join`` carries ``role`` (MODERATOR/VIEWER,
BBB >= 2.4) and, when ``create`` returned them, the matching ``password``
(``moderatorPW``/``attendeePW``) for older servers; newer ones ignore it.
``create`` at link time checks the server and the secret. No ``update``: the meeting is
made at join time, from the registry row's current title and times, so a reschedule
has nothing to tell the server.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Self
from urllib.parse import quote, urlencode

import httpx
from lxml import etree

from providers.conference.base import ConferenceLink, EventContext, ProviderRejected
from providers.conference.http_edge import new_client, send
from providers.conference.options import Options

__all__ = [
    "CHECKSUM_ALGORITHMS",
    "BigBlueButtonProvider",
    "checksum",
    "parse_response",
    "signed_query",
]

CHECKSUM_ALGORITHMS = ("sha1", "sha256", "sha384", "sha512")
NAME_LIMIT = 256
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def checksum(call: str, query: str, secret: str, algorithm: str = "sha1") -> str:
    """The API checksum: hex SHA of call name + query string + shared secret."""
    return hashlib.new(algorithm, f"{call}{query}{secret}".encode()).hexdigest()


def signed_query(call: str, params: dict[str, str], secret: str, algorithm: str) -> str:
    """``params`` as a query string with its checksum appended."""
    query = urlencode(params, quote_via=quote)
    return f"{query}&checksum={checksum(call, query, secret, algorithm)}"


def parse_response(call: str, body: bytes) -> etree._Element:
    """An API answer's ``<response>``: SUCCESS, else :class:`ProviderRejected` naming the
    messageKey (checksumError, ...). No entities are resolved, nothing is fetched."""
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise ProviderRejected(f"bigbluebutton: {call}: the answer is not XML") from exc
    if root is None or root.tag != "response" or root.findtext("returncode") is None:
        raise ProviderRejected(f"bigbluebutton: {call}: not an API answer")
    if root.findtext("returncode") != "SUCCESS":
        key = (root.findtext("messageKey") or "unknown")[:100]
        raise ProviderRejected(f"bigbluebutton: {call} failed: {key}")
    return root


@dataclass(frozen=True, slots=True, kw_only=True)
class _Meeting:
    meeting_id: str
    moderator_pw: str | None
    attendee_pw: str | None


class BigBlueButtonProvider:
    """Meetings on one BigBlueButton server (or Scalelite) with its shared secret."""

    def __init__(
        self,
        *,
        api_url: str,
        secret: str,
        checksum_algorithm: str = "sha1",
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self._secret = secret
        self.algorithm = checksum_algorithm
        self._http = http or new_client()

    @classmethod
    def from_options(cls, options: Options, *, http: httpx.AsyncClient | None = None) -> Self:
        return cls(
            api_url=options.url("api_url"),
            secret=options.string("secret", required=True),
            checksum_algorithm=options.choice("checksum_algorithm", CHECKSUM_ALGORITHMS, "sha1"),
            http=http,
        )

    def url(self, call: str, params: dict[str, str]) -> str:
        return f"{self.api_url}/{call}?{signed_query(call, params, self._secret, self.algorithm)}"

    async def _call(self, call: str, params: dict[str, str]) -> etree._Element:
        response = await send(self._http, "GET", self.url(call, params), what="bigbluebutton")
        return parse_response(call, response.content)

    async def _create(self, meeting_id: str, name: str) -> _Meeting:
        params = {"name": (name.strip() or "Meeting")[:NAME_LIMIT], "meetingID": meeting_id}
        root = await self._call("create", params)
        if root.findtext("meetingID") not in (None, meeting_id):
            raise ProviderRejected("bigbluebutton: create answered for another meeting")
        return _Meeting(
            meeting_id=meeting_id,
            moderator_pw=root.findtext("moderatorPW") or None,
            attendee_pw=root.findtext("attendeePW") or None,
        )

    async def create(self, context: EventContext) -> ConferenceLink:
        meeting = await self._create(secrets.token_hex(16), context.summary)
        return ConferenceLink(
            # A reference to the meeting on this server; unusable without a checksum.
            url=f"{self.api_url}/join?{urlencode({'meetingID': meeting.meeting_id})}",
            conference_id=meeting.meeting_id,
            join_via_gateway=True,
        )

    async def join_url(
        self,
        link: ConferenceLink,
        event: EventContext,
        *,
        moderator: bool,
        display_name: str,
        email: str,
    ) -> str:
        """(Re)create the meeting, then a signed ``join`` URL for this person."""
        meeting = await self._create(link.conference_id, event.summary)
        params = {
            "fullName": display_name.strip() or email or "Guest",
            "meetingID": meeting.meeting_id,
            "role": "MODERATOR" if moderator else "VIEWER",
        }
        password = meeting.moderator_pw if moderator else meeting.attendee_pw
        if password:
            params["password"] = password
        params["redirect"] = "true"
        return self.url("join", params)

    async def close(self) -> None:
        await self._http.aclose()
