"""Local development: debug on, emails to the console, SQLite unless DATABASE_URL says otherwise."""

from .base import *  # noqa: F403
from .env import env_bool

DEBUG = env_bool("DEBUG", True)
