"""The sample community of the domain brief, built through the public gRPC API only.

新华社区 (海滨街道, 鲤城区, 泉州市) with 5 grids, households spread over them and its 127 disabled
residents: 98 certificate holders (all 7 categories, grades 1-4) and 29 uncertified children under
3. Everything comes from a fixed seed, with valid GB 11643 resident IDs, so each run yields the
same residents and a second run on the same stack adds nothing: existing jurisdictions and resident
IDs (ALREADY_EXISTS) are skipped, households are found again by address. The infants are born in
the two years before the current one (under 3 all year), so a stack kept into a new year gets 29
new infants: start such a stack afresh (make clean).

    PYTHONPATH=services:scripts .venv/bin/python scripts/sample_community.py [host:port]
"""

from __future__ import annotations

import random
import sys
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import grpc

from cdsp.common.v1 import common_pb2 as common
from cdsp.registry.v1 import registry_pb2 as pb
from cdsp.registry.v1.registry_pb2_grpc import RegistryServiceStub
from runtime.grpc_client import sync_channel

SEED = 35050200
TZ = ZoneInfo("Asia/Shanghai")
AREA_CODE = "350502"
COMMUNITY = "350502001001"
COMMUNITY_PATH = f"/3505/350502/350502001/{COMMUNITY}/"
GRIDS = [f"{COMMUNITY}-g{i}" for i in range(1, 6)]
GRID_PATHS = {g: f"{COMMUNITY_PATH}{g}/" for g in GRIDS}
TREE = [  # code, name, level, parent, minimum living standard (低保标准, fen per month)
    ("3505", "泉州市", pb.JURISDICTION_LEVEL_CITY, "", 93000),
    ("350502", "鲤城区", pb.JURISDICTION_LEVEL_DISTRICT, "3505", 0),
    ("350502001", "海滨街道", pb.JURISDICTION_LEVEL_STREET, "350502", 0),
    (COMMUNITY, "新华社区", pb.JURISDICTION_LEVEL_COMMUNITY, "350502001", 0),
    *[(g, f"新华社区第{i}网格", pb.JURISDICTION_LEVEL_GRID, COMMUNITY, 0)
      for i, g in enumerate(GRIDS, 1)],
]
CERTIFIED, INFANTS = 98, 29
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"

ALL_CATEGORIES = [common.DisabilityCategory.ValueType(digit) for digit in range(1, 8)]
VISUAL, HEARING, SPEECH, PHYSICAL, INTELLECTUAL, MENTAL, MULTIPLE = ALL_CATEGORIES  # GB/T 26341
CATEGORY_WEIGHTS = [14, 16, 5, 38, 12, 10, 5]
INFANT_CATEGORIES = [HEARING, INTELLECTUAL, PHYSICAL, VISUAL, MULTIPLE]
INFANT_WEIGHTS = [8, 8, 7, 3, 3]
GRADE_WEIGHTS = [15, 25, 30, 30]  # grades 1 (most severe) .. 4

SURNAMES = "陈林黄王张李吴蔡郑许洪庄苏施杨刘周曾郭柯"
GIVEN_MALE = "伟强军明志国建文华荣辉俊杰鹏涛斌海龙永清"
GIVEN_FEMALE = "秀丽敏静芳娟燕玲霞红梅兰婷雪琳晓月丹萍"
NEEDS = {"rehabilitation": "康复训练", "assistive_device": "辅助器具适配",
         "employment": "就业帮扶", "home_care": "居家照护", "relief": "生活救助"}
WORKERS = [("gw-01", "林晓燕"), ("gw-02", "陈志强"), ("gw-03", "黄丽红"), ("gw-04", "王建华"),
           ("gw-05", "郑美玲")]
# Who signs in at the local issuer: its development users (scripts/dev_identity.py), with
# the password `make up` and `make demo` print. `admin` may also revoke tokens.
SIGN_INS: list[dict[str, Any]] = [
    {"username": "admin", "role": "city_admin", "scopes": ["/3505/"], "admin": True},
    {"username": "street-admin", "role": "street_admin", "scopes": ["/3505/350502/350502001/"]},
    {"username": "cw-01", "role": "community_worker", "scopes": [COMMUNITY_PATH]},
    {"username": "sw-01", "role": "social_worker", "scopes": [COMMUNITY_PATH]},
    {"username": "doctor-01", "role": "family_doctor", "scopes": [COMMUNITY_PATH]},
    *[{"username": worker_id, "role": "grid_worker", "scopes": [GRID_PATHS[grid]]}
      for (worker_id, _), grid in zip(WORKERS, GRIDS, strict=True)],
]
CH = common.ContactChannel


