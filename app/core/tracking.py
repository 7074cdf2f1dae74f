"""Audit by structure: the changes of a unit of work, collected from the ORM's own history and
handed, just before the transaction commits, to the sink that writes the audit trail.

A table model declares itself tracked (`@tracked("organization")`); from then on every insert,
update and delete of its rows that the session flushes is collected:

- after each flush, from the ORM's attribute history (the value before and after of each column
  the flush changed), merged per row across the flushes of the transaction: one change a row,
  its first `before` and its last `after`. A row created and deleted in the same transaction
  leaves nothing;
- a savepoint rolled back takes its changes with it (a snapshot is kept when it begins);
- when the outermost transaction commits, the session flushes what is pending, then gives the
  changes, in the order the rows were first changed, to the registered readers (`read_changes`:
  the public register's own rows) and then to the sink (the audit trail), with the actor the
  session was given (`set_actor`). Changes without an actor, or without a
  sink, fail the commit: no change goes unaudited by accident.

Services never say what changed; they may say why (`record_action`: an action name such as
`archive` or `submit`, and a note), which names the change of that row, or records an event of
its own when the row did not change.

Bookkeeping columns (`id`, `created_at`, `updated_at`, `version`) are never listed; a model
names its computed columns in `ignore` and its secrets in `redact` (listed as changed, never with
their values).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, TypeVar

from sqlalchemy import event, inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstanceState, Session, SessionTransaction, UOWTransaction

from app.core.actor import Actor

M = TypeVar("M", bound=type[Any])

BOOKKEEPING = frozenset({"id", "created_at", "updated_at", "version"})

_ACTOR = "ippc.actor"
_PENDING = "ippc.changes"
_REASONS = "ippc.reasons"
_SNAPSHOTS = "ippc.snapshots"


@dataclass(frozen=True)
class TrackedModel:
    resource_type: str
    ignore: frozenset[str]
    redact: frozenset[str]
    # The readers (`read_changes`) its changes must reach: a transaction that changes it in a
    # process where one is not registered fails, as one without an audit trail does.
    read_by: frozenset[str] = frozenset()


_MODELS: dict[type[Any], TrackedModel] = {}


def tracked(
    resource_type: str,
    *,
    ignore: Sequence[str] = (),
    redact: Sequence[str] = (),
    read_by: Sequence[str] = (),
) -> Callable[[M], M]:
    """Declare a table model's rows audited, as `resource_type` (a class decorator), and their
    changes read by the readers named `read_by` (`read_changes`)."""

    def decorate(model: M) -> M:
        _MODELS[model] = TrackedModel(
            resource_type, BOOKKEEPING | frozenset(ignore), frozenset(redact), frozenset(read_by)
        )
        return model

    return decorate


def tracked_models() -> Mapping[type[Any], TrackedModel]:
    return dict(_MODELS)


def _model_of(instance: object) -> TrackedModel | None:
    return _MODELS.get(type(instance))


@dataclass(frozen=True)
class Change:
    """One row's change in a transaction, as the sink receives it.

    `before` and `after` map column names to values: every listed column on a creation (no
    `before`) or a deletion (no `after`), the columns that changed on an update. `redacted`
    names the secret columns that changed."""

    resource_type: str
    resource_id: str
    action: str
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    redacted: frozenset[str] = frozenset()
    note: str | None = None


class ChangeSink(Protocol):
    def __call__(self, session: Session, actor: Actor, changes: Sequence[Change]) -> object: ...


_SINK: list[ChangeSink] = []


def set_change_sink(sink: ChangeSink) -> None:
    """The writer of the audit trail; the audit package registers it when imported."""
    _SINK[:] = [sink]


# Readers run in stages: first those that write rows of the registry (locking them, as any write
# does), then those that keep copies under locks of their own. A transaction never holds a
# copy's lock while it waits for a row another transaction holds, that other wanting the copy's
# lock at its own commit (a deadlock).
WRITES_ROWS = 0
KEEPS_COPIES = 1

_READERS: dict[str, tuple[int, ChangeSink]] = {}


def read_changes(name: str, reader: ChangeSink, *, stage: int) -> None:
    """Give each transaction's changes to `reader` too, just before the audit trail is written,
    in the same transaction: for what keeps rows of its own from them (the public register).
    The package that owns it registers it when imported, under the `name` models give in their
    `read_by`; readers run by `stage` (`WRITES_ROWS`, then `KEEPS_COPIES`)."""
    _READERS[name] = (stage, reader)


def unregistered_readers() -> set[str]:
    """The readers the tracked models name (`read_by`) that no imported package registered: a
    change of such a model fails at commit. The app's own imports register them all."""
    wanted = {name for model in _MODELS.values() for name in model.read_by}
    return wanted - set(_READERS)


