from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-26T15:30:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "count the map's tallies of the records already there"


async def _count_what_is_there():
    # Its own migration: Piccolo runs a migration's raw steps before its new tables exist. This runs the
    # code of the day (api.services.tally), which every later version must keep able to count the
    # tallies again from the records.
    from api.services import tally

    await tally.rebuild()


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="models", description=DESCRIPTION)
    manager.add_raw(_count_what_is_there)
    return manager
