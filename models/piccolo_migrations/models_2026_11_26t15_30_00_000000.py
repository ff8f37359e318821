from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import UUID, Integer, Text, Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-26T15:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "the map's tallies, kept by the writes"


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
    ("PlaceTally", "place_tally"): [
        ("key", Varchar, _params(length=200, default="", primary_key=True)),
        ("place", UUID, _params(index=True)),
        ("kind", Varchar, _params(length=40, default="")),
        ("currency", Varchar, _params(length=3, default="")),
        ("records", Integer, _params(default=0)),
        ("amount", Varchar, _params(length=40, default="0")),
    ],
    ("TallyRecord", "tally_record"): [
        ("key", Varchar, _params(length=100, default="", primary_key=True)),
        ("places", Text, _params(default="")),
        ("money", Text, _params(default="")),
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
