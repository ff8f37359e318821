from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-26T15:30:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "count the map's tallies of the records already there"


# The counting itself is not done here: a migration that ran today's code would run it on yesterday's
# schema. `placenet migrate` counts the tallies again once every migration has run, when this one was
# among them (api/cli.py: RECOUNT_AFTER).


async def forwards():
    return MigrationManager(migration_id=ID, app_name="models", description=DESCRIPTION)
