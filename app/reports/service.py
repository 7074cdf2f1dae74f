"""Reports for CPM documents (design §7): counted by the database, one statement a report.

The definitions (docs/architecture.md, "Reports"):

- **Periods.** `from` and `to` are inclusive dates, each optional. An interaction is dated by
  `occurred_on`. An agreement is dated by the date of the status change that put it where it is
  (`dated_on` below):
  - `approved`, `active`, `suspended`, `ended`, `terminated`: the `decided_on` of the decision
    that approved it (the Bureau's when only the Bureau's approval is required, else the CPM's);
  - `cpm_review`: the `decided_on` of the Bureau approval that sent it to the CPM;
  - `rejected`: the `decided_on` of the decision that rejected it;
  - `draft`: the `decided_on` of the decision that returned it, or, never returned, the day it
    was created;
  - `submitted`, `withdrawn`: the day (UTC) the service recorded its submission or withdrawal.
  A decision corrected (`supersedes_id`) is dated by its correction (the last of the chain);
  when a status was reached more than once (a draft returned twice), the latest counts.
- **Counting per partner.** An item with several organizations counts once per organization:
  the partner figures are of (item, organization) pairs; objectives likewise count
  (item, objective) pairs.
- **Shares.** `count / total` of the group, the counts and totals being given too.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, cast

from sqlalchemy import (
    Integer,
    Select,
    String,
    Table,
    case,
    exists,
    extract,
    func,
    literal,
    null,
    select,
    union_all,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.sql.elements import ColumnElement

from app.agreements.workflow import AgreementStatus, Instrument, Level
from app.core.csv_export import cell
from app.core.db import Database
from app.core.errors import FieldError, ValidationFailed
from app.core.sql import utc_date, uuid_text
from app.interactions.schemas import Channel, Visibility
from app.models import (
    Agreement,
    AgreementObjective,
    AgreementPartner,
    AuditEvent,
    Decision,
    Interaction,
    InteractionObjective,
    InteractionOrganization,
    Organization,
    StrategicObjective,
)
from app.organizations.schemas import Category, Sector
from app.reports.schemas import (
    SHARE_PLACES,
    AgreementSummary,
    Breakdown,
    EngagementBalance,
    InteractionSummary,
    KeyCount,
    Kind,
    ObjectiveBalance,
    PartnerCount,
    Period,
    SummaryReport,
    YearBalance,
)

# The dates a period may name: from before the Convention (1951) to well past any plan. A date
# outside is a 422, not a scan of nothing or an overflow.
EARLIEST = date(1900, 1, 1)
LATEST = date(2199, 12, 31)

# The statuses of an agreement that was approved: its approval dates it. They are also the
# statuses the public register shows (design §5).
APPROVED = (
    AgreementStatus.approved,
    AgreementStatus.active,
    AgreementStatus.suspended,
    AgreementStatus.ended,
    AgreementStatus.terminated,
)

# One grouped SELECT of a report's statement.
Branch = Select[*tuple[Any, ...]]

_QUANTUM = Decimal(1).scaleb(-SHARE_PLACES)


def _table(model: Any) -> Table:
    return cast(Table, model.__table__)


AGREEMENT = _table(Agreement)
AGREEMENT_PARTNER = _table(AgreementPartner)
AGREEMENT_OBJECTIVE = _table(AgreementObjective)
AUDIT_EVENT = _table(AuditEvent)
DECISION = _table(Decision)
INTERACTION = _table(Interaction)
INTERACTION_ORGANIZATION = _table(InteractionOrganization)
INTERACTION_OBJECTIVE = _table(InteractionObjective)
ORGANIZATION = _table(Organization)
STRATEGIC_OBJECTIVE = _table(StrategicObjective)


def _year(column: ColumnElement[Any]) -> ColumnElement[int]:
    return sql_cast(extract("year", column), Integer)


# --- The period --------------------------------------------------------------------------------


def period(from_: date | None, to: date | None) -> Period:
    """The period `from`-`to` (inclusive, each optional), or a 422 naming what is wrong."""
    errors = [
        FieldError(
            f"Expected a date from {EARLIEST.isoformat()} to {LATEST.isoformat()}",
            parameter=name,
        )
        for name, value in (("from", from_), ("to", to))
        if value is not None and not EARLIEST <= value <= LATEST
    ]
    if not errors and from_ is not None and to is not None and from_ > to:
        errors.append(FieldError("The period ends before it starts", parameter="to"))
    if errors:
        raise ValidationFailed("The period is not valid.", errors)
    return Period(from_=from_, to=to)


def _within(column: ColumnElement[Any], within: Period) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [column.is_not(None)]
    if within.from_ is not None:
        conditions.append(column >= within.from_)
    if within.to is not None:
        conditions.append(column <= within.to)
    return conditions


# --- How agreements are dated ------------------------------------------------------------------


def _standing_decisions() -> Any:
    """Each decision that changed a status (one that corrects none), with the status it left
    the agreement in and the date it stands at: its own, or its last correction's."""
    decision = DECISION
    chain = (
        select(
            decision.c.id.label("id"),
            decision.c.agreement_id.label("agreement_id"),
            decision.c.agreement_status.label("made"),
            decision.c.decided_on.label("decided_on"),
        )
        .where(decision.c.supersedes_id.is_(None))
        .cte("decision_chain", recursive=True)
    )
    correction = decision.alias("correction")
    chain = chain.union_all(
        select(
            correction.c.id,
            chain.c.agreement_id,
            chain.c.made,
            correction.c.decided_on,
        ).join(chain, correction.c.supersedes_id == chain.c.id)
    )
    later = decision.alias("later")
    return (
        select(chain.c.agreement_id, chain.c.made, chain.c.decided_on)
        .where(~exists().where(later.c.supersedes_id == chain.c.id))
        .subquery("standing_decision")
    )


