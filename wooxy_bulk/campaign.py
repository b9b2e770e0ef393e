"""The campaign file: a YAML document checked against a pydantic schema before anything else."""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any, Literal, get_args

import phonenumbers
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from . import yamlfile
from .contacts import check_codec
from .errors import InputError, display_path, located
from .ledger import DEFAULT_LEDGER, is_url
from .plan.windows import WindowSpec
from .textfile import read_text

DEFAULT_API_URL = "https://api.wooxy.com/v3"
MAX_CONCURRENCY = 10  # the API page: "Do not send more than 10 concurrent API requests."

_FROM_NAME = re.compile(r"[A-Za-z0-9 ]{1,11}")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_PARSING = {  # pydantic's error types for a text that is no number or boolean
    "int_parsing": "{value!r} is not a whole number",
    "int_from_float": "{value!r} is not a whole number",
    "float_parsing": "{value!r} is not a number",
    "bool_parsing": "{value!r} is not true or false",
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _admits(annotation: Any, kind: type) -> bool:
    """True if a field typed ``annotation`` takes values of type ``kind`` (``list[Path]``, …)."""
    if annotation is kind:
        return True
    return any(_admits(arg, kind) for arg in get_args(annotation))


class _Strict(BaseModel):
    """A section of the campaign file: unknown keys refused, values taken as written.

    yamlfile leaves a value as text unless it is a canonical whole number, true/false or null; a
    whole number where text is wanted becomes its digits, and true/false counts only where a
    field takes a boolean (``concurrency: true`` is an error, not 1).
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, coerce_numbers_to_str=True)

    @field_validator("*", mode="before")
    @classmethod
    def _as_written(cls, value: Any, info: ValidationInfo) -> Any:
        annotation = cls.model_fields[info.field_name or ""].annotation
        if isinstance(value, bool) and not _admits(annotation, bool):
            raise ValueError(
                f"{str(value).lower()} is not a value for this key (not a yes/no setting)"
            )
        paths = value if isinstance(value, list) else [value]
        for path in paths if _admits(annotation, Path) else ():
            if isinstance(path, str) and _CONTROL.search(path):
                raise ValueError(f"{path!r} holds a control character{yamlfile.WINDOWS_PATH_HINT}")
        return value


class ApiSettings(_Strict):
    """The `api:` section."""

    url: str = DEFAULT_API_URL
    concurrency: int = Field(MAX_CONCURRENCY, ge=1)
    timeout_s: float = Field(30.0, gt=0, le=600)
    max_attempts: int = Field(3, ge=1, le=10)

    @field_validator("concurrency")
    @classmethod
    def _at_most_ten(cls, value: int) -> int:
        if value > MAX_CONCURRENCY:
            raise ValueError(
                f"must be at most {MAX_CONCURRENCY}: the API refuses more than"
                f" {MAX_CONCURRENCY} concurrent requests"
            )
        return value

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"https?://[^/\s]+", value):
            raise ValueError(f"{value!r} is not an http(s) URL, e.g. {DEFAULT_API_URL}")
        return value.rstrip("/")


class FrequencyCap(_Strict):
    """The `frequency_cap:` section: at most `messages` SMS to one number within `hours`."""

    messages: int = Field(ge=1, strict=True)
    hours: float = Field(gt=0, strict=True)


class MessageSpec(_Strict):
    """The `message:` section: exactly one of `template` (a file) or `text` (inline)."""

    template: Path | None = None
    text: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> MessageSpec:
        if (self.template is None) == (self.text is None):
            raise ValueError("give exactly one of 'template' (a file) or 'text'")
        return self


class Campaign(_Strict):
    """A campaign file, with its relative paths resolved against the file's folder."""

    name: str
    contacts: Path
    sheet: str | int | None = None
    contacts_encoding: str | None = None
    phone_column: str = "phone"
    country_column: str | None = None
    default_region: str | None = None
    mobile_only: bool = False
    message: MessageSpec
    max_segments: int | None = Field(None, ge=1)
    characters: Literal["keep", "replace"] = "keep"
    prices: dict[str, float] | None = None
    domain: str
    from_name: str | None = None
    tags: list[str] | None = None
    suppress: list[Path] = Field(default_factory=list)
    send_window: WindowSpec | None = None
    country_rules: StrictBool = True
    results: Path | None = None
    frequency_cap: FrequencyCap | None = None
    ledger: str | None = None  # a path, or a postgresql:// URL
    api: ApiSettings = Field(default_factory=ApiSettings)

    source: Path = Field(Path("campaign.yaml"), exclude=True)

    @field_validator("name")
    @classmethod
    def _file_safe(cls, value: str) -> str:
        if not _NAME.fullmatch(value):
            raise ValueError(
                "use letters, digits, '.', '-' and '_' (it names the journal and results files)"
            )
        return value

    @field_validator("sheet", mode="before")
    @classmethod
    def _sheet(cls, value: Any) -> Any:
        if value is None or isinstance(value, str) or (type(value) is int and value >= 0):
            return value
        raise ValueError("give a sheet name or a 0-based sheet index (0 is the first sheet)")

    @field_validator("contacts_encoding")
    @classmethod
    def _encoding(cls, value: str | None) -> str | None:
        problem = None if value is None else check_codec(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("domain")
    @classmethod
    def _non_empty(cls, value: str) -> str:
        if not value:
            raise ValueError("must be a non-empty string (the verified domain of your account)")
        return value

    @field_validator("default_region")
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if value.upper() not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"{value!r} is not an ISO 3166 alpha-2 country code, such as GB or US")
        return value.upper()

    @field_validator("from_name")
    @classmethod
    def _from_name(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if _FROM_NAME.fullmatch(value) or _is_phone_number(value):
            return value
        raise ValueError(
            f"{value!r} must be at most 11 of A-Z, a-z, 0-9 and spaces, or a valid phone number"
            " in international form (+447911123456)"
        )

    @field_validator("prices")
    @classmethod
    def _prices(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        if value is None:
            return None
        prices = {}
        for key, price in value.items():
            code = key if key == "default" else key.upper()
            if code != "default" and code not in phonenumbers.SUPPORTED_REGIONS:
                raise ValueError(f"{key!r} is neither 'default' nor an ISO country code such as GB")
            if price < 0:
                raise ValueError(f"the price for {key} is negative")
            prices[code] = price
        return prices

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str] | None) -> list[str] | None:
        for tag in value or ():
            if not tag:
                raise ValueError("a tag must be a non-empty string")
            if len(tag) > 50:
                raise ValueError(f"tag {tag!r} is longer than 50 characters")
            if tag.startswith("_"):
                raise ValueError(f"tag {tag!r} starts with '_', which the API reserves")
        return value

    @property
    def folder(self) -> Path:
        return self.source.parent

    @property
    def results_path(self) -> Path:
        return self.results or self.folder / f"{self.name}-results.xlsx"

    @property
    def ledger_location(self) -> str | Path:
        """The ledger the campaign names (a path resolved, or a URL), else the folder's."""
        if self.ledger is None:
            return self.folder / DEFAULT_LEDGER
        if is_url(self.ledger):
            return self.ledger
        path = Path(self.ledger).expanduser()
        return path if path.is_absolute() else self.folder / path

    @property
    def journal_path(self) -> Path:
        return self.folder / ".wooxy-bulk" / f"{self.name}.journal.sqlite"


_WOOXY_TAG = re.compile(r"[0-9A-Za-z\u0400-\u04FF._-]{2,30}")


def campaign_warnings(campaign: Campaign) -> list[str]:
    """What the API accepts but is likely a mistake: tags Wooxy's analytics ignore, and an
    all-digit from name that is no valid number."""
    found = [
        f"tag {tag!r} does not follow Wooxy's tag rules (2 to 30 letters, digits, '.', '-' or"
        " '_'): Wooxy's analytics will ignore it"
        for tag in campaign.tags or ()
        if not _WOOXY_TAG.fullmatch(tag)
    ]
    name = campaign.from_name
    if name and name.replace(" ", "").isdigit() and not _is_phone_number("+" + name.lstrip("+")):
        found.append(
            f"from_name {name!r} is all digits but not a valid phone number: recipients may see"
            " another sender; write it as +<country code><number>, or use letters"
        )
    return found


def _is_phone_number(value: str) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(value, None))
    except phonenumbers.NumberParseException:
        return False


