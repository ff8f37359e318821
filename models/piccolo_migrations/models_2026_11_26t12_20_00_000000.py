from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Bytea, DoublePrecision, Integer, Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-26T12:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "shared state (idempotency, rate limits, read-your-writes) instead of idempotency keys"


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


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="models", description=DESCRIPTION)
    # Idempotency keys move into the shared state; a key in flight during the upgrade is simply forgotten.
    manager.drop_table(class_name="IdempotencyKey", tablename="idempotency_key")
    manager.add_table(class_name="SharedEntry", tablename="shared_entry", schema=None, columns=None)
    columns = [
        ("key", Varchar, _params(length=300, default="", primary_key=True)),
        ("value", Bytea, _params(default=b"")),
        ("hits", Integer, _params(default=0)),
        ("expires_at", DoublePrecision, _params(default=0.0, index=True)),
    ]
    for name, column_class, params in columns:
        manager.add_column(
            table_class_name="SharedEntry",
            tablename="shared_entry",
            column_name=name,
            db_column_name=name,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params=params,
            schema=None,
        )
    return manager
