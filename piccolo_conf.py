"""Piccolo's engine, chosen from DATABASE_URL: a SQLite file by default, PostgreSQL when set."""

from piccolo.conf.apps import AppRegistry

from api.settings import Settings, make_engine

DB = make_engine(Settings.from_env())

APP_REGISTRY = AppRegistry(apps=["models.piccolo_app"])
