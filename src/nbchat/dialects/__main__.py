"""`python -m nbchat.dialects`: print the settings tables the README shows."""

from . import settings_table

print(settings_table())
