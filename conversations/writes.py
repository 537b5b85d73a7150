"""Writes to conversations, applied together: turns in order, usage exactly once, in a few queries.

A `ConversationWrites` locks the conversations it is given in one query, reads the turns and usage
reports the writes refer to, applies every write in memory in the order given, then stores the
result with one INSERT per table and one batch of UPDATEs. The recorder hands it every write
that queued up in a worker, across all its sessions, so a busy worker stores a turn of each of
dozens of conversations in the queries one write would take; `conversations.services` applies
single writes through it too, so the rules live here once.

Use it inside a transaction; `save()` must be called for anything to be stored.
"""

from __future__ import annotations

import functools
import operator
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field
from django.utils import timezone

from conversations.models import TOKEN_FIELDS, Conversation, Message, Usage
from conversations.transcripts import heard_text, title_from_text
from conversations.usage import token_counts, usage_cost

ConversationId = uuid.UUID | str
# A conversation as a batch keeps it: its id's hex form (see `_key`).
Key = str
COST_QUANTUM = Decimal("1e-10")
UPSTREAM_ID_MAX = 120
# What the lock reads of the conversation: its title and what usage adds to.
TOTAL_FIELDS = (*TOKEN_FIELDS, "cost", "unpriced_usage_count")
LOCKED_FIELDS = ("title", "model", *TOTAL_FIELDS)
# The most parameters one statement may bind: PostgreSQL's limit (Django's bulk_batch_size knows
# SQLite's lower one).
MAX_PARAMS = 65_535
# Fields whose values of the plain type drivers take as they are: Django's preparation of them
# changes nothing.
PLAIN_TYPES: dict[str, type] = {
    "AutoField": int,
    "BigAutoField": int,
    "SmallAutoField": int,
    "CharField": str,
    "TextField": str,
    "IntegerField": int,
    "BigIntegerField": int,
    "SmallIntegerField": int,
    "PositiveIntegerField": int,
    "PositiveBigIntegerField": int,
    "PositiveSmallIntegerField": int,
}
# What completing or interrupting a stored turn changes of it.
COMPLETE_FIELDS = (
    "text",
    "audio_duration_ms",
    "status",
    "heard_text",
    "error_code",
    "played_ms",
    "updated_at",
)
# What the writes read of a stored turn: what they check and what they change. The rest (its
# position, its times) is never needed and not read.
TURN_FIELDS = ("pk", "role", "kind", *(name for name in COMPLETE_FIELDS if name != "updated_at"))


class Row:
    """A turn or usage report of the batch as plain values of its model's fields, by attribute name.

    Lighter than a model instance, of which a busy worker would build thousands a second for
    nothing: rows are read and written by hand. A new row (`new_row`) is inserted by `save()`; a
    stored one holds the columns the writes read and change (TURN_FIELDS). `instance()` gives
    the model instance.
    """

    pk: Any
    stored: bool

    def __init__(self, model: type[Message] | type[Usage], /, *, stored: bool, **values: Any) -> None:
        self.__dict__.update(values, _model=model, stored=stored)

    def instance(self) -> Any:
        """The model instance of this row, as stored once `save()` has inserted it; columns a
        stored row was read without are loaded by the ORM when first used."""
        values = {name: value for name, value in self.__dict__.items() if name not in ("_model", "stored")}
        if self.pk is None:
            return self._model(**values)
        values[self._model._meta.pk.attname] = values.pop("pk")
        # In the model's order of fields, as `from_db` takes them.
        names = [f.attname for f in self._model._meta.concrete_fields if f.attname in values]
        return self._model.from_db(_db().alias, names, [values[name] for name in names])


def new_row(model: type[Message] | type[Usage], /, **values: Any) -> Row:
    """A row to insert: the model's defaults, then these values."""
    return Row(model, stored=False, **{**_defaults(model), "pk": None, **values})


# A turn of the batch.
Turn = Row


