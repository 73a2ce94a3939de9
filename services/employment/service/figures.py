"""Money and figures: enterprise subsidies owed, start-up grants, workshop sales, and the yearly
figures of a jurisdiction subtree.

Subsidies are pro-rata by day of placement (see employment.domain.placements): for a month,
each partner enterprise is owed its placed persons' monthly subsidy × the share of the month
each was placed there, within the enterprise's agreement and up to today. The year's subsidy is
the sum of its twelve months. Dates are local (emp.local_tz), and so are the year's bounds for
what is stored as a time (assessments, course completions, grants).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from cdsp.events.v1 import employment_pb2 as ev
from employment.adapters import placement_store
from employment.config import Employment
from employment.domain import placements as rules
from employment.service.access import MANAGER_ROLES, READ_ROLES, load_candidate
from employment.service.access import require_working_age as working_age
from runtime.auth import Caller, is_valid_path
from runtime.db import UnitOfWork
from runtime.errors import FailedPrecondition, Violations
from runtime.inputs import subtrees


@dataclass(frozen=True)
class EmployerOwed:
    employer_id: str
    name: str
    placed_persons: int
    owed_fen: int


@dataclass(frozen=True)
class Grant:
    grant_id: str
    person_id: str
    amount_fen: int
    business: str
    awarded_at: datetime


@dataclass(frozen=True)
class Sale:
    sale_id: str
    workshop: str
    jurisdiction_path: str
    amount_fen: int
    sold_on: date
    goods: str


@dataclass(frozen=True)
class Figures:
    year: int
    jurisdiction_path: str
    counts: placement_store.Counts
    subsidy_owed_fen: int


async def _owed(uow: UnitOfWork, paths: list[str], year: int, months: range, today: date
                ) -> list[EmployerOwed]:
    first = rules.check_month(year, months[0])[0]
    last = rules.check_month(year, months[-1])[1]
    rows = await placement_store.subsidised(uow, paths, first, last)
    terms = await placement_store.employer_terms(uow, sorted({r[0] for r in rows}))
    persons: dict[str, set[str]] = {}
    owed: dict[str, int] = {}
    for employer_id, person_id, start, end, monthly in rows:
        t = terms[employer_id]
        for month in months:
            days, fen = rules.owed_in_month(monthly, year, month, start, end,
                                            (t.agreement_start, t.agreement_end), today)
            if days:
                persons.setdefault(employer_id, set()).add(person_id)
                owed[employer_id] = owed.get(employer_id, 0) + fen
    return sorted((EmployerOwed(e, terms[e].name, len(persons[e]), owed[e]) for e in persons),
                  key=lambda o: (o.name, o.employer_id))


async def subsidies_owed(emp: Employment, caller: Caller, year: int, month: int, path: str
                         ) -> list[EmployerOwed]:
    """Per partner enterprise, its persons placed that month and what it is owed for them."""
    caller.require_role(*MANAGER_ROLES)
    rules.check_month(year, month)
    paths = subtrees(caller, path)
    today = datetime.now(emp.local_tz).date()
    async with emp.db.unit_of_work(caller) as uow:
        return await _owed(uow, paths, year, range(month, month + 1), today)


async def award_grant(emp: Employment, caller: Caller, person_id: str, amount_fen: int,
                      business: str) -> Grant:
    """A one-off start-up grant to a working-age person, within the configured bounds."""
    caller.require_role(*MANAGER_ROLES)
    rules.check_grant(amount_fen, business, emp.rules.grant_min_fen, emp.rules.grant_max_fen)
    today = datetime.now(emp.local_tz).date()
    async with emp.db.unit_of_work(caller) as uow:
        person = await load_candidate(uow, person_id, lock=True)
        working_age(emp, person, today)
        made = await placement_store.insert_grant(uow, person.person_id,
                                                  person.jurisdiction_path, amount_fen,
                                                  business.strip())
        if made is None:
            raise FailedPrecondition("this person has had their start-up grant already (it is "
                                     "one-off)")
        grant = Grant(made[0], person.person_id, amount_fen, business.strip(), made[1])
        uow.record(ev.StartupGrantAwarded(grant_id=grant.grant_id, person_id=grant.person_id,
                                          amount_fen=amount_fen),
                   aggregate_type="employment_startup_grant", aggregate_id=grant.grant_id,
                   version=1, jurisdiction_path=person.jurisdiction_path)
    return grant


async def record_sale(emp: Employment, caller: Caller, workshop: str, path: str,
                      amount_fen: int, sold_on_ymd: rules.Ymd, goods: str) -> Sale:
    caller.require_role(*MANAGER_ROLES)
    today = datetime.now(emp.local_tz).date()
    v = Violations()
    v.check(is_valid_path(path), "jurisdiction_path", "must look like /3505/350502/ (codes "
                                                      "between slashes)")
    sold_on = rules.to_date(sold_on_ymd, "sold_on", v) or today
    rules.check_sale(workshop, amount_fen, sold_on, today, goods, v)
    v.raise_if_any()
    caller.require_scope(path, "that jurisdiction")
    sale = Sale("", workshop.strip(), path, amount_fen, sold_on, goods.strip())
    async with emp.db.unit_of_work(caller) as uow:
        sale_id = await placement_store.insert_sale(uow, sale.workshop, path, amount_fen,
                                                    sold_on, sale.goods)
    return Sale(sale_id, sale.workshop, path, amount_fen, sold_on, sale.goods)


async def yearly_figures(emp: Employment, caller: Caller, year: int, path: str) -> Figures:
    caller.require_role(*READ_ROLES)
    rules.check_year(year)
    paths = subtrees(caller, path)
    today = datetime.now(emp.local_tz).date()
    first, last = date(year, 1, 1), date(year, 12, 31)
    since = rules.local_midnight(first, emp.local_tz)
    until = rules.local_midnight(date(year + 1, 1, 1), emp.local_tz)
    async with emp.db.unit_of_work(caller) as uow:
        counts = await placement_store.year_counts(uow, paths, first, last, since, until,
                                                   min(last, today))
        owed = await _owed(uow, paths, year, range(1, 13), today)
    return Figures(year, path or (paths[0] if len(paths) == 1 else ""), counts,
                   sum(o.owed_fen for o in owed))