class UnauditedChange(RuntimeError):
    """Tracked rows changed in a transaction that cannot say who changed them."""


# --- What a service may say --------------------------------------------------------------------


def _sync(session: Session | AsyncSession) -> Session:
    return session.sync_session if isinstance(session, AsyncSession) else session


def set_actor(session: Session | AsyncSession, actor: Actor) -> None:
    """Who the changes of this session's transactions are made by."""
    _sync(session).info[_ACTOR] = actor


def record_action(
    session: Session | AsyncSession, instance: object, action: str, note: str | None = None
) -> None:
    """Why a row changes: names its change `action` (rather than create/update/delete) and
    keeps `note`. When the row does not change, an event with no changes is still recorded."""
    model = _model_of(instance)
    if model is None:
        raise TypeError(f"{type(instance).__name__} is not a tracked model")
    key = (model.resource_type, _resource_id(inspect(instance)))
    reasons: dict[tuple[str, str], tuple[str, str | None]] = _sync(session).info.setdefault(
        _REASONS, {}
    )
    reasons[key] = (action, note)


# --- Collecting ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Pending:
    model: TrackedModel
    resource_id: str
    created: bool = False
    deleted: bool = False
    before: Mapping[str, Any] = field(default_factory=dict)
    after: Mapping[str, Any] = field(default_factory=dict)


def _columns(state: InstanceState[Any], model: TrackedModel) -> list[str]:
    return [
        attribute.key
        for attribute in state.mapper.column_attrs
        if attribute.key not in model.ignore
    ]


def _values(state: InstanceState[Any], model: TrackedModel) -> dict[str, Any]:
    return {key: state.dict.get(key) for key in _columns(state, model)}


def _touched(state: InstanceState[Any], model: TrackedModel) -> dict[str, tuple[Any, Any]]:
    touched: dict[str, tuple[Any, Any]] = {}
    for key in _columns(state, model):
        history = state.attrs[key].history
        if history.has_changes():
            before = history.deleted[0] if history.deleted else None
            after = history.added[0] if history.added else None
            touched[key] = (before, after)
    return touched


def _resource_id(state: InstanceState[Any]) -> str:
    return str(state.mapper.primary_key_from_instance(state.obj())[0])


def _pending(session: Session) -> dict[tuple[str, str], _Pending]:
    pending: dict[tuple[str, str], _Pending] = session.info.setdefault(_PENDING, {})
    return pending


def _collect(session: Session, _flush_context: UOWTransaction) -> None:
    """After each flush (whose `new`, `dirty` and `deleted` still show what it wrote)."""
    pending = _pending(session)
    for instance in session.new:
        model = _model_of(instance)
        if model is not None:
            state = inspect(instance)
            resource_id = _resource_id(state)
            pending[(model.resource_type, resource_id)] = _Pending(
                model, resource_id, created=True, after=_values(state, model)
            )
    for instance in session.dirty:
        model = _model_of(instance)
        if model is None:
            continue
        state = inspect(instance)
        touched = _touched(state, model)
        if not touched:
            continue
        resource_id = _resource_id(state)
        key = (model.resource_type, resource_id)
        known = pending.get(key) or _Pending(model, resource_id)
        before = dict(known.before)
        if not known.created:
            for name, (old, _new) in touched.items():
                before.setdefault(name, old)
        after = {**known.after, **{name: new for name, (_old, new) in touched.items()}}
        pending[key] = replace(known, before=before, after=after)
    for instance in session.deleted:
        model = _model_of(instance)
        if model is None:
            continue
        state = inspect(instance)
        resource_id = _resource_id(state)
        key = (model.resource_type, resource_id)
        earlier_change = pending.get(key)
        if earlier_change is not None and earlier_change.created:
            del pending[key]  # created and deleted in one transaction: nothing happened
            continue
        earlier = earlier_change.before if earlier_change is not None else {}
        before = {**_values(state, model), **earlier}
        pending[key] = _Pending(model, resource_id, deleted=True, before=before)


