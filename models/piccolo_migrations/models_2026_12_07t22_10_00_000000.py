"""A deleted record's history, found by a slug it had: the change feed's entries by collection and slug."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-07T22:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "the change feed by collection and slug"


class RawTable(Table):
    pass


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="models", description=DESCRIPTION)

    async def create_index() -> None:
        await RawTable.raw('CREATE INDEX IF NOT EXISTS change_collection_slug ON "change" ("collection", "record_slug")')

    manager.add_raw(create_index)
    return manager
