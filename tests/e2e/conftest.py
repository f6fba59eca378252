"""Fixtures shared by the end-to-end tests: the real SMTP server (tests/mail_server.py)."""

from tests.mail_server import mail_server, make_mail_server, tls_certificate

__all__ = ["mail_server", "make_mail_server", "tls_certificate"]
