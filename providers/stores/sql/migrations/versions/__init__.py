"""Revisions of the embedded store's schema, oldest first."""