def _status_dates() -> Any:
    """Per agreement, the date each status was last reached by a decision. The dates of the
    decisions in force keep the order in which they were recorded (`workflow.date_bounds`), so
    the latest is the greatest."""
    standing = _standing_decisions()

    def reached(*statuses: str) -> ColumnElement[date]:
        return func.max(case((standing.c.made.in_(statuses), standing.c.decided_on)))

    return (
        select(
            standing.c.agreement_id,
            reached(AgreementStatus.approved).label("approved_on"),
            reached(AgreementStatus.cpm_review).label("reviewed_on"),
            reached(AgreementStatus.rejected).label("rejected_on"),
            reached(AgreementStatus.draft).label("returned_on"),
        )
        .group_by(standing.c.agreement_id)
        .subquery("status_date")
    )


def _recorded_on(action: str) -> ColumnElement[date]:
    """The UTC day the agreement's last `action` (a transition) was recorded, from its audit
    trail."""
    event = AUDIT_EVENT
    last = (
        select(func.max(event.c.occurred_at))
        .where(
            event.c.resource_type == "agreement",
            event.c.resource_id == uuid_text(AGREEMENT.c.id),
            event.c.action == action,
        )
        .scalar_subquery()
    )
    return utc_date(last)


def _dated_agreements(within: Period, *, approved_only: bool) -> Any:
    """The agreements dated in the period (`dated_on`), with their status, level and
    instrument. `approved_only`: those approved (dated by their approval) only."""
    agreement = AGREEMENT
    dates = _status_dates()
    status = agreement.c.status
    dated_on = case(
        (status.in_(APPROVED), dates.c.approved_on),
        (status == AgreementStatus.cpm_review, dates.c.reviewed_on),
        (status == AgreementStatus.rejected, dates.c.rejected_on),
        (
            status == AgreementStatus.draft,
            func.coalesce(dates.c.returned_on, utc_date(agreement.c.created_at)),
        ),
        (status == AgreementStatus.submitted, _recorded_on("submit")),
        (status == AgreementStatus.withdrawn, _recorded_on("withdraw")),
    ).label("dated_on")
    dated = select(
        agreement.c.id.label("agreement_id"),
        status.label("status"),
        agreement.c.level.label("level"),
        agreement.c.instrument.label("instrument"),
        dated_on,
    ).outerjoin(dates, dates.c.agreement_id == agreement.c.id)
    if approved_only:
        dated = dated.where(status.in_(APPROVED))
    inner = dated.subquery("dated")
    return select(inner).where(*_within(inner.c.dated_on, within)).cte("agreement_in_period")