def load_campaign(path: Path) -> Campaign:
    """Read, check and resolve a campaign file; each mistake is an InputError naming key or line."""
    data = _read_yaml(path)
    try:
        campaign = Campaign.model_validate(data)
    except ValidationError as exc:
        lines = [f"{display_path(path)}: {_describe(error)}" for error in exc.errors()]
        raise InputError("\n".join(lines)) from None
    return _resolved(campaign, path)


def _read_yaml(path: Path) -> dict[str, Any]:
    text = read_text(path, "campaign file")
    try:
        data = yamlfile.load(text)
    except InputError as exc:
        raise located(path, str(exc)) from None
    if not isinstance(data, dict):
        raise located(path, "a campaign file is a YAML mapping of keys such as name:, contacts:")
    return data


def _describe(error: Any) -> str:
    """One pydantic error as `key 'api.concurrency': message`."""
    loc = list(error["loc"])
    key = ".".join(str(part) for part in loc)
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"unknown key '{key}'{_suggestion(loc)}"
    if kind == "missing":
        return f"missing required key '{key}'"
    if error.get("input", "") is None:
        return f"key '{key}' has no value"
    message = _PARSING.get(kind, "").format(value=error.get("input")) or str(
        error["msg"]
    ).removeprefix("Value error, ")
    if not key:
        return message
    return f"key '{key}': {message}"