class ConversationWrites:
    """The writes of one transaction to some conversations, applied in memory and stored by `save()`."""

    def __init__(
        self,
        conversation_ids: Iterable[ConversationId],
        *,
        item_ids: Iterable[tuple[ConversationId, str]] = (),
        upstream_ids: Iterable[tuple[ConversationId, str]] = (),
        new_item_ids: Iterable[tuple[ConversationId, str]] = (),
        new_upstream_ids: Iterable[tuple[ConversationId, str]] = (),
    ) -> None:
        """Lock the conversations and read the turns and usage reports these writes will touch.

        Raises Conversation.DoesNotExist when one of the conversations is gone. Items or reports
        not named here are read when a write first needs them; those named as new are taken for
        not stored without looking (should one be, its unique index refuses the insert:
        IntegrityError in `save()`).
        """
        ids = {_key(c) for c in conversation_ids}
        self._conversations: dict[Key, dict[str, Any]] = _lock(ids)
        missing = ids - self._conversations.keys()
        if missing:
            raise Conversation.DoesNotExist(
                f"No conversation {', '.join(sorted(str(_uuid(key)) for key in missing))}"
            )
        self._totals_changed: set[Key] = set()
        self._title_changed: set[Key] = set()
        self._messages: dict[tuple[Key, str], Turn | None] = {}
        self._new: list[Row] = []
        self._changed: dict[int, Row] = {}
        self._next_position: dict[Key, int] = {}
        self._usages: list[Row] = []
        self._load_messages({(_key(c), item) for c, item in item_ids})
        for c, item in new_item_ids:
            self._messages.setdefault((_key(c), item), None)
        self._usage_checked = {(_key(c), u[:UPSTREAM_ID_MAX]) for c, u in upstream_ids}
        self._usage_ids = set(_stored(Usage, "upstream_id", self._usage_checked))
        self._usage_checked |= {(_key(c), u[:UPSTREAM_ID_MAX]) for c, u in new_upstream_ids}

    # --- Turns ------------------------------------------------------------------------------------

    def message_add(
        self,
        *,
        conversation_id: ConversationId,
        item_id: str,
        role: str,
        kind: str,
        text: str = "",
        status: str = Message.Status.IN_PROGRESS,
        response_id: str = "",
    ) -> Turn:
        """Append a turn at the end of the conversation, or return it if its item is already stored."""
        key = _key(conversation_id)
        existing = self._message(key, item_id)
        if existing is not None:
            return existing
        message = new_row(
            Message,
            conversation_id=_uuid(key),
            position=self._take_position(key),
            item_id=item_id,
            role=role,
            kind=kind,
            text=text,
            status=status,
            response_id=response_id,
        )
        self._messages[key, item_id] = message
        self._new.append(message)
        if text and role == Message.Role.USER:
            self._title_from(key, text)
        return message

    def message_complete(
        self,
        *,
        conversation_id: ConversationId,
        item_id: str,
        role: str,
        text: str,
        kind: str = Message.Kind.AUDIO,
        audio_duration_ms: int | None = None,
    ) -> Turn:
        """Store a turn's final text; a turn not stored yet is appended first.

        An interrupted answer keeps its interrupted status and gets its heard part recomputed.
        """
        message = self.message_add(conversation_id=conversation_id, item_id=item_id, role=role, kind=kind)
        message.text = text
        if audio_duration_ms is not None:
            message.audio_duration_ms = audio_duration_ms
        if message.status == Message.Status.INTERRUPTED:
            message.heard_text = heard_text(text, message.played_ms or 0, message.audio_duration_ms)
        else:
            message.status = Message.Status.COMPLETED
        self._touch(message)
        if role == Message.Role.USER and text:
            self._title_from(_key(conversation_id), text)
        return message

    def message_transcription_failed(
        self, *, conversation_id: ConversationId, item_id: str, error_code: str = ""
    ) -> Turn:
        """Mark a user audio turn whose transcription failed, so the gap is visible in history."""
        message = self.message_add(
            conversation_id=conversation_id, item_id=item_id, role=Message.Role.USER, kind=Message.Kind.AUDIO
        )
        message.status = Message.Status.TRANSCRIPTION_FAILED
        message.error_code = error_code[:100]
        self._touch(message)
        return message

    def message_interrupt(
        self,
        *,
        conversation_id: ConversationId,
        item_id: str,
        played_ms: int,
        audio_duration_ms: int | None = None,
    ) -> Turn | None:
        """Mark an assistant turn the user cut off after `played_ms`, keeping the part heard.

        Returns None when no such assistant turn is stored (an interrupt for an unknown item).
        """
        message = self._message(_key(conversation_id), item_id)
        if message is None or message.role != Message.Role.ASSISTANT:
            return None
        if audio_duration_ms is not None:
            message.audio_duration_ms = audio_duration_ms
        if message.audio_duration_ms is not None:
            played_ms = min(played_ms, message.audio_duration_ms)
        message.played_ms = max(played_ms, 0)
        message.status = Message.Status.INTERRUPTED
        message.heard_text = heard_text(message.text, message.played_ms, message.audio_duration_ms)
        self._touch(message)
        return message

    # --- Usage ------------------------------------------------------------------------------------

    def usage_record(
        self,
        *,
        conversation_id: ConversationId,
        upstream_id: str,
        kind: str,
        usage: dict[str, Any],
        status: str = "",
        model: str = "",
    ) -> Row | None:
        """Add one upstream usage report and its tokens and cost to the totals, exactly once.

        Returns None when a report with this upstream id was already stored (a replayed event).
        `usage` is the upstream payload: token details, or `{"type": "duration", "seconds": N}`.
        """
        conversation = self._conversation(conversation_id)
        key = _key(conversation_id), upstream_id[:UPSTREAM_ID_MAX]
        if key not in self._usage_checked:
            self._usage_checked.add(key)
            self._usage_ids |= _stored(Usage, "upstream_id", {key}).keys()
        if key in self._usage_ids:
            return None
        tokens = token_counts(usage)
        counts = tokens.as_dict()
        seconds = usage.get("seconds") if usage.get("type") == "duration" else None
        model = model or conversation["model"]
        cost = usage_cost(model, tokens)
        if cost is not None:
            cost = cost.quantize(COST_QUANTUM)
        record = new_row(
            Usage,
            conversation_id=_uuid(key[0]),
            upstream_id=key[1],
            kind=kind,
            status=status[:20],
            model=model[:100],
            duration_seconds=Decimal(str(seconds)) if isinstance(seconds, int | float) else None,
            cost=cost,
            **counts,
        )
        self._usage_ids.add(key)
        self._usages.append(record)
        # The row is locked, so totals are summed here in Python: exact Decimal arithmetic even
        # on SQLite, whose SQL arithmetic on decimals is floating point.
        for name, count in counts.items():
            conversation[name] += count
        if cost is None:
            conversation["unpriced_usage_count"] += 1
        else:
            conversation["cost"] += cost
        self._totals_changed.add(key[0])
        return record

    # --- Storing ----------------------------------------------------------------------------------

    def save(self, *, with_ids: bool = True) -> None:
        """Store everything applied: new rows in one INSERT per table, changed turns, the totals.

        `with_ids=False` leaves the new rows without their primary keys, for a cheaper insert
        when nothing reads them afterwards.
        """
        if self._new:
            _insert(Message, self._new, with_ids=with_ids)
        if self._changed:
            _update_turns(list(self._changed.values()))
        if self._usages:
            _insert(Usage, self._usages, with_ids=with_ids)
        self._save_conversations()
        self._new, self._changed, self._usages = [], {}, []
        self._totals_changed, self._title_changed = set(), set()

    def _save_conversations(self) -> None:
        """The new totals and titles: one statement per set of changed columns, run for each row.

        Only what changed is written: a title renamed meanwhile by its owner is not overwritten.
        """
        by_columns: dict[tuple[str, ...], list[Key]] = {}
        for key in sorted(self._totals_changed | self._title_changed):
            names = ("title",) if key in self._title_changed else ()
            names += TOTAL_FIELDS if key in self._totals_changed else ()
            by_columns.setdefault(names, []).append(key)
        for names, keys in by_columns.items():
            rows = [(_uuid(key), [self._conversations[key][name] for name in names]) for key in keys]
            _update_each(Conversation, names, rows)

    # --- Internals --------------------------------------------------------------------------------

    def _conversation(self, conversation_id: ConversationId) -> dict[str, Any]:
        try:
            return self._conversations[_key(conversation_id)]
        except KeyError:
            raise Conversation.DoesNotExist(f"No conversation {conversation_id} in this batch") from None

    def _load_messages(self, keys: set[tuple[Key, str]]) -> None:
        keys -= self._messages.keys()
        if not keys:
            return
        for key in keys:
            self._conversation(key[0])
        # The columns writes read and change, in the one lookup by pair: when the item is new,
        # finding nothing is all it costs; when stored (a turn completed after its start was
        # written), no second query.
        db = _db()
        names, read = _row_reader(Message, TURN_FIELDS, db)
        for key, row in _stored(Message, "item_id", keys, names).items():
            values = dict(zip(names, read(row), strict=True))
            conversation = _uuid(key[0])
            self._messages[key] = Row(
                Message, stored=True, conversation_id=conversation, item_id=key[1], **values
            )
        for key in keys:
            self._messages.setdefault(key, None)

    def _message(self, conversation_id: ConversationId, item_id: str) -> Turn | None:
        key = _key(conversation_id), item_id
        if key not in self._messages:
            self._load_messages({key})
        return self._messages[key]

    def _take_position(self, conversation_id: Key) -> int:
        if conversation_id not in self._next_position:
            # At once, every conversation of the batch with an item not stored yet: the others
            # will likely append too.
            unknown = {key for (key, _), row in self._messages.items() if row is None}
            unknown = (unknown | {conversation_id}) - self._next_position.keys()
            last = _last_positions(unknown)
            for key in unknown:
                self._next_position[key] = last.get(key, 0) + 1
        position = self._next_position[conversation_id]
        self._next_position[conversation_id] += 1
        return position

    def _touch(self, message: Turn) -> None:
        """Remember a stored turn as changed; a new one is inserted as it is by then."""
        if message.stored:
            self._changed[message.pk] = message

    def _title_from(self, conversation_id: Key, text: str) -> None:
        """Title an untitled conversation after the text of its first user turn."""
        conversation = self._conversations[conversation_id]
        if conversation["title"]:
            return
        title = title_from_text(text)
        if title:
            conversation["title"] = title
            self._title_changed.add(conversation_id)