def _interactions(within: Period, *, public_only: bool) -> Any:
    interaction = INTERACTION
    conditions = _within(interaction.c.occurred_on, within)
    if public_only:
        conditions.append(interaction.c.visibility == Visibility.public)
    return (
        select(
            interaction.c.id.label("interaction_id"),
            interaction.c.channel.label("channel"),
            interaction.c.occurred_on.label("occurred_on"),
        )
        .where(*conditions)
        .cte("interaction_in_period")
    )


# --- Counting ------------------------------------------------------------------------------------


def _share(count: int, total: int) -> float | None:
    if total == 0:
        return None
    return float((Decimal(count) / Decimal(total)).quantize(_QUANTUM, rounding=ROUND_HALF_UP))


def share_text(share: float | None) -> str:
    """A share as the CSV writes it: four places, always."""
    return "" if share is None else f"{Decimal(str(share)).quantize(_QUANTUM)}"


def _breakdown(counted: dict[str | None, int], keys: Iterable[str]) -> Breakdown:
    """Every key in the order given, zeros included, then null when something had no value."""
    ordered: list[str | None] = list(keys)
    if counted.get(None):
        ordered.append(None)
    ordered += sorted(key for key in counted if key is not None and key not in ordered)
    total = sum(counted.values())
    return Breakdown(
        total=total,
        counts=[
            KeyCount(key=key, count=counted.get(key, 0), share=_share(counted.get(key, 0), total))
            for key in ordered
        ],
    )


def _counted(kind: str, dimension: str, key: ColumnElement[Any], source: Any) -> Branch:
    return select(
        literal(kind, String).label("kind"),
        literal(dimension, String).label("dimension"),
        sql_cast(key, String).label("key"),
        func.count().label("count"),
    ).select_from(source)


async def summary(
    database: Database, *, from_: date | None = None, to: date | None = None
) -> SummaryReport:
    """Agreements by status, level, instrument, strategic objective, partner category and
    sector; interactions by channel, partner category and sector; in the period `from_`-`to`
    (inclusive, each optional; a 422 when invalid). One statement: the counts are of one
    snapshot."""
    within = period(from_, to)
    agreements = _dated_agreements(within, approved_only=False)
    interactions = _interactions(within, public_only=False)
    organization = ORGANIZATION
    partners = agreements.join(
        AGREEMENT_PARTNER, AGREEMENT_PARTNER.c.agreement_id == agreements.c.agreement_id
    ).join(organization, organization.c.id == AGREEMENT_PARTNER.c.organization_id)
    met = interactions.join(
        INTERACTION_ORGANIZATION,
        INTERACTION_ORGANIZATION.c.interaction_id == interactions.c.interaction_id,
    ).join(organization, organization.c.id == INTERACTION_ORGANIZATION.c.organization_id)
    objectives = AGREEMENT_OBJECTIVE.join(
        agreements, agreements.c.agreement_id == AGREEMENT_OBJECTIVE.c.agreement_id
    )
    branches = [
        _counted("agreements", "status", agreements.c.status, agreements).group_by(
            agreements.c.status
        ),
        _counted("agreements", "level", agreements.c.level, agreements).group_by(
            agreements.c.level
        ),
        _counted("agreements", "instrument", agreements.c.instrument, agreements).group_by(
            agreements.c.instrument
        ),
        _counted(
            "agreements", "strategic_objective", AGREEMENT_OBJECTIVE.c.objective_code, objectives
        ).group_by(AGREEMENT_OBJECTIVE.c.objective_code),
        _counted("agreements", "partner_category", organization.c.category, partners).group_by(
            organization.c.category
        ),
        _counted("agreements", "partner_sector", organization.c.sector, partners).group_by(
            organization.c.sector
        ),
        _counted("interactions", "channel", interactions.c.channel, interactions).group_by(
            interactions.c.channel
        ),
        _counted("interactions", "partner_category", organization.c.category, met).group_by(
            organization.c.category
        ),
        _counted("interactions", "partner_sector", organization.c.sector, met).group_by(
            organization.c.sector
        ),
        # Every objective is listed, counted or not.
        select(
            literal("objectives", String),
            literal("strategic_objective", String),
            STRATEGIC_OBJECTIVE.c.code,
            literal(0, Integer),
        ),
    ]
    rows = await database.read(union_all(*branches))
    counted: dict[tuple[str, str], dict[str | None, int]] = defaultdict(dict)
    codes: list[str] = []
    for kind, dimension, key, count in rows:
        if kind == "objectives":
            codes.append(key)
        else:
            counted[(kind, dimension)][key] = int(count)
    codes.sort()

    def of(kind: str, dimension: str, keys: Iterable[str]) -> Breakdown:
        return _breakdown(counted[(kind, dimension)], keys)

    by_status = of("agreements", "status", AgreementStatus)
    by_channel = of("interactions", "channel", Channel)
    return SummaryReport(
        period=within,
        agreements=AgreementSummary(
            total=by_status.total,
            by_status=by_status,
            by_level=of("agreements", "level", Level),
            by_instrument=of("agreements", "instrument", Instrument),
            by_strategic_objective=of("agreements", "strategic_objective", codes),
            by_partner_category=of("agreements", "partner_category", Category),
            by_partner_sector=of("agreements", "partner_sector", Sector),
        ),
        interactions=InteractionSummary(
            total=by_channel.total,
            by_channel=by_channel,
            by_partner_category=of("interactions", "partner_category", Category),
            by_partner_sector=of("interactions", "partner_sector", Sector),
        ),
    )


