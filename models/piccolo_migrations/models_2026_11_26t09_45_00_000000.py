"""Each organisation, and each place, appears once per record in its join and child tables."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-11-26T09:45:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "one row per record and organisation or place in join and child tables"

UNIQUE_PAIRS = {
    "interest_group_place": ("interest_group", "place"),
    "membership": ("interest_group", "organisation"),
    "co_funding_place": ("co_funding", "place"),
    "contribution": ("co_funding", "funder"),
    "research_party": ("research", "organisation", "role"),
    "research_place": ("research", "place"),
    "grant_place": ("grant", "place"),
    "engagement_participant": ("engagement", "organisation"),
    "engagement_place": ("engagement", "place"),
}


class RawTable(Table):
    pass


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="models", description=DESCRIPTION)

    async def create_unique_indexes() -> None:
        for table, columns in UNIQUE_PAIRS.items():
            quoted = ", ".join(f'"{column}"' for column in columns)
            await RawTable.raw(f'CREATE UNIQUE INDEX IF NOT EXISTS {table}_unique ON "{table}" ({quoted})')

    async def drop_unique_indexes() -> None:
        for table in UNIQUE_PAIRS:
            await RawTable.raw(f"DROP INDEX IF EXISTS {table}_unique")

    manager.add_raw(create_unique_indexes)
    manager.add_raw_backwards(drop_unique_indexes)
    return manager