@functools.lru_cache(maxsize=4096)
def _key(conversation_id: ConversationId) -> Key:
    """A conversation's key in a batch, from its id as a UUID or as text in any form UUID() reads.

    The hex form: Python caches a string's hash, while a UUID's is computed in Python at every
    lookup, and a batch looks its conversations up thousands of times. Cached, as a worker's
    batches name the same conversations again and again (the relay passes them as text).
    """
    return (
        conversation_id if isinstance(conversation_id, uuid.UUID) else uuid.UUID(str(conversation_id))
    ).hex


@functools.lru_cache(maxsize=4096)
def _uuid(key: Key) -> uuid.UUID:
    """The conversation id of a key, one object per key: a value many rows share is prepared for
    the database once (`_Preparer`)."""
    return uuid.UUID(hex=key)


@functools.lru_cache(maxsize=4096)
def _stored_id(key: Key, vendor: str) -> Any:
    """A conversation's id as this thread's database stores it (hex text on SQLite)."""
    return Conversation._meta.pk.get_db_prep_value(_uuid(key), _db())


def _lock(ids: set[Key]) -> dict[Key, dict[str, Any]]:
    """Lock these conversations' rows and read what writes change of them, by conversation.

    Written by hand, as the other reads of a batch: the ORM would compile the query anew for
    every batch. Rows are locked in one order, so two batches sharing conversations cannot
    deadlock.
    """
    db = _db()
    quote = db.ops.quote_name
    meta = Conversation._meta
    pk = quote(meta.pk.column)
    names, read = _row_reader(Conversation, LOCKED_FIELDS, db)
    head = "SELECT {}, {} FROM {} WHERE {} IN ".format(  # noqa: S608 (names from the model, values bound)
        pk, ", ".join(quote(meta.get_field(name).column) for name in names), quote(meta.db_table), pk
    )
    tail = f" ORDER BY {pk}" + (f" {db.ops.for_update_sql()}" if db.features.has_select_for_update else "")
    rows = _rows_of(sorted(ids), head, tail, db)
    return {key: dict(zip(names, read(values), strict=True)) for key, *values in rows}


