"""Outgoing mail: the phone's messages made ready (outgoing), the SMTP relay (relay),
the outbox that queues and retries (outbox)."""