def check_char(first17: str) -> str:
    """The GB 11643 (ISO 7064 MOD 11-2) check character of the first 17 digits."""
    return CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]


def make_resident_id(born: date, male: bool, rng: random.Random, area: str = AREA_CODE) -> str:
    sex_digit = rng.choice("13579" if male else "02468")  # odd for men, even for women
    first17 = f"{area}{born:%Y%m%d}{rng.randrange(100):02d}{sex_digit}"
    return first17 + check_char(first17)


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def mobile(rng: random.Random) -> str:
    return f"1{rng.choice('35789')}{rng.randrange(10**9):09d}"


def chinese_name(rng: random.Random, male: bool, surname: str = "") -> str:
    pool = GIVEN_MALE if male else GIVEN_FEMALE
    return (surname or rng.choice(SURNAMES)) + "".join(rng.sample(pool, rng.choice((1, 2, 2))))


@dataclass
class HouseholdPlan:
    grid: str
    address: str
    income_fen: int
    members: list[pb.Person] = field(default_factory=list)


def _identity(i: int, today: date, used: set[str]) -> tuple[random.Random, pb.Person, date]:
    """Name, resident ID and birth date of resident i (depends on the seed only; infants also on
    the current year), and the resident's own random generator for the other attributes."""
    rng = random.Random(f"{SEED}-{i}")
    if i < CERTIFIED:  # 10 children (3-17), 45 of working age, the rest elderly
        first, last = (2009, 2020) if i < 10 else (1967, 2006) if i < 55 else (1931, 1964)
        born = date(rng.randint(first, last), rng.randint(1, 12), rng.randint(1, 28))
    else:  # born 2 Jan two years ago .. 31 Dec last year: under 3 all through this year
        start = date(today.year - 2, 1, 2)
        born = start + timedelta(days=rng.randrange((date(today.year - 1, 12, 31) - start).days))
    male = rng.random() < 0.5
    rid = make_resident_id(born, male, rng)
    while rid in used:
        rid = make_resident_id(born, male, rng)
    used.add(rid)
    return rng, pb.Person(name=chinese_name(rng, male), resident_id=rid), born


def _resident(i: int, today: date, used: set[str], grid_no: int) -> pb.Person:
    rng, p, born = _identity(i, today, used)
    age = age_on(born, today)
    if i < CERTIFIED:
        p.category = ALL_CATEGORIES[i % 7] if i < 14 else rng.choices(ALL_CATEGORIES,
                                                                      CATEGORY_WEIGHTS)[0]
        p.grade, p.certified = rng.choices((1, 2, 3, 4), GRADE_WEIGHTS)[0], True
    else:
        p.category, p.grade = rng.choices(INFANT_CATEGORIES, INFANT_WEIGHTS)[0], 0
    if age < 18 or p.category in (INTELLECTUAL, MENTAL):
        relation = "父母" if age < 30 else rng.choice(("配偶", "子女", "兄弟姐妹"))
        p.guardian.CopyFrom(pb.Guardian(name=chinese_name(rng, rng.random() < 0.5, p.name[0]),
                                        phone=mobile(rng), relation=relation))
    if age >= 16 and rng.random() < 0.85:
        p.phone = mobile(rng)
    if age >= 60 and rng.random() < 0.35:
        p.living_situation = pb.LIVING_SITUATION_ALONE
    elif age >= 18 and p.grade == 1 and rng.random() < 0.2:
        p.living_situation = pb.LIVING_SITUATION_IN_INSTITUTION
    else:
        p.living_situation = pb.LIVING_SITUATION_WITH_FAMILY
    reachable = bool(p.phone or p.HasField("guardian"))
    if p.category == HEARING:
        p.preferred_channel = CH.CONTACT_CHANNEL_SMS if reachable else CH.CONTACT_CHANNEL_APP
    elif reachable:
        p.preferred_channel = rng.choice((CH.CONTACT_CHANNEL_PHONE_CALL, CH.CONTACT_CHANNEL_SMS,
                                          CH.CONTACT_CHANNEL_MESSAGING_GROUP))
    else:
        p.preferred_channel = CH.CONTACT_CHANNEL_IN_PERSON
    worker_id, worker_name = WORKERS[grid_no]
    p.liaison.CopyFrom(pb.Liaison(worker_id=worker_id, name=worker_name,
                                  phone=f"1385950010{grid_no + 1}"))
    if p.category == MENTAL and p.grade <= 2:
        p.priority_groups.append("severe_mental_illness")
    if rng.random() < 0.07:
        p.priority_groups.append("seriously_ill")
    if age < 18 and rng.random() < 0.2:
        p.priority_groups.append("single_parent_disabled_children")
    wanted = ["rehabilitation", "assistive_device"]
    wanted += ["employment"] if 16 <= age < 60 else ["home_care"] if age >= 60 else []
    for code in rng.sample(wanted, rng.randint(0, min(2, len(wanted)))):
        p.needs.add(code=code, description=NEEDS[code])
    return p


