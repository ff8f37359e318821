"""The network's links, kept by the writes, and its measures, kept in the background; `placenet migrate`
counts the links from the records once every migration has run, when this one was among them (api/cli.py:
RELINK_AFTER)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import UUID, BigInt, DoublePrecision, Integer, Text, Timestamptz, Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-07T19:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "the network's links, kept by the writes, and its measures, kept in the background"


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
    ("NetworkLink", "network_link"): [
        ("key", Varchar, _params(length=200, default="", primary_key=True)),
        ("source", UUID, _params(index=True)),
        ("target", UUID, _params(index=True)),
        ("kind", Varchar, _params(length=40, default="")),
        ("weight", DoublePrecision, _params(default=0.0)),
        ("records", Integer, _params(default=0)),
    ],
    ("NetworkRecord", "network_record"): [
        ("key", Varchar, _params(length=100, default="", primary_key=True)),
        ("ties", Text, _params(default="")),
    ],
    ("NetworkMeasure", "network_measure"): [
        ("organisation", UUID, _params(primary_key=True)),
        ("degree", Integer, _params(default=0)),
        ("strength", DoublePrecision, _params(default=0.0)),
        ("centrality", DoublePrecision, _params(default=0.0)),
    ],
    ("NetworkState", "network_state"): [
        ("name", Varchar, _params(length=40, default="", primary_key=True)),
        ("position", BigInt, _params(default=0)),
        ("measured_at", Timestamptz, _params(null=True, default=None)),
        ("claimed_until", Timestamptz, _params(null=True, default=None)),
    ],
}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="models", description=DESCRIPTION)
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