def _rows_of(keys: Iterable[Key], head: str, tail: str, db: BaseDatabaseWrapper) -> Iterator[list[Any]]:
    """The rows of `head` (ending in "... IN "), these conversations' ids and `tail`, in as many
    queries as the database's parameter limit needs; each row's first column, the conversation's
    id, comes back as the key it was asked for."""
    as_stored = {_stored_id(key, db.vendor): key for key in keys}
    wanted = list(as_stored)
    per_query = db.features.max_query_params or MAX_PARAMS
    for start in range(0, len(wanted), per_query):
        chunk = wanted[start : start + per_query]
        with db.cursor() as cursor:
            cursor.execute(f"{head}({', '.join(['%s'] * len(chunk))}){tail}", chunk)
            for key, *values in cursor.fetchall():
                yield [as_stored[key], *values]


_readers: dict[tuple[type[Any], tuple[str, ...], str], tuple[tuple[str, ...], Callable[..., list[Any]]]] = {}


def _row_reader(
    model: type[Any], names: tuple[str, ...], db: BaseDatabaseWrapper
) -> tuple[tuple[str, ...], Callable[[Sequence[Any]], list[Any]]]:
    """These fields' names (the primary key as "pk"), and a function turning a row of their
    columns into their values as the ORM reads them (exact decimals and aware datetimes on
    SQLite): made once, applying only the conversions there are, as most columns have none."""
    key = model, names, db.vendor
    if key not in _readers:
        conversions = []
        for index, name in enumerate(names):
            field = model._meta.pk if name == "pk" else model._meta.get_field(name)
            column = field.get_col(model._meta.db_table)
            converters = [*db.ops.get_db_converters(column), *column.get_db_converters(db)]
            if converters:
                conversions.append((index, converters, column))

        def read(row: Sequence[Any]) -> list[Any]:
            values = list(row)
            for index, converters, column in conversions:
                for converter in converters:
                    values[index] = converter(values[index], column, db)
            return values

        _readers[key] = names, read
    return _readers[key]