def _on_savepoint(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested:
        snapshots: dict[int, dict[tuple[str, str], _Pending]] = session.info.setdefault(
            _SNAPSHOTS, {}
        )
        snapshots[id(transaction)] = dict(_pending(session))


def _on_rollback(session: Session, previous: SessionTransaction) -> None:
    """A savepoint rolled back: its changes go with it."""
    if previous.nested:
        snapshot = session.info.get(_SNAPSHOTS, {}).pop(id(previous), None)
        if snapshot is not None:
            session.info[_PENDING] = snapshot


def _on_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        for key in (_PENDING, _REASONS, _SNAPSHOTS):
            session.info.pop(key, None)


# --- Handing over at commit ----------------------------------------------------------------------


def _changes(
    pending: Mapping[tuple[str, str], _Pending],
    reasons: Mapping[tuple[str, str], tuple[str, str | None]],
) -> list[Change]:
    changes: list[Change] = []
    for key, item in pending.items():
        action, note = reasons.get(key, (None, None))
        if item.created:
            change = Change(
                item.model.resource_type, item.resource_id, "create", None, dict(item.after)
            )
        elif item.deleted:
            change = Change(
                item.model.resource_type, item.resource_id, "delete", dict(item.before), None
            )
        else:
            change = Change(
                item.model.resource_type,
                item.resource_id,
                "update",
                dict(item.before),
                dict(item.after),
            )
        changes.append(_redacted(change, item.model, action, note))
    for key, (action, note) in reasons.items():
        if key not in pending:
            changes.append(Change(key[0], key[1], action, {}, {}, note=note))
    return changes


def _redacted(change: Change, model: TrackedModel, action: str | None, note: str | None) -> Change:
    before, after = dict(change.before or {}), dict(change.after or {})
    secret = set()
    for name in model.redact:
        was, now = before.pop(name, None), after.pop(name, None)
        if was != now:
            secret.add(name)
    return replace(
        change,
        action=action or change.action,
        note=note,
        before=None if change.before is None else before,
        after=None if change.after is None else after,
        redacted=frozenset(secret),
    )


def _hand_over(session: Session) -> None:
    if session.get_nested_transaction() is not None:
        return  # a savepoint is released: the outermost commit hands the changes over
    session.flush()
    pending = session.info.pop(_PENDING, {})
    changes = _changes(pending, session.info.pop(_REASONS, {}))
    if not changes:
        return
    actor: Actor | None = session.info.get(_ACTOR)
    if actor is None:
        described = ", ".join(sorted({change.resource_type for change in changes}))
        raise UnauditedChange(f"changes of {described} in a session that has no actor")
    if not _SINK:
        raise UnauditedChange("no audit trail is registered to record changes")
    wanted = {name for item in pending.values() for name in item.model.read_by}
    if missing := sorted(wanted - set(_READERS)):
        raise UnauditedChange(f"changes that {', '.join(missing)} must read, not registered")
    for _stage, reader in sorted(_READERS.values(), key=lambda item: item[0]):
        reader(session, actor, changes)
    _SINK[0](session, actor, changes)


for _name, _listener in (
    ("after_flush", _collect),
    ("after_transaction_create", _on_savepoint),
    ("after_soft_rollback", _on_rollback),
    ("after_transaction_end", _on_end),
    ("before_commit", _hand_over),
):
    if not event.contains(Session, _name, _listener):
        event.listen(Session, _name, _listener)
