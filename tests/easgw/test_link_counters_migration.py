"""Migration 0006: per-row link counters, back-filled from what existing rows show."""

from __future__ import annotations

from sqlalchemy import Connection, text

from easgw.state.db import MIGRATIONS, create_engine


def _to(connection: Connection, revision: str, *, down: bool = False) -> None:
    from alembic import command
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    (command.downgrade if down else command.upgrade)(config, revision)


ROW = (
    "INSERT INTO conference_links (user_id, organizer, uid, recurrence_id, provider_id, status,"
    " join_via_gateway, token, summary, failures, created, updated) VALUES (1, 'a@x', :uid,"
    " '', 'hook', :status, false, :uid, '', :failures, '2026-11-25', '2026-11-25')"
)


async def test_0006_adds_the_counters_and_back_fills_them(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_to, "0005")
            await connection.execute(
                text("INSERT INTO users (id, login, email, display_name, password_epoch,"
                     " created_at) VALUES (1, 'a', 'a@x', '', 0, '2026-11-25')")
            )  # fmt: skip
            for uid, status, failures in (("r", "removed", 0), ("p", "pending", 2)):
                await connection.execute(
                    text(ROW), {"uid": uid, "status": status, "failures": failures}
                )
            await connection.run_sync(_to, "0006")
            found = await connection.execute(
                text("SELECT uid, reuse_count, removal_count, failure_count"
                     " FROM conference_links ORDER BY uid")
            )  # fmt: skip
            assert [tuple(r) for r in found] == [("p", 0, 0, 2), ("r", 0, 1, 0)]
            await connection.run_sync(_to, "0005", down=True)
            columns = await connection.execute(text("SELECT * FROM conference_links"))
            assert "reuse_count" not in list(columns.keys())
    finally:
        await engine.dispose()