def _last_positions(keys: Iterable[Key]) -> dict[Key, int]:
    """The last position of each of these conversations that has turns.

    Each by its own lookup at the end of the (conversation, position) index: a MAX over a
    GROUP BY would read every turn of these conversations.
    """
    db = _db()
    quote = db.ops.quote_name
    conversations, messages = Conversation._meta, Message._meta
    pk = f"{quote(conversations.db_table)}.{quote(conversations.pk.column)}"
    last = "(SELECT MAX({}) FROM {} WHERE {} = {})".format(  # noqa: S608 (names from the model, values bound)
        quote(messages.get_field("position").column),
        quote(messages.db_table),
        quote(messages.get_field("conversation").column),
        pk,
    )
    head = f"SELECT {pk}, {last} FROM {quote(conversations.db_table)} WHERE {pk} IN "  # noqa: S608
    return {key: position for key, position in _rows_of(keys, head, "", db) if position}


_default_values: dict[type[Any], dict[str, Any]] = {}


def _defaults(model: type[Message] | type[Usage]) -> dict[str, Any]:
    """The model's field defaults, by attribute name: constants for these models, so read once."""
    if model not in _default_values:
        _default_values[model] = {
            field.attname: field.get_default()
            for field in model._meta.concrete_fields
            if not field.primary_key
        }
    return _default_values[model]


