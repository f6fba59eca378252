"""Groupware stores: where calendar items live (embedded SQL store, CalDAV)."""
