"""The institution: libraries, places, work-order types, policy, operators and patrons.

An institution is described by a TOML file (the demo lives in ``data/demo.toml``). It is
loaded once, validated whole, and kept in memory as frozen dataclasses; the database keeps
a copy of the text so that every command run against a database sees the same institution.
A broken or inconsistent file raises :class:`~libdesk.errors.ConfigError` naming the file,
the key and what is wrong.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from libdesk.errors import ConfigError, NotFound, NotPermitted

DESK = "desk"
DEPARTMENT = "department"


@dataclass(frozen=True)
class Library:
    code: str
    name: str


@dataclass(frozen=True)
class Location:
    code: str
    name: str
    library: str
    remote_storage: bool = False
    desk: str | None = None
    """The desk that receives this location's items (remote storage only)."""


@dataclass(frozen=True)
class WorkOrderType:
    code: str
    name: str
    statuses: tuple[str, ...]


@dataclass(frozen=True)
class Place:
    """Where an action happens: a circulation desk or a work-order department."""

    code: str
    name: str
    kind: str
    library: str
    work_order_type: str | None = None
    days: int | None = None
    """Days in Department (departments only, W16)."""
    receives: bool = False
    """Whether the department receives acquisitions (departments only, W13)."""

    @property
    def is_desk(self) -> bool:
        return self.kind == DESK

    @property
    def is_department(self) -> bool:
        return self.kind == DEPARTMENT


@dataclass(frozen=True)
class Operator:
    id: str
    name: str
    places: tuple[str, ...]
    roles: tuple[str, ...] = ()

    def may_act_at(self, place: str) -> bool:
        return "*" in self.places or place in self.places


SYSTEM_OPERATOR_ID = "system"
"""Who the history names for libdesk's own timed steps (a borrowing request re-sent after a
partner's timeout): never an operator of the institution file."""


@dataclass(frozen=True)
class Partner:
    code: str
    name: str
    sends_automatically: bool = True
    """False: the partner takes requests by hand (e-mail, a form): a request whose turn it is
    stops in Ready to be Sent for staff to send."""
    timeout_days: int | None = None
    """Days the partner has to answer before the request goes to the next partner (None: the
    policy's ``partner_timeout_days``)."""


@dataclass(frozen=True)
class PatronSeed:
    id: str
    name: str
    pseudo: bool = False


@dataclass(frozen=True)
class Policy:
    work_orders_equal_patron_requests: bool = True
    loan_days: int = 28
    recall_days: int = 7
    received_items_in_place: bool = False
    partner_timeout_days: int = 10
    """Days a partner has to answer a borrowing request before it is sent to the next one."""
    max_renewals: int = 2
    """How many times a loan may be renewed (each renewal: due today + loan_days)."""
    hold_shelf_days: int = 7
    """Pickup expiry: days an item waits on the hold shelf for its patron; after that it is
    listed as expired on the shelf, to be cleared (next request, reshelve, back to the lender)."""


@dataclass(frozen=True)
class SignIn:
    """``sign_in = false`` (single desk, demo) or a ``[sign_in]`` table (issue 14)."""

    required: bool = True
    idle_minutes: int = 15
    """The app signs out after this long without a key (0: never)."""
    session_hours: int = 12
    """How long a ``libdesk login`` session lasts."""
    max_failures: int = 5
    lockout_minutes: int = 15


