"""ResolveRecipients (MS-ASCMD 2.2.1.15): names the phone typed -> GAL recipients.

Each To (a name, an address, or ``Name <address>``) is looked up in the same
directory as the GAL Search (:func:`easgw.commands.search.directory_matches`: the
conference resources and the gateway's users). A To equal to one entry's address
resolves to that entry alone; otherwise the prefix matches count: none -> Status 4
(not resolved), one -> 1, more -> 2 (ambiguous: suggestions), or 3 when more than
``MaxAmbiguousRecipients`` were found and the list is cut (MS-ASCMD 2.2.3.177.12).
Every recipient is ``Type`` 1 (GAL).

What easgw does not offer is answered with its "not available" status, per
recipient: ``Availability`` -> Availability Status 163 (no free/busy data for the
recipient), ``CertificateRetrieval`` 2 or 3 -> Certificates Status 7 (no valid
S/MIME certificate) with CertificateCount 0, ``Picture`` (14.1+) -> Picture Status
173 (no photo).
"""

from __future__ import annotations

from email.utils import parseaddr

from easgw.commands import CommandSpec
from easgw.commands.search import directory_matches
from easgw.gateway import RequestContext
from protocol.ashttp import Command
from protocol.resolverecipients import (
    AvailabilityStatus,
    CertificateStatus,
    Recipient,
    RecipientResult,
    ResolveRecipientsRequest,
    ResolveRecipientsResponse,
    ResponseStatus,
    parse_resolve_recipients_request,
    render_resolve_recipients_response,
)
from protocol.search import GalEntry

__all__ = ["SPEC", "handle"]


def _status(found: list[GalEntry], limit: int) -> ResponseStatus:
    if not found:
        return ResponseStatus.NotResolved
    if len(found) == 1:
        return ResponseStatus.Success
    return ResponseStatus.Ambiguous if len(found) <= limit else ResponseStatus.AmbiguousPartial


async def _resolve(
    ctx: RequestContext, request: ResolveRecipientsRequest, to: str
) -> RecipientResult:
    address = parseaddr(to)[1] if "<" in to else to  # "Name <address>" as some phones send
    found = await directory_matches(ctx, address or to)
    exact = [e for e in found if e.email_address.casefold() == (address or to).casefold()]
    if exact:
        found = exact[:1]
    status = _status(found, request.max_ambiguous_recipients)
    shown = found if status is ResponseStatus.Success else found[: request.max_ambiguous_recipients]
    return RecipientResult(
        to=to,
        status=status,
        recipients=tuple(
            Recipient(display_name=entry.display_name, email_address=entry.email_address)
            for entry in shown
        ),
        availability=AvailabilityStatus.NoFreeBusy if request.availability else None,
        certificates=(
            CertificateStatus.NoValidCertificate if request.certificate_retrieval > 1 else None
        ),
        picture=request.picture,
    )


async def handle(
    ctx: RequestContext, request: ResolveRecipientsRequest
) -> ResolveRecipientsResponse:
    results = [await _resolve(ctx, request, to) for to in request.to]
    return ResolveRecipientsResponse(responses=tuple(results))


SPEC = CommandSpec(
    command=Command.ResolveRecipients,
    parse=parse_resolve_recipients_request,
    handle=handle,
    render=render_resolve_recipients_response,
    status_root="{ResolveRecipients:}ResolveRecipients",
    status_tag="{ResolveRecipients:}Status",
)
