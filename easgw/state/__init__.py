"""The gateway's own state in SQLAlchemy: users, devices, folders, sync state."""
