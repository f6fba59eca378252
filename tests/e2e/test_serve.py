"""`easgw serve` as a process: starts on embedded defaults, HTTPS, graceful shutdown."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from easgw.cli.serve import _is_loopback


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_for(url: str, context: ssl.SSLContext | None = None, timeout: float = 30) -> bytes:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2, context=context) as response:  # noqa: S310
                body: bytes = response.read()
                return body
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _serve(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "easgw", "serve", "--listen", f"127.0.0.1:{port}",
         "--data-dir", str(tmp_path / "data"), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    return process, port


def _stop(process: subprocess.Popen[bytes]) -> tuple[int, bytes]:
    process.send_signal(signal.SIGTERM)
    try:
        _, stderr = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    return process.returncode, stderr


def test_serve_on_embedded_defaults_and_stop_gracefully(tmp_path: Path) -> None:
    process, port = _serve(tmp_path)
    try:
        body = _wait_for(f"http://127.0.0.1:{port}/healthz")
        assert b'"ok"' in body
        assert (tmp_path / "data" / "easgw.sqlite3").exists()
    finally:
        code, stderr = _stop(process)
    assert code == 0, stderr.decode()
    assert b"Traceback" not in stderr


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_serve_https(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    config = tmp_path / "easgw.toml"
    config.write_text(f'[server]\ntls_cert = "{cert}"\ntls_key = "{key}"\n')
    process, port = _serve(tmp_path, "--config", str(config))
    try:
        context = ssl.create_default_context(cafile=str(cert))
        context.check_hostname = False
        assert b'"ok"' in _wait_for(f"https://127.0.0.1:{port}/healthz", context)
    finally:
        code, stderr = _stop(process)
    assert code == 0, stderr.decode()


def test_bad_configuration_exits_2_with_one_line(tmp_path: Path) -> None:
    config = tmp_path / "easgw.toml"
    config.write_text("[server]\nlisten = 'oops'\n")
    result = subprocess.run(
        [sys.executable, "-m", "easgw", "serve", "--config", str(config)],
        capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert len(result.stderr.decode().strip().splitlines()) == 1
    assert b"HOST:PORT" in result.stderr


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("::1", True), ("localhost", True), ("0.0.0.0", False),  # noqa: S104
     ("192.0.2.1", False), ("eas.example.com", False)],
)  # fmt: skip
def test_loopback_detection_for_the_tls_warning(host: str, loopback: bool) -> None:
    assert _is_loopback(host) is loopback