@dataclass(frozen=True)
class Institution:
    code: str
    name: str
    policy: Policy
    libraries: dict[str, Library]
    locations: dict[str, Location]
    places: dict[str, Place]
    work_order_types: dict[str, WorkOrderType]
    operators: dict[str, Operator]
    partners: dict[str, Partner]
    patrons: tuple[PatronSeed, ...] = field(default=())
    sign_in: SignIn = field(default_factory=SignIn)
    source: str = ""
    """The TOML text this institution was read from (stored in the database)."""

    # -- look-ups that raise user errors -------------------------------------------------
    def place(self, code: str) -> Place:
        try:
            return self.places[code]
        except KeyError:
            raise NotFound(f"Unknown place {code!r}: not a desk or department of {self.name}") from None

    def desk(self, code: str) -> Place:
        place = self.place(code)
        if not place.is_desk:
            raise NotPermitted(f"{place.name} ({code}) is a department, not a circulation desk")
        return place

    def department(self, code: str) -> Place:
        place = self.place(code)
        if not place.is_department:
            raise NotPermitted(f"{place.name} ({code}) is a circulation desk, not a work-order department")
        return place

    def work_order_type(self, code: str) -> WorkOrderType:
        try:
            return self.work_order_types[code]
        except KeyError:
            known = ", ".join(self.work_order_types)
            raise NotFound(f"Unknown work-order type {code!r} (known: {known})") from None

    def partner_timeout(self, code: str | None) -> int:
        """Days the partner ``code`` has to answer (its own, else the policy's)."""
        partner = self.partners.get(code or "")
        if partner is not None and partner.timeout_days is not None:
            return partner.timeout_days
        return self.policy.partner_timeout_days

    def operator(self, op_id: str) -> Operator:
        try:
            return self.operators[op_id]
        except KeyError:
            raise NotFound(f"Unknown operator {op_id!r}") from None

    def location(self, code: str) -> Location:
        try:
            return self.locations[code]
        except KeyError:
            raise NotFound(f"Unknown location {code!r}") from None

    def library(self, code: str) -> Library:
        try:
            return self.libraries[code]
        except KeyError:
            raise NotFound(f"Unknown library {code!r}") from None

    # -- derived facts --------------------------------------------------------------------
    def library_desk(self, library: str) -> Place:
        """The circulation desk of a library (its first desk in the file)."""
        for place in self.places.values():
            if place.is_desk and place.library == library:
                return place
        raise NotFound(f"Library {library!r} has no circulation desk")

    def home_desk(self, library: str, location: str) -> Place:
        """Where an item goes home to: its remote-storage desk, else its library's desk."""
        loc = self.locations.get(location)
        if loc is not None and loc.remote_storage and loc.desk:
            return self.places[loc.desk]
        return self.library_desk(library)

    def departments_of_type(self, type_code: str) -> list[Place]:
        return [p for p in self.places.values() if p.is_department and p.work_order_type == type_code]

    def place_name(self, code: str | None) -> str:
        """A place's name; ``partner:CODE`` (an item on its way back to a lender) names the partner."""
        if code is None:
            return ""
        if code.startswith("partner:"):
            partner = self.partners.get(code[len("partner:"):])
            return f"{partner.name} (lender)" if partner else code
        place = self.places.get(code)
        return place.name if place else code


# -- loading ------------------------------------------------------------------------------

def data_path(name: str) -> Path:
    """A file of ``data/``: installed as ``libdesk.data``; when libdesk is imported straight
    from a source checkout (pytest puts the checkout first on sys.path), the checkout's own
    ``data/`` folder."""
    try:
        return Path(str(resources.files("libdesk.data").joinpath(name)))
    except ModuleNotFoundError:
        return Path(__file__).resolve().parent.parent / "data" / name


def demo_path() -> Path:
    """The shipped demo institution file."""
    return data_path("demo.toml")


def load_file(path: str | Path) -> Institution:
    """Read and validate an institution file.

    Raises:
        ConfigError: the file is missing, unreadable, not TOML, or inconsistent.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: institution file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read institution file: {exc}") from None
    return parse(text, str(path))


def parse(text: str, origin: str = "<institution>") -> Institution:
    """Parse and validate institution TOML text; ``origin`` names it in error messages."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{origin}: not valid TOML: {exc}") from None
    return _Builder(raw, origin, text).build()


