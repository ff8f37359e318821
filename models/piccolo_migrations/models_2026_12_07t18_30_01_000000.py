"""One row per pair in the places' graph; then `placenet migrate` works out every place's ancestors
and counts the map's tallies again (api/cli.py: REBUILD_AFTER). A migration's raw steps run before its
tables are made, so the indexes on the tables the previous migration made are here."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-07T18:30:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "one row per pair of places; the places' ancestors worked out again"


class RawTable(Table):
    pass


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="models", description=DESCRIPTION)

    async def one_row_per_pair() -> None:
        await RawTable.raw('CREATE UNIQUE INDEX IF NOT EXISTS place_within_unique ON "place_within" ("place", "within")')
        await RawTable.raw(
            'CREATE UNIQUE INDEX IF NOT EXISTS place_ancestor_unique ON "place_ancestor" ("ancestor", "place")'
        )

    manager.add_raw(one_row_per_pair)
    return manager
