"""The move from DRF's plain-text tokens (rest_framework.authtoken, table authtoken_token)
to ApiToken rows (migration modules/0011_api_tokens).

Each old key becomes an ApiToken named "migrated" whose digest is the SHA-256 of the key,
so clients keep sending the same `Authorization: Token <key>`; then the plain-text rows
are deleted. The table is read with SQL, not through DRF's model, so the authtoken app
need not be installed (it is not, any more); a database that never had the table has
nothing to convert.

Kept apart from the migration so that the conversion can be tested by itself; it uses
only what it is given (the migration's historical model) and hashlib, never the current
models.
"""

import hashlib
from datetime import timezone as dt_timezone

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime

LEGACY_TABLE = "authtoken_token"


def _created(value):
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is None:
        return None
    if settings.USE_TZ and timezone.is_naive(value):
        value = timezone.make_aware(value, dt_timezone.utc)  # how Django stores them without time zones
    return value


def convert_legacy_tokens(token_model, connection, table: str = LEGACY_TABLE) -> int:
    """Turn every row of `table` into a `token_model` row holding only the key's digest
    and delete the row; the number converted."""
    if table not in connection.introspection.table_names():
        return 0
    quote = connection.ops.quote_name
    manager = token_model._default_manager.db_manager(connection.alias)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {quote('key')}, {quote('user_id')}, {quote('created')} FROM {quote(table)}")
        rows = cursor.fetchall()
        for key, user_id, created in rows:
            token = manager.create(
                user_id=user_id,
                kind="api",
                name="migrated",
                prefix=key[:8],
                digest=hashlib.sha256(key.encode("utf-8")).hexdigest(),
            )
            created = _created(created)
            if created is not None:  # created is auto_now_add: keep the key's own date
                manager.filter(pk=token.pk).update(created=created)
        cursor.execute(f"DELETE FROM {quote(table)}")
    return len(rows)


def forwards(apps, schema_editor):
    convert_legacy_tokens(apps.get_model("modules", "ApiToken"), schema_editor.connection)