class _Builder:
    """Turns the raw TOML dict into an Institution, checking every key on the way."""

    def __init__(self, raw: dict[str, Any], origin: str, text: str) -> None:
        self.raw = raw
        self.origin = origin
        self.text = text

    def fail(self, key: str, what: str) -> ConfigError:
        return ConfigError(f"{self.origin}: {key}: {what}")

    def table_list(self, key: str, required: bool = True) -> list[dict[str, Any]]:
        value = self.raw.get(key)
        if value is None:
            if required:
                raise self.fail(key, "missing (at least one entry is needed)")
            return []
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.fail(key, "must be an array of tables ([[" + key + "]])")
        if required and not value:
            raise self.fail(key, "is empty (at least one entry is needed)")
        return value

    def get(self, entry: dict[str, Any], key: str, where: str, kind: type, default: Any = ...) -> Any:
        if key not in entry:
            if default is ...:
                raise self.fail(f"{where}.{key}", "missing")
            return default
        value = entry[key]
        if kind is int and isinstance(value, bool) or not isinstance(value, kind):
            raise self.fail(f"{where}.{key}", f"must be {kind.__name__}, not {type(value).__name__}")
        if isinstance(value, str) and not value.strip():
            raise self.fail(f"{where}.{key}", "is empty")
        return value

    def strings(self, entry: dict[str, Any], key: str, where: str) -> list[str]:
        """An optional list of codes (``places``, ``roles``): each a non-empty string."""
        values = self.get(entry, key, where, list, [])
        for n, value in enumerate(values):
            if not isinstance(value, str):
                raise self.fail(f"{where}.{key}[{n}]", f"must be a string, not {type(value).__name__} ({value!r})")
            if not value.strip():
                raise self.fail(f"{where}.{key}[{n}]", "is empty")
        return values

    def unique(self, seen: dict[str, Any], code: str, where: str, kind: str) -> None:
        if code in seen:
            raise self.fail(where, f"duplicate {kind} code {code!r}")

    def build(self) -> Institution:
        head = self.raw.get("institution", {})
        if not isinstance(head, dict):
            raise self.fail("institution", "must be a table")
        code = self.get(head, "code", "institution", str, "LIB")
        name = self.get(head, "name", "institution", str, "Library")

        policy_raw = self.raw.get("policy", {})
        if not isinstance(policy_raw, dict):
            raise self.fail("policy", "must be a table")
        known_policy = set(Policy.__dataclass_fields__)
        for key in policy_raw:
            if key not in known_policy:
                raise self.fail(f"policy.{key}", f"unknown setting (known: {', '.join(sorted(known_policy))})")
        policy = Policy(
            work_orders_equal_patron_requests=self.get(policy_raw, "work_orders_equal_patron_requests", "policy", bool, True),
            loan_days=self._positive(policy_raw, "loan_days", "policy", 28),
            recall_days=self._positive(policy_raw, "recall_days", "policy", 7),
            received_items_in_place=self.get(policy_raw, "received_items_in_place", "policy", bool, False),
            partner_timeout_days=self._days(policy_raw, "partner_timeout_days", "policy", 10),
            hold_shelf_days=self._positive(policy_raw, "hold_shelf_days", "policy", 7),
            max_renewals=self._count(policy_raw, "max_renewals", "policy", 2),
        )

        libraries: dict[str, Library] = {}
        for i, entry in enumerate(self.table_list("libraries")):
            where = f"libraries[{i}]"
            lib_code = self.get(entry, "code", where, str)
            self.unique(libraries, lib_code, f"{where}.code", "library")
            libraries[lib_code] = Library(lib_code, self.get(entry, "name", where, str, lib_code))

        types: dict[str, WorkOrderType] = {}
        for i, entry in enumerate(self.table_list("work_order_types")):
            where = f"work_order_types[{i}]"
            type_code = self.get(entry, "code", where, str)
            self.unique(types, type_code, f"{where}.code", "work-order type")
            statuses = self.get(entry, "statuses", where, list)
            if not statuses:
                raise self.fail(f"{where}.statuses", f"work-order type {type_code!r} has no statuses")
            if not all(isinstance(s, str) and s.strip() for s in statuses):
                raise self.fail(f"{where}.statuses", "every status must be a non-empty string")
            if len(set(statuses)) != len(statuses):
                raise self.fail(f"{where}.statuses", f"work-order type {type_code!r} lists a status twice")
            types[type_code] = WorkOrderType(type_code, self.get(entry, "name", where, str, type_code), tuple(statuses))

        places: dict[str, Place] = {}
        for i, entry in enumerate(self.table_list("desks")):
            where = f"desks[{i}]"
            desk_code = self.get(entry, "code", where, str)
            self.unique(places, desk_code, f"{where}.code", "place")
            library = self._library_ref(entry, where, libraries)
            places[desk_code] = Place(desk_code, self.get(entry, "name", where, str, desk_code), DESK, library)

        for i, entry in enumerate(self.table_list("departments", required=False)):
            where = f"departments[{i}]"
            dept_code = self.get(entry, "code", where, str)
            self.unique(places, dept_code, f"{where}.code", "place")
            library = self._library_ref(entry, where, libraries)
            type_code = self.get(entry, "type", where, str)
            if type_code not in types:
                raise self.fail(f"{where}.type", f"unknown work-order type {type_code!r} for department {dept_code!r}")
            places[dept_code] = Place(
                dept_code,
                self.get(entry, "name", where, str, dept_code),
                DEPARTMENT,
                library,
                work_order_type=type_code,
                days=self._positive(entry, "days", where, 14),
                receives=self.get(entry, "receives", where, bool, False),
            )

        locations: dict[str, Location] = {}
        for i, entry in enumerate(self.table_list("locations")):
            where = f"locations[{i}]"
            loc_code = self.get(entry, "code", where, str)
            self.unique(locations, loc_code, f"{where}.code", "location")
            library = self._library_ref(entry, where, libraries)
            remote = self.get(entry, "remote_storage", where, bool, False)
            desk = self.get(entry, "desk", where, str, None)
            if desk is not None and (desk not in places or not places[desk].is_desk):
                raise self.fail(f"{where}.desk", f"unknown circulation desk {desk!r}")
            if remote and desk is None:
                raise self.fail(f"{where}.desk", "a remote-storage location needs the desk that receives its items")
            locations[loc_code] = Location(loc_code, self.get(entry, "name", where, str, loc_code), library, remote, desk)

        for lib in libraries.values():
            if not any(p.is_desk and p.library == lib.code for p in places.values()):
                raise self.fail("desks", f"library {lib.code!r} has no circulation desk")

        operators: dict[str, Operator] = {}
        for i, entry in enumerate(self.table_list("operators")):
            where = f"operators[{i}]"
            op_id = self.get(entry, "id", where, str)
            if op_id == SYSTEM_OPERATOR_ID:
                raise self.fail(f"{where}.id", f"{SYSTEM_OPERATOR_ID!r} is libdesk's own, for its automatic steps")
            self.unique(operators, op_id, f"{where}.id", "operator")
            op_places = self.strings(entry, "places", where)
            for place in op_places:
                if place != "*" and place not in places:
                    raise self.fail(f"{where}.places", f"unknown place {place!r} for operator {op_id!r}")
            roles = self.strings(entry, "roles", where)
            operators[op_id] = Operator(op_id, self.get(entry, "name", where, str, op_id), tuple(op_places), tuple(roles))

        partners: dict[str, Partner] = {}
        for i, entry in enumerate(self.table_list("partners", required=False)):
            where = f"partners[{i}]"
            p_code = self.get(entry, "code", where, str)
            self.unique(partners, p_code, f"{where}.code", "partner")
            timeout = self._days(entry, "timeout_days", where, 0) if "timeout_days" in entry else None
            partners[p_code] = Partner(p_code, self.get(entry, "name", where, str, p_code),
                                       self.get(entry, "sends_automatically", where, bool, True), timeout)

        patrons = self._patrons()
        return Institution(
            code=code, name=name, policy=policy, libraries=libraries, locations=locations,
            places=places, work_order_types=types, operators=operators, partners=partners,
            patrons=patrons, sign_in=self._sign_in(), source=self.text,
        )

    def _count(self, entry: dict[str, Any], key: str, where: str, default: int) -> int:
        """A count that may be zero: 0 to 100."""
        value = self.get(entry, key, where, int, default)
        if not 0 <= value <= 100:
            raise self.fail(f"{where}.{key}", "must be between 0 and 100")
        return value

    def _days(self, entry: dict[str, Any], key: str, where: str, default: int) -> int:
        """A number of days a partner has: 1 to 365."""
        value = self.get(entry, key, where, int, default)
        if not 1 <= value <= 365:
            raise self.fail(f"{where}.{key}", "must be between 1 and 365 days")
        return value

    def _sign_in(self) -> SignIn:
        raw = self.raw.get("sign_in", True)
        if isinstance(raw, bool):
            return SignIn(required=raw)
        if not isinstance(raw, dict):
            raise self.fail("sign_in", "must be true, false or a table ([sign_in])")
        known = set(SignIn.__dataclass_fields__)
        for key in raw:
            if key not in known:
                raise self.fail(f"sign_in.{key}", f"unknown setting (known: {', '.join(sorted(known))})")
        bounded = {}
        for key, default, top in (("idle_minutes", 15, 24 * 60), ("session_hours", 12, 24 * 31),
                                  ("max_failures", 5, 1000), ("lockout_minutes", 15, 24 * 60)):
            value = self._positive(raw, key, "sign_in", default)
            if value > top:
                raise self.fail(f"sign_in.{key}", f"must be at most {top}")
            bounded[key] = value
        if bounded["max_failures"] == 0:
            raise self.fail("sign_in.max_failures", "must be at least 1")
        return SignIn(required=self.get(raw, "required", "sign_in", bool, True), **bounded)

    def _positive(self, entry: dict[str, Any], key: str, where: str, default: int, most: int = 3650) -> int:
        # Bounded: a day count far past ten years overflowed date arithmetic on every scan.
        value = self.get(entry, key, where, int, default)
        if value < 0:
            raise self.fail(f"{where}.{key}", "must not be negative")
        if value > most:
            raise self.fail(f"{where}.{key}", f"{value} is too large (at most {most})")
        return value

    def _library_ref(self, entry: dict[str, Any], where: str, libraries: dict[str, Library]) -> str:
        library = self.get(entry, "library", where, str)
        if library not in libraries:
            raise self.fail(f"{where}.library", f"unknown library {library!r}")
        return library

    def _patrons(self) -> tuple[PatronSeed, ...]:
        raw = self.raw.get("patrons", {})
        if not isinstance(raw, dict):
            raise self.fail("patrons", "must be a table")
        out: dict[str, PatronSeed] = {}
        prefix = self.get(raw, "generate_prefix", "patrons", str, "P")
        count = self._positive(raw, "generate_count", "patrons", 0, most=100_000)
        for n in range(1, count + 1):
            pid = f"{prefix}{n:04d}"
            out[pid] = PatronSeed(pid, f"Patron {n}")
        entries = raw.get("list", [])
        if not isinstance(entries, list):
            raise self.fail("patrons.list", "must be an array of tables ([[patrons.list]])")
        for i, entry in enumerate(entries):
            where = f"patrons.list[{i}]"
            if not isinstance(entry, dict):
                raise self.fail(where, f"must be a table, not {type(entry).__name__}")
            pid = self.get(entry, "id", where, str)
            self.unique(out, pid, f"{where}.id", "patron")
            out[pid] = PatronSeed(pid, self.get(entry, "name", where, str, pid), self.get(entry, "pseudo", where, bool, False))
        return tuple(out.values())