def _stored(
    model: type[Message] | type[Usage],
    field: str,
    keys: set[tuple[Key, str]],
    columns: Iterable[str] = ("pk",),
) -> dict[tuple[Key, str], tuple[Any, ...]]:
    """The rows stored already for these (conversation, `field`) pairs: `columns` (field names) of
    each, as the database gives them.

    One condition per pair, written by hand: each pair is one lookup in the unique index on
    (conversation, `field`). Two IN lists would make the database try every conversation with
    every value (ten times the work on SQLite for a busy worker's batch), and the ORM compiles a
    condition per pair slowly. As many queries as the database's parameter limit needs.
    """
    db = _db()
    quote = db.ops.quote_name
    meta = model._meta
    conversation = meta.get_field("conversation")
    pair_columns = quote(conversation.column), quote(meta.get_field(field).column)
    selected = ", ".join(
        quote(meta.pk.column if name == "pk" else meta.get_field(name).column) for name in columns
    )
    head = "SELECT {}, {}, {} FROM {} WHERE ".format(  # noqa: S608 (names from the model, values bound)
        *pair_columns, selected, quote(meta.db_table)
    )
    pair = "({} = %s AND {} = %s)".format(*pair_columns)
    # The database's form of each conversation id (hex text on SQLite), and the way back.
    as_stored = {key: _stored_id(key, db.vendor) for key, _ in keys}
    back = {value: key for key, value in as_stored.items()}
    wanted = list(keys)
    per_query = (db.features.max_query_params or MAX_PARAMS) // 2
    found = {}
    for start in range(0, len(wanted), per_query):
        chunk = wanted[start : start + per_query]
        params = [value for key, item in chunk for value in (as_stored[key], item)]
        with db.cursor() as cursor:
            cursor.execute(head + " OR ".join([pair] * len(chunk)), params)
            found.update({(back[key], item): tuple(row) for key, item, *row in cursor.fetchall()})
    return found


