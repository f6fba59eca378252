"""`easgw providers list|test` and `easgw config show` as an admin runs them (subprocesses,
with loopback fakes standing in for BigBlueButton, StarLeaf and a webhook receiver)."""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import jwt
from aiohttp.test_utils import TestServer

from tests.providers.conference.fake_bigbluebutton import API, FakeBigBlueButton
from tests.providers.conference.fake_starleaf import FakeStarLeaf
from tests.providers.conference.fake_webhook import FakeWebhook

ServerFactory = Callable[..., Awaitable[TestServer]]
JWT_SECRET = "0123456789abcdef0123456789abcdef"
BBB_SECRET = "bbb-shared-secret"

STATIC = f"""
[[conference.providers]]
id = "jitsi"
type = "jitsi"
resource = "jitsi@conf.example.com"
display_name = "Jitsi video conference"
base_url = "https://meet.example.com"
jwt_app_id = "easgw"
jwt_secret = "{JWT_SECRET}"

[[conference.providers]]
id = "visio"
type = "bluemind-video"
resource = "visio@conf.example.com"
display_name = "BlueMind Video"
base_url = "https://video.example.com"
"""


async def easgw(*args: str) -> tuple[int, str, str]:
    """Run the CLI in a child process without blocking the loop the fakes serve on."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "easgw", *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def write_config(tmp_path: Path, text: str) -> str:
    path = tmp_path / "easgw.toml"
    path.write_text(text)
    return str(path)


async def test_list_and_test_the_link_only_providers(tmp_path: Path) -> None:
    config = write_config(tmp_path, STATIC)
    status, out, err = await easgw("providers", "list", "--config", config)
    assert status == 0, err
    assert out.splitlines() == [
        "jitsi\tjitsi\tjitsi@conf.example.com\tJitsi video conference",
        "visio\tbluemind-video\tvisio@conf.example.com\tBlueMind Video",
    ]
    status, out, err = await easgw("providers", "test", "jitsi", "--config", config)
    assert status == 0, err
    assert re.fullmatch(r"https://meet\.example\.com/[0-9a-f]{32}\n", out)
    assert "jwt" not in out  # the stored link never carries a bearer token
    status, out, err = await easgw("providers", "test", "jitsi", "--join", "--config", config)
    assert status == 0, err
    room_url, join = out.splitlines()
    token = join.removeprefix(room_url + "?jwt=")
    claims = jwt.decode(
        token, JWT_SECRET, algorithms=["HS256"], audience="jitsi",
        options={"verify_nbf": False, "verify_exp": False},
    )  # fmt: skip
    assert claims["room"] == room_url.rpartition("/")[2]
    assert claims["context"]["user"]["moderator"] is True
    status, out, err = await easgw("providers", "test", "visio", "--config", config)
    assert status == 0, err
    assert re.fullmatch(r"https://video\.example\.com/visio/[0-9a-f]{32}\n", out)


async def test_api_providers_against_loopback_fakes(
    tmp_path: Path, aiohttp_server: ServerFactory
) -> None:
    bbb = FakeBigBlueButton(secret=BBB_SECRET)
    starleaf = FakeStarLeaf(token="sl-token", users={"owner-1": "alice@example.com"})
    hook = FakeWebhook(secret="hook-secret")
    bbb_server = await aiohttp_server(bbb.app())
    sl_server = await aiohttp_server(starleaf.app())
    hook_server = await aiohttp_server(hook.app())
    config = write_config(
        tmp_path,
        f"""
[[conference.providers]]
id = "bbb"
type = "bigbluebutton"
resource = "bbb@conf.example.com"
api_url = "{bbb_server.make_url(API)}"
secret = "{BBB_SECRET}"

[[conference.providers]]
id = "starleaf"
type = "starleaf"
resource = "starleaf@conf.example.com"
api_url = "{sl_server.make_url("/v1")}"
token = "sl-token"

[[conference.providers]]
id = "hook"
type = "webhook"
resource = "hook@conf.example.com"
url = "{hook_server.make_url("/hook")}"
secret = "hook-secret"
timeout_seconds = 3
""",
    )
    status, out, err = await easgw("providers", "test", "bbb", "--config", config)
    assert status == 0, err
    (meeting_id,) = bbb.meetings
    assert out == f"{bbb_server.make_url(API)}/join?meetingID={meeting_id}\n"

    # --join: a signed moderator join URL that the server accepts
    status, out, err = await easgw("providers", "test", "bbb", "--join", "--config", config)
    assert status == 0, err
    reference, join = out.splitlines()
    async with httpx.AsyncClient() as browser:
        response = await browser.get(join)
    assert response.status_code == 302
    assert bbb.joins[-1][2] == "MODERATOR"
    assert bbb.joins[-1][0] == reference.rpartition("=")[2]

    status, out, err = await easgw(
        "providers", "test", "starleaf", "--organizer", "alice@example.com", "--config", config
    )
    assert status == 0, err
    (conf_id,) = starleaf.conferences
    assert out == f"https://meet.starleaf.example/{conf_id}\n"
    assert starleaf.conferences[conf_id]["owner_id"] == "owner-1"

    status, out, err = await easgw("providers", "test", "hook", "--config", config)
    assert status == 0, err
    assert hook.received[0]["action"] == "create"
    assert hook.received[0]["organizer"]["email"] == "hook@conf.example.com"
    assert re.fullmatch(r"https://video\.example\.net/m/[0-9a-f]{12}\n", out)

    # A provider failure: one line on stderr, exit 2, no traceback.
    status, out, err = await easgw("providers", "test", "starleaf", "--config", config)
    assert (status, out) == (2, "")
    expected = "no StarLeaf user has the e-mail starleaf@conf.example.com"
    assert err.splitlines() == [f"easgw providers: starleaf: starleaf: {expected}"]
    bbb.secret = "rotated"
    status, out, err = await easgw("providers", "test", "bbb", "--config", config)
    assert status == 2
    assert err.splitlines() == ["easgw providers: bbb: bigbluebutton: create failed: checksumError"]


async def test_errors_are_one_line_and_exit_2(tmp_path: Path) -> None:
    config = write_config(tmp_path, STATIC)
    status, out, err = await easgw("providers", "test", "zoom", "--config", config)
    assert (status, out) == (2, "")
    assert err.splitlines() == ["easgw providers: no provider 'zoom' (known: jitsi, visio)"]
    broken = write_config(
        tmp_path, STATIC.replace('base_url = "https://video', 'base_url = "video')
    )
    for action in (["list"], ["test", "jitsi"]):
        status, out, err = await easgw("providers", *action, "--config", broken)
        assert (status, out) == (2, "")
        expected = "base_url: expected an http(s) URL, got 'video.example.com'"
        assert err.splitlines() == [f"easgw providers: conference.providers[1] (visio): {expected}"]


async def test_config_show_masks_provider_secrets(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        STATIC
        + """
[[conference.providers]]
id = "bbb"
type = "bigbluebutton"
resource = "bbb@conf.example.com"
api_url = "https://bbb.example.com/bigbluebutton/api"
secret = "bbb-very-secret"

[[conference.providers]]
id = "sl"
type = "starleaf"
resource = "sl@conf.example.com"
token = "sl-very-secret"
""",
    )
    status, out, err = await easgw("config", "show", "--config", config)
    assert status == 0, err
    for secret in (JWT_SECRET, "bbb-very-secret", "sl-very-secret"):
        assert secret not in out
    assert 'jwt_secret = "********"' in out
    assert 'secret = "********"' in out
    assert 'token = "********"' in out
    assert 'jwt_app_id = "easgw"' in out