def plan(today: date) -> list[HouseholdPlan]:
    """The households, each with its members: mostly one disabled resident per household, some
    with two. Household i is in grid i mod 5."""
    rng = random.Random(SEED)
    order = list(range(CERTIFIED + INFANTS))
    rng.shuffle(order)
    used: set[str] = set()
    households: list[HouseholdPlan] = []
    for n, i in enumerate(order):
        if n and len(households[-1].members) == 1 and rng.random() < 0.15:
            household = households[-1]
        else:
            grid_no = len(households) % 5
            number = len(households) // 5 + 1
            low_income = rng.random() < 0.15
            income = rng.randrange(0, 90_000, 100) if low_income else rng.randrange(
                150_000, 1_200_000, 100)
            household = HouseholdPlan(GRIDS[grid_no], f"鲤城区海滨街道新华社区{grid_no + 1}区"
                                      f"{(number - 1) // 6 + 1}号楼{(number - 1) % 6 + 1}01室",
                                      income)
            households.append(household)
        person = _resident(i, today, used, GRIDS.index(household.grid))
        if household.income_fen < 93_000 and "relief" not in [need.code for need in person.needs]:
            person.needs.add(code="relief", description=NEEDS["relief"])
        household.members.append(person)
    return households


def _existing(stub: RegistryServiceStub) -> list[pb.Person]:
    found: list[pb.Person] = []
    token = ""
    while True:
        page = stub.ListPersons(pb.ListPersonsRequest(
            jurisdiction_path=COMMUNITY_PATH, include_archived=True, page_size=500,
            page_token=token))
        found.extend(page.persons)
        token = page.next_page_token
        if not token:
            return found


def build(addr: str, token: str) -> dict[str, Any]:
    """Creates whatever is missing of the sample community and returns a summary: grid codes and
    paths, household and person ids, and what was created now or found already there."""
    today = datetime.now(TZ).date()
    channel = sync_channel(addr, token)
    try:
        stub = RegistryServiceStub(channel)
        created_jurisdictions = 0
        for code, name, level, parent, fen in TREE:
            try:
                stub.CreateJurisdiction(pb.CreateJurisdictionRequest(
                    code=code, name=name, level=level, parent_code=parent,
                    minimum_living_standard_fen=fen))
                created_jurisdictions += 1
            except grpc.RpcError as exc:
                if exc.code() != grpc.StatusCode.ALREADY_EXISTS:
                    raise
        existing = _existing(stub)
        by_address = {p.address: p.household_id for p in existing}
        by_resident_id = {p.resident_id: p.person_id for p in existing}
        households: list[str] = []
        persons: list[str] = []
        by_grid = dict.fromkeys(GRIDS, 0)
        created_households = registered = skipped = 0
        for household in plan(today):
            household_id = by_address.get(household.address, "")
            if not household_id:
                household_id = stub.CreateHousehold(pb.CreateHouseholdRequest(
                    grid_code=household.grid, address=household.address,
                    monthly_income_fen=household.income_fen)).household_id
                created_households += 1
            households.append(household_id)
            for person in household.members:
                by_grid[household.grid] += 1
                if person.resident_id in by_resident_id:
                    persons.append(by_resident_id[person.resident_id])
                    skipped += 1
                    continue
                person.household_id = household_id
                try:
                    persons.append(stub.RegisterPerson(
                        pb.RegisterPersonRequest(person=person)).person_id)
                    registered += 1
                except grpc.RpcError as exc:
                    if exc.code() != grpc.StatusCode.ALREADY_EXISTS:
                        raise
                    skipped += 1
    finally:
        channel.close()
    return {"community_path": COMMUNITY_PATH, "grids": GRID_PATHS, "households": households,
            "persons": persons, "persons_by_grid": by_grid, "certified": CERTIFIED,
            "uncertified": INFANTS, "jurisdictions_created": created_jurisdictions,
            "households_created": created_households, "persons_registered": registered,
            "persons_skipped": skipped}


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:50051"
    import devstack

    admin = devstack.Stack().token("sample-loader", "city_admin", ["/3505/"])
    summary = build(target, admin)
    print({k: len(v) if isinstance(v, list) else v for k, v in summary.items()})
