"""The kept links' indexes: a scope's links strongest first (a page of the network), and by either end (a
neighbourhood). A migration's raw steps run before its tables are made, so they are here, after the
migration that made the tables."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

ID = "2026-12-07T20:00:02:000000"
VERSION = "1.38.0"
DESCRIPTION = "the kept links' indexes"

INDEXES = {
    "network_edge_ranked": ("network_edge", '"scope", "rank" DESC, "source", "target"'),
    "network_edge_source": ("network_edge", '"scope", "source"'),
    "network_edge_target": ("network_edge", '"scope", "target"'),
    "network_node_scope": ("network_node", '"scope", "records", "organisation"'),
}


class RawTable(Table):
    pass


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="models", description=DESCRIPTION)

    async def create_indexes() -> None:
        for name, (table, columns) in INDEXES.items():
            await RawTable.raw(f'CREATE INDEX IF NOT EXISTS {name} ON "{table}" ({columns})')

    manager.add_raw(create_indexes)
    return manager
