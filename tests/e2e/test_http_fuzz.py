"""Fuzzing the HTTP entry (Hypothesis): whatever arrives, never a 500, never a traceback.

A real `easgw serve` process on loopback; requests are random or mutated versions of real
EAS requests (the query, the headers and the WBXML body), sent with plain http.client.
"""

from __future__ import annotations

import base64
import http.client
import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from protocol import wbxml
from protocol.ashttp import Command, encode_base64_query
from tests.e2e.test_serve import _free_port, _wait_for

PASSWORD = "fuzz-password"
AUTH = "Basic " + base64.b64encode(f"alice:{PASSWORD}".encode()).decode()

BODIES = [
    (
        '<Provision xmlns="Provision:"><Policies><Policy><PolicyType>MS-EAS-Provisioning-WBXML'
        "</PolicyType></Policy></Policies></Provision>"
    ),
    '<Settings xmlns="Settings:"><UserInformation><Get/></UserInformation></Settings>',
    '<FolderSync xmlns="FolderHierarchy:"><SyncKey>0</SyncKey></FolderSync>',
    (
        '<FolderCreate xmlns="FolderHierarchy:"><SyncKey>1</SyncKey><ParentId>0</ParentId>'
        "<DisplayName>Fuzz</DisplayName><Type>13</Type></FolderCreate>"
    ),
]
WBXML_BODIES = [wbxml.encode(etree.fromstring(body.encode())) for body in BODIES]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    root = tmp_path_factory.mktemp("fuzz")
    data = root / "data"
    config = root / "easgw.toml"
    # No throttle lock-out: every example comes from 127.0.0.1.
    config.write_text("[auth]\nmax_failures = 1000000\n[policy]\nrequired = false\n")
    added = subprocess.run(
        [sys.executable, "-m", "easgw", "users", "add", "alice", "--email", "alice@example.com",
         "--password-stdin", "--data-dir", str(data), "--config", str(config)],
        input=f"{PASSWORD}\n".encode(), capture_output=True, timeout=120, check=False,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "easgw", "serve", "--listen", f"127.0.0.1:{port}",
         "--data-dir", str(data), "--config", str(config)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        _wait_for(f"http://127.0.0.1:{port}/healthz")
        yield port
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
        log = stderr.decode()
        assert "unhandled error" not in log, log[-3000:]
        assert "Traceback" not in log, log[-3000:]


def _mutate(data: bytes, edits: list[tuple[int, int]], cut: int | None) -> bytes:
    mutated = bytearray(data)
    for position, value in edits:
        mutated[position % len(mutated)] = value
    return bytes(mutated[:cut] if cut is not None else mutated)


commands = st.sampled_from([c.name for c in Command] + ["Bogus", "", "sync", "PROVISION"])
versions = st.sampled_from(["12.0", "12.1", "14.0", "14.1", "16.0", "16.1", "2.5", "", "x" * 300])
plain_queries = st.builds(
    lambda cmd, user, dev, typ, extra: (
        f"Cmd={cmd}&User={user}&DeviceId={dev}&DeviceType={typ}{extra}"
    ),
    commands,
    st.sampled_from(["alice", "ALICE", "bob", "", "EXAMPLE%5Calice", "alice%40example.com"]),
    st.text(alphabet="ABCDEF0123456789%+", max_size=40),
    st.sampled_from(["iPhone", "SmartPhone", "", "%00"]),
    st.sampled_from(["", "&CollectionId=1", "&SaveInSent=T", "&ItemId=%FF"]),
)
base64_queries = st.builds(
    lambda cmd, version, dev, key: encode_base64_query(
        command=cmd,
        version=version,
        device_id=dev,
        device_type="iPhone",
        user="alice",
        policy_key=key,
    ),
    st.sampled_from(list(Command)),
    st.sampled_from(["12.1", "14.0", "14.1", "16.0", "16.1"]),
    st.text(alphabet="ABCDEF0123456789", min_size=1, max_size=20),
    st.one_of(st.none(), st.integers(0, 2**32 - 1)),
)
random_queries = st.text(max_size=80).map(lambda t: t.encode("utf-8", "ignore").hex())
bodies = st.one_of(
    st.just(b""),
    st.binary(max_size=300),
    st.sampled_from(WBXML_BODIES),
    st.builds(
        _mutate,
        st.sampled_from(WBXML_BODIES),
        st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), max_size=6),
        st.one_of(st.none(), st.integers(min_value=0, max_value=200)),
    ),
)
headers = st.fixed_dictionaries(
    {
        "Authorization": st.sampled_from([AUTH, AUTH, AUTH, "Basic !!!", "Bearer x", ""]),
        "MS-ASProtocolVersion": versions,
        "X-MS-PolicyKey": st.sampled_from(["", "0", "1", "4294967295", "-1", "abc", "9" * 30]),
        "Content-Type": st.sampled_from(
            ["application/vnd.ms-sync.wbxml", "text/plain", "message/rfc822", ""]
        ),
        "User-Agent": st.sampled_from(["Apple-iPhone/1", "Android/14", "", "\u00e9" * 10]),
    }
)


@settings(
    max_examples=int(os.environ.get("EASGW_FUZZ_EXAMPLES", "250")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    method=st.sampled_from(["POST", "POST", "POST", "OPTIONS", "GET", "PUT"]),
    path=st.sampled_from(
        [
            "/Microsoft-Server-ActiveSync",
            "/microsoft-server-activesync/",
            "/autodiscover/autodiscover.xml",
            "/healthz",
            "/",
        ]
    ),
    query=st.one_of(plain_queries, base64_queries, random_queries),
    headers=headers,
    body=bodies,
)
def test_http_entry_never_answers_500(  # noqa: PLR0917 - Hypothesis passes them by name
    server: int, method: str, path: str, query: str, headers: dict[str, str], body: bytes
) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server, timeout=30)
    try:
        sent = {k: v for k, v in headers.items() if v}
        sent = {k: v.encode("utf-8").decode("latin-1") for k, v in sent.items()}
        connection.request(method, f"{path}?{query}", body=body, headers=sent)
        response = connection.getresponse()
        answer = response.read()
    finally:
        connection.close()
    assert response.status < 500 or response.status in (501, 503), (response.status, answer[:300])
    assert b"Traceback" not in answer