def _insert(model: type[Message] | type[Usage], rows: list[Row], *, with_ids: bool = True) -> None:
    """Insert the rows in as few statements as the database allows, setting their primary keys
    unless `with_ids` is False.

    Built by hand from a plan made once per model: `bulk_create` prepares every field of every
    row through the ORM, about half of a busy worker's write CPU (bench/writes.py). The
    timestamps Django sets on insert are taken once for the whole batch. Without ids the rows go
    as one single-row statement run for each (`executemany`), which SQLite inserts in about 40%
    less CPU than one statement of many rows with RETURNING.
    """
    db = _db()
    if not db.features.can_return_rows_from_bulk_insert:
        for row in rows:
            instance = row.instance()
            instance.save(force_insert=True)
            row.__dict__.update(
                {
                    f.attname: getattr(instance, f.attname)
                    for f in model._meta.concrete_fields
                    if not f.primary_key
                }
            )
            row.pk = instance.pk
        return
    plan = _insert_plan(model, db)
    now = timezone.now()
    for attname in plan.stamped:
        for row in rows:
            setattr(row, attname, now)
    params = plan.prepare([plan.values(row) for row in rows], db)
    if not with_ids:
        with db.cursor() as cursor:
            cursor.executemany(f"{plan.head} {plan.row}", params)
        return
    per_query = max(1, min(db.ops.bulk_batch_size(plan.fields, rows), MAX_PARAMS // len(plan.fields)))
    for start in range(0, len(rows), per_query):
        chunk = rows[start : start + per_query]
        flat = [value for row in params[start : start + per_query] for value in row]
        with db.cursor() as cursor:
            cursor.execute(f"{plan.head} {', '.join([plan.row] * len(chunk))} {plan.returning}", flat)
            ids = db.ops.fetch_returned_insert_rows(cursor)
        for row, (pk,) in zip(chunk, ids, strict=True):
            row.pk = pk


class _Preparer:
    """Turns rows of field values into rows of the values their columns store, as Django's
    `get_db_prep_save` would, calling it only where it changes something.

    Text and integer values of text and integer fields go to the driver as they are. Which
    columns of a row need preparing follows from the types of its values, so it is worked out
    once per combination of types (a batch's rows share a few); a value many rows share (the
    conversation, the batch's timestamp) is prepared once per call.
    """

    MAX_SHAPES = 256  # combinations of types remembered; more are worked out each time

    def __init__(self, fields: list[Field[Any, Any]]) -> None:
        self.plain = [PLAIN_TYPES.get(field.get_internal_type()) for field in fields]
        self.prepare = [field.get_db_prep_save for field in fields]
        self._shapes: dict[tuple[type, ...], list[int]] = {}

    def __call__(self, rows: list[Sequence[Any]], db: BaseDatabaseWrapper) -> list[Sequence[Any]]:
        prepared: dict[tuple[int, int], Any] = {}  # by column and id(): the rows keep values alive
        out = []
        for row in rows:
            types = tuple(map(type, row))
            columns = self._shapes.get(types)
            if columns is None:
                columns = self._columns(types)
            if columns:
                row = list(row)
                for index in columns:
                    value = row[index]
                    key = index, id(value)
                    if key not in prepared:
                        prepared[key] = self.prepare[index](value, db)
                    row[index] = prepared[key]
            out.append(row)
        return out

    def _columns(self, types: tuple[type, ...]) -> list[int]:
        """The columns a row with values of these types needs prepared: those not None and not
        of their column's plain type (an int given for text, a bool for a number, a datetime)."""
        columns = [
            index
            for index, (kind, plain) in enumerate(zip(types, self.plain, strict=True))
            if kind is not type(None) and kind is not plain
        ]
        if len(self._shapes) < self.MAX_SHAPES:
            self._shapes[types] = columns
        return columns


@dataclass(frozen=True)
class _InsertPlan:
    fields: list[Field[Any, Any]]
    values: Callable[[Row], tuple[Any, ...]]  # a row's values of `fields`, in order
    prepare: _Preparer
    stamped: list[str]  # the attnames of auto_now and auto_now_add fields
    head: str
    row: str
    returning: str


_plans: dict[tuple[type[Any], str], _InsertPlan] = {}


def _insert_plan(model: type[Message] | type[Usage], db: BaseDatabaseWrapper) -> _InsertPlan:
    key = model, db.vendor
    if key not in _plans:
        quote = db.ops.quote_name
        fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        stamped = [
            f.attname for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
        ]
        returning, _ = db.ops.return_insert_columns([model._meta.pk])
        table = quote(model._meta.db_table)
        _plans[key] = _InsertPlan(
            fields=fields,
            values=_getter([f.attname for f in fields]),
            prepare=_Preparer(fields),
            stamped=stamped,
            head=f"INSERT INTO {table} ({', '.join(quote(f.column) for f in fields)}) VALUES",
            row="(" + ", ".join(["%s"] * len(fields)) + ")",
            returning=returning,
        )
    return _plans[key]


def _getter(names: list[str]) -> Callable[[Any], tuple[Any, ...]]:
    """A function giving these attributes of an object as a tuple, even when there is only one."""
    get = operator.attrgetter(*names)
    return get if len(names) > 1 else lambda row: (get(row),)


def _update_turns(messages: list[Row]) -> None:
    """Store what writes changed of stored turns, `updated_at` set as `auto_now` would.

    By hand, as the batch's other statements: the ORM's `save()` compiles an UPDATE for every
    turn, which took half of a busy worker's write CPU once turns complete in a later batch than
    the one that added them, as real turns do (bench/writes.py, "spread").
    """
    now = timezone.now()
    for message in messages:
        message.updated_at = now
    values = _getter(list(COMPLETE_FIELDS))
    _update_each(Message, COMPLETE_FIELDS, [(m.pk, values(m)) for m in messages])


_updates: dict[tuple[type[Any], tuple[str, ...], str], tuple[str, _Preparer]] = {}


def _update_each(model: type[Any], names: tuple[str, ...], rows: list[tuple[Any, Sequence[Any]]]) -> None:
    """Set these fields of each (primary key, values) row: one UPDATE statement run for each
    (`executemany`), in primary key order so that concurrent batches lock rows alike.

    Built by hand, once per model and fields: an ORM query compiled per row would cost more than
    the rest of a busy batch.
    """
    db = _db()
    key = model, names, db.vendor
    if key not in _updates:
        quote = db.ops.quote_name
        fields = [model._meta.get_field(name) for name in names]
        sql = "UPDATE {} SET {} WHERE {} = %s".format(  # noqa: S608 (names from the model, values bound)
            quote(model._meta.db_table),
            ", ".join(f"{quote(f.column)} = %s" for f in fields),
            quote(model._meta.pk.column),
        )
        _updates[key] = sql, _Preparer([*fields, model._meta.pk])
    sql, prepare = _updates[key]
    ordered = sorted(rows, key=lambda row: row[0])
    params = prepare([(*values, pk) for pk, values in ordered], db)
    with db.cursor() as cursor:
        cursor.executemany(sql, params)


def _db() -> BaseDatabaseWrapper:
    """This thread's default connection itself: `django.db.connection` is a proxy that looks it
    up on every attribute, thousands of times in a busy batch."""
    return connections[DEFAULT_DB_ALIAS]
