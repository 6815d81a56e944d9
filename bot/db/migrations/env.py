"""Alembic runs the bot database's migrations on the connection `bot.db.migrate` hands it."""

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run the bot database's migrations through bot.db.migrate(engine)")
context.configure(connection=connection, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