_CATEGORY_RANK = {category.value: rank for rank, category in enumerate(Category)}
_SECTOR_RANK = {sector.value: rank for rank, sector in enumerate(Sector)}


def _partner_order(key: tuple[str | None, str | None]) -> tuple[int, int, str, str]:
    """Categories, then sectors, in their own order; null (and anything unknown) last."""
    category, sector = key
    return (
        _CATEGORY_RANK.get(category or "", len(_CATEGORY_RANK)),
        _SECTOR_RANK.get(sector or "", len(_SECTOR_RANK)),
        category or "",
        sector or "",
    )


def _partner_counts(counted: dict[tuple[str | None, str | None], int]) -> list[PartnerCount]:
    total = sum(counted.values())
    return [
        PartnerCount(
            partner_category=category,
            partner_sector=sector,
            count=count,
            share=_share(count, total),
        )
        for (category, sector), count in sorted(
            counted.items(), key=lambda item: _partner_order(item[0])
        )
    ]


async def engagement_balance(
    database: Database,
    *,
    from_: date | None = None,
    to: date | None = None,
    public_only: bool = False,
) -> EngagementBalance:
    """The engagement balance of the period `from_`-`to` (inclusive, each optional; a 422 when
    invalid): the interactions (dated by `occurred_on`) and the approved agreements (those now
    approved, active, suspended, ended or terminated, dated by their approving decision), as
    (item, organization) pairs by the organizations' category and sector, per year, over all
    objectives and for each objective.

    `public_only=True` is the public register's balance (`/v1/public/engagement-balance`):
    only interactions whose `visibility` is `public`, and only agreements in a public status
    (approved, active, suspended, ended, terminated: the same agreements as without it, since
    the balance counts approved agreements only). The answer names no internal record: years,
    objective codes, categories, sectors and counts only, so it may be published as it is.
    One statement: the counts are of one snapshot."""
    within = period(from_, to)
    agreements = _dated_agreements(within, approved_only=True)
    interactions = _interactions(within, public_only=public_only)
    organization = ORGANIZATION
    branches: list[Branch] = []
    for kind, items, item_id, year_of, link, link_item, link_org, served, served_item in (
        (
            Kind.interactions,
            interactions,
            interactions.c.interaction_id,
            interactions.c.occurred_on,
            INTERACTION_ORGANIZATION,
            INTERACTION_ORGANIZATION.c.interaction_id,
            INTERACTION_ORGANIZATION.c.organization_id,
            INTERACTION_OBJECTIVE,
            INTERACTION_OBJECTIVE.c.interaction_id,
        ),
        (
            Kind.agreements,
            agreements,
            agreements.c.agreement_id,
            agreements.c.dated_on,
            AGREEMENT_PARTNER,
            AGREEMENT_PARTNER.c.agreement_id,
            AGREEMENT_PARTNER.c.organization_id,
            AGREEMENT_OBJECTIVE,
            AGREEMENT_OBJECTIVE.c.agreement_id,
        ),
    ):
        pairs = items.join(link, link_item == item_id).join(
            organization, organization.c.id == link_org
        )
        year = _year(year_of)
        keys = (year, organization.c.category, organization.c.sector)
        # Over all objectives: each pair once.
        branches.append(
            select(
                literal(kind.value, String).label("kind"),
                literal(1, Integer).label("all_objectives"),
                sql_cast(null(), String).label("strategic_objective"),
                *keys,
                func.count(),
            )
            .select_from(pairs)
            .group_by(*keys)
        )
        # For each objective (null: the items that name none): a pair under each.
        by_objective = pairs.outerjoin(served, served_item == item_id)
        objective = served.c.objective_code
        branches.append(
            select(
                literal(kind.value, String),
                literal(0, Integer),
                sql_cast(objective, String),
                *keys,
                func.count(),
            )
            .select_from(by_objective)
            .group_by(objective, *keys)
        )
    rows = await database.read(union_all(*branches))
    overall: dict[tuple[int, str], dict[tuple[str | None, str | None], int]] = defaultdict(dict)
    per_objective: dict[tuple[int, str], dict[str | None, dict[Any, int]]] = defaultdict(
        lambda: defaultdict(dict)
    )
    for kind_, all_objectives, objective_, year_, category, sector, count in rows:
        group = (int(year_), kind_)
        if all_objectives:
            overall[group][(category, sector)] = int(count)
        else:
            per_objective[group][objective_][(category, sector)] = int(count)
    kinds = list(Kind)
    years = []
    for year_, kind_ in sorted(overall, key=lambda group: (group[0], kinds.index(Kind(group[1])))):
        objectives = per_objective[(year_, kind_)]
        years.append(
            YearBalance(
                year=year_,
                kind=Kind(kind_),
                total=sum(overall[(year_, kind_)].values()),
                counts=_partner_counts(overall[(year_, kind_)]),
                objectives=[
                    ObjectiveBalance(
                        strategic_objective=code,
                        total=sum(objectives[code].values()),
                        counts=_partner_counts(objectives[code]),
                    )
                    for code in sorted(objectives, key=lambda code: (code is None, code or ""))
                ],
            )
        )
    return EngagementBalance(period=within, years=years)


