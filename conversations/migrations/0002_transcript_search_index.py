"""Trigram indexes for case-insensitive substring search over titles and transcripts (PostgreSQL).

Django's `icontains` compiles to `UPPER(col::text) LIKE UPPER(%s)` on PostgreSQL, so the indexes are
on `UPPER(col)` with `gin_trgm_ops`. SQLite has no such index; there the search scans, which is fine
at a laptop's scale. Where the database role may not create the pg_trgm extension, the migration
says so and skips the indexes rather than failing the deployment.
"""

from django.db import migrations

INDEXES = {
    "message_text_trgm_idx": ("conversations_message", "text"),
    "conversation_title_trgm_idx": ("conversations_conversation", "title"),
}


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        if cursor.fetchone() is None:
            try:
                cursor.execute("SAVEPOINT trgm")
                cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
                cursor.execute("RELEASE SAVEPOINT trgm")
            except Exception:  # noqa: BLE001 - insufficient privilege: run without the index
                cursor.execute("ROLLBACK TO SAVEPOINT trgm")
                print("\n  pg_trgm is not available; transcript search runs without an index.")
                return
        for name, (table, column) in INDEXES.items():
            cursor.execute(
                f'CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin (UPPER("{column}") gin_trgm_ops)'
            )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for name in INDEXES:
            cursor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("conversations", "0001_initial")]
    operations = [migrations.RunPython(create_indexes, drop_indexes)]
