from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import JSON, UUID, Boolean, Integer, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-07T13:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "import jobs: 360Giving imports that run in the background"


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


# Additive only (a new table): it runs on SQLite and PostgreSQL alike, and carries its columns as of today.
COLUMNS = [
    ("id", UUID, _params(primary_key=True)),
    ("state", Varchar, _params(length=20, default="", index=True)),
    ("file", Varchar, _params(length=200, default="")),
    ("format", Varchar, _params(length=10, default="")),
    ("dry_run", Boolean, _params(default=False)),
    ("source_url", Varchar, _params(length=2000, default=None, null=True)),
    ("organisation", UUID, _params(default=None, null=True)),
    ("grants_in_file", Integer, _params(default=None, null=True)),
    ("written", Integer, _params(default=0)),
    ("to_write", Integer, _params(default=0)),
    ("report", JSON, _params(default=None, null=True)),
    ("problem", JSON, _params(default=None, null=True)),
    ("created_at", Timestamptz, _params(default=TimestamptzNow())),
    ("heartbeat_at", Timestamptz, _params(default=TimestamptzNow())),
    ("finished_at", Timestamptz, _params(default=None, null=True)),
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="models", description=DESCRIPTION)
    manager.add_table(class_name="ImportJob", tablename="import_job", schema=None, columns=None)
    for name, column_class, params in COLUMNS:
        manager.add_column(
            table_class_name="ImportJob",
            tablename="import_job",
            column_name=name,
            db_column_name=name,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params=params,
            schema=None,
        )
    return manager
