"""Places as a graph: a place may be in larger places beyond its parent (`place_within`), and every
place above it by any path is a row of `place_ancestor`, which replaces the parent-only `lineage`.

The ancestors are not worked out here: a migration that ran today's code would run it on yesterday's
schema. `placenet migrate` works them out, and counts the map's tallies again, once every migration has
run, after the next migration (api/cli.py: REBUILD_AFTER)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import UUID, ForeignKey
from piccolo.columns.defaults.uuid import UUID4
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-12-07T18:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "places in several larger places, and the closure of the places' graph"


class Place(Table, tablename="place", schema=None):
    id = UUID(primary_key=True)


class RawTable(Table):
    pass


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


def _place(on_delete: OnDelete):
    return (
        ForeignKey,
        _params(references=Place, on_delete=on_delete, on_update=OnUpdate.cascade, target_column=None, index=True),
    )


TABLES = {
    ("PlaceWithin", "place_within"): {
        "id": (UUID, _params(default=UUID4(), primary_key=True)),
        "place": _place(OnDelete.cascade),
        "within": _place(OnDelete.restrict),
    },
    ("PlaceAncestor", "place_ancestor"): {
        "id": (UUID, _params(default=UUID4(), primary_key=True)),
        "place": _place(OnDelete.cascade),
        "ancestor": _place(OnDelete.cascade),
    },
}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="models", description=DESCRIPTION)

    async def drop_lineage_index() -> None:
        # SQLite cannot drop an indexed column; PostgreSQL would drop the index with it.
        await RawTable.raw("DROP INDEX IF EXISTS place_lineage")

    manager.add_raw(drop_lineage_index)
    for (class_name, tablename), columns in TABLES.items():
        manager.add_table(class_name=class_name, tablename=tablename, schema=None, columns=None)
        for name, (column_class, params) in columns.items():
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
    manager.drop_column(table_class_name="Place", tablename="place", column_name="lineage")
    return manager
