from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-07T20:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "count the map's tallies again: each level's tally within every place, for a region's left-out"


# No schema changes: the tallies gain rows (`at_level(level, place)`, api/services/views/tally.py) that the
# records already there do not have yet. `placenet migrate` counts the tallies again once every migration
# has run, when this one was among them (api/cli.py: RECOUNT_AFTER).


async def forwards():
    return MigrationManager(migration_id=ID, app_name="models", description=DESCRIPTION)
