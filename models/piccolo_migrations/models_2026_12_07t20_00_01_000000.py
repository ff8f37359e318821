"""The network's links kept per scope (the whole network, and every place: the records linked to it or to
a place inside it), with each organisation's part in each scope and each scope's totals, so that a place's
network is read from kept links like the whole one; they replace the links kept for the whole network only.
The next migration indexes them, and `placenet migrate` counts them once every migration has run (api/cli.py:
RELINK_AFTER)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import UUID, BigInt, DoublePrecision, Integer, Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-07T20:00:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "the network's links, kept per scope, with its organisations and totals"


def _params(**overrides):
    return {
        "null": False,
        "primary_key": False,
        "unique": False,
        "index": False,
        "index_method": IndexMethod.btree,
        "choices": None,
        "db_column_name": None,
        "secret": False,
        **overrides,
    }


TABLES = {
    ("NetworkEdge", "network_edge"): [
        ("key", Varchar, _params(length=200, default="", primary_key=True)),
        ("scope", UUID, _params()),
        ("source", UUID, _params()),
        ("target", UUID, _params()),
        ("weight", DoublePrecision, _params(default=0.0)),
        ("rank", BigInt, _params(default=0)),
        ("records", Integer, _params(default=0)),
        *((kind, Integer, _params(default=0)) for kind in ("interest_groups", "co_funding", "research", "grants", "engagements")),
    ],
    ("NetworkNode", "network_node"): [
        ("key", Varchar, _params(length=100, default="", primary_key=True)),
        ("scope", UUID, _params()),
        ("organisation", UUID, _params()),
        ("records", Integer, _params(default=0)),
        ("degree", Integer, _params(default=0)),
        ("strength", DoublePrecision, _params(default=0.0)),
    ],
    ("NetworkScope", "network_scope"): [
        ("scope", UUID, _params(primary_key=True)),
        ("nodes", Integer, _params(default=0)),
        ("edges", Integer, _params(default=0)),
    ],
}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="models", description=DESCRIPTION)
    manager.drop_table(class_name="NetworkLink", tablename="network_link")
    for (class_name, tablename), columns in TABLES.items():
        manager.add_table(class_name=class_name, tablename=tablename, schema=None, columns=None)
        for name, column_class, params in columns:
            manager.add_column(
                table_class_name=class_name,
                tablename=tablename,
                column_name=name,
                db_column_name=name,
                column_class_name=column_class.__name__,
                column_class=column_class,
                params=params,
                schema=None,
            )
    return manager