def _suggestion(loc: list[Any]) -> str:
    model: type[BaseModel] = Campaign
    for part in loc[:-1]:
        field = model.model_fields.get(str(part))
        annotation = field.annotation if field else None
        options = getattr(annotation, "__args__", None) or (annotation,)  # `X | None` too
        models = [a for a in options if isinstance(a, type) and issubclass(a, BaseModel)]
        if not models:
            return ""
        model = models[0]
    valid = [name for name, f in model.model_fields.items() if not f.exclude]
    close = difflib.get_close_matches(str(loc[-1]), valid, n=1, cutoff=0.5)
    if close:
        return f"; did you mean '{close[0]}'?"
    return f"; valid keys here: {', '.join(valid)}"


def with_results(campaign: Campaign, path: Path) -> Campaign:
    """The campaign with its results file replaced (``--results``), under the key's rules."""
    _check_results_name(path, "--results")
    return campaign.model_copy(update={"results": path})


def _check_results_name(path: Path, where: str) -> None:
    if path.suffix.lower() not in (".xlsx", ".csv"):
        raise InputError(f"{where}: the results file must end in .xlsx or .csv ({path.name!r})")


def _resolved(campaign: Campaign, path: Path) -> Campaign:
    folder = path.parent

    def resolve(p: Path) -> Path:
        p = p.expanduser()
        return p if p.is_absolute() else folder / p

    updates: dict[str, Any] = {
        "source": path,
        "contacts": resolve(campaign.contacts),
        "suppress": [resolve(p) for p in campaign.suppress],
    }
    if campaign.results is not None:
        updates["results"] = resolve(campaign.results)
        _check_results_name(updates["results"], f"{display_path(path)}: key 'results'")
    if campaign.message.template is not None:
        message = campaign.message.model_copy(
            update={"template": resolve(campaign.message.template)}
        )
        updates["message"] = message
    return campaign.model_copy(update=updates)
