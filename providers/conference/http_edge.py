"""The HTTP edge shared by the providers that call an API: httpx errors become ours.

Timeouts, connection failures, 429 and 5xx become :class:`ProviderUnavailable` (with the
server's Retry-After, when it sent one); other 4xx become :class:`ProviderRejected`.
Messages name the provider, the method and the path, never a query string (it may carry
a checksum) nor a header (it may carry a token).
"""

from __future__ import annotations

from typing import Any

import httpx

from providers.conference.base import ProviderRejected, ProviderUnavailable
from providers.retry_after import retry_after_seconds

__all__ = ["DEFAULT_TIMEOUT", "new_client", "send"]

#: Seconds for one provider call unless the provider's table says otherwise.
DEFAULT_TIMEOUT = 10.0
USER_AGENT = "easgw-conference"


def new_client(timeout: float = DEFAULT_TIMEOUT) -> httpx.AsyncClient:
    """A client for one provider: bounded time, no redirects followed, no proxy from env."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout),
        follow_redirects=False,
        trust_env=False,
        headers={"User-Agent": USER_AGENT},
    )


async def send(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    what: str,
    allow: frozenset[int] = frozenset(),
    **kwargs: Any,
) -> httpx.Response:
    """One request; a 2xx/3xx response (or a status in ``allow``) is returned, anything
    else raised as ours."""
    where = f"{what}: {method} {httpx.URL(url).path}"
    try:
        response = await client.request(method, url, **kwargs)
    except httpx.TimeoutException as exc:
        raise ProviderUnavailable(f"{where}: timed out") from exc
    except httpx.TransportError as exc:
        raise ProviderUnavailable(f"{where}: {type(exc).__name__}") from exc
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise ProviderRejected(f"{where}: {type(exc).__name__}") from exc
    status = response.status_code
    if status in allow:
        return response
    if status == 429 or status >= 500:
        raise ProviderUnavailable(
            f"{where}: HTTP {status}",
            retry_after=retry_after_seconds(response.headers.get("Retry-After")),
        )
    if status >= 400:
        raise ProviderRejected(f"{where}: HTTP {status}")
    return response
