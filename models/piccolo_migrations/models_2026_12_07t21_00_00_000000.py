"""Organisations merged into another: each ref that named the merged one (its UUID, slug, org-id) is kept
as an alias resolving to the organisation it was merged into (api/services/resources/merge.py)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import UUID, ForeignKey, Varchar
from piccolo.columns.defaults.uuid import UUID4
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-12-07T21:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "organisations' aliases: the refs of organisations merged into them"


class Organisation(Table, tablename="organisation", schema=None):
    id = UUID(primary_key=True)


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


COLUMNS = {
    "id": (UUID, _params(default=UUID4(), primary_key=True)),
    "organisation": (
        ForeignKey,
        _params(
            references=Organisation,
            on_delete=OnDelete.cascade,
            on_update=OnUpdate.cascade,
            target_column=None,
            index=True,
        ),
    ),
    "alias": (Varchar, _params(length=200, default="", unique=True)),
    "kind": (Varchar, _params(length=10, default="")),
    "merged_id": (UUID, _params(default=UUID4(), index=True)),
}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="models", description=DESCRIPTION)
    manager.add_table(class_name="OrganisationAlias", tablename="organisation_alias", schema=None, columns=None)
    for name, (column_class, params) in COLUMNS.items():
        manager.add_column(
            table_class_name="OrganisationAlias",
            tablename="organisation_alias",
            column_name=name,
            db_column_name=name,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params=params,
            schema=None,
        )
    return manager