# --- CSV -----------------------------------------------------------------------------------------

SUMMARY_COLUMNS = ("kind", "dimension", "key", "count", "total", "share")
BALANCE_COLUMNS = (
    "year",
    "kind",
    "strategic_objective",
    "partner_category",
    "partner_sector",
    "count",
    "total",
    "share",
)
# The `strategic_objective` of the balance's rows that count over all objectives.
ALL_OBJECTIVES = "all"


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """A CSV with every cell written by the lists' rules (`core.csv_export.cell`: formulas
    defused)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([cell(value) for value in row] for row in rows)
    return buffer.getvalue().encode()


def summary_csv(report: SummaryReport) -> bytes:
    """One row per (kind, dimension, key): its count, its dimension's total and its share."""
    rows = []
    for kind, part in (
        (Kind.agreements, report.agreements),
        (Kind.interactions, report.interactions),
    ):
        for name in type(part).model_fields:
            breakdown = getattr(part, name)
            if not isinstance(breakdown, Breakdown):
                continue
            dimension = name.removeprefix("by_")
            rows += [
                (kind, dimension, item.key, item.count, breakdown.total, share_text(item.share))
                for item in breakdown.counts
            ]
    return _csv(SUMMARY_COLUMNS, rows)


def engagement_balance_csv(report: EngagementBalance) -> bytes:
    """One row per (year, kind, objective, partner category, sector): its count, its group's
    total and its share. The rows over all objectives have `strategic_objective` `all`; those
    of items that name no objective, an empty one."""
    rows = []
    for year in report.years:
        groups = [(ALL_OBJECTIVES, year.total, year.counts)] + [
            (objective.strategic_objective, objective.total, objective.counts)
            for objective in year.objectives
        ]
        for code, total, counts in groups:
            rows += [
                (
                    year.year,
                    year.kind,
                    code,
                    item.partner_category,
                    item.partner_sector,
                    item.count,
                    total,
                    share_text(item.share),
                )
                for item in counts
            ]
    return _csv(BALANCE_COLUMNS, rows)
