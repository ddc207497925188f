"""The steps of a conformance scenario, one pydantic model each (unknown keys are errors).

    send:            {from, text, to?}             an SMS MO (to the shortcode unless `to`)
    expect_sms:      {to, matches, within?, save_code?}
                                                   the next MT to `to` matches the regex
    dial:            {from, code?}                 open a USSD dialogue (service.ussd_code)
    ussd_reply:      {text}                        answer the screen on the open dialogue
    expect_screen:   {matches, ends?, within?}     the next screen matches; it ends or waits
    expect_registry: {imei, sim | national_id | detached}
                     {msisdn, status?, owner?}
                     {national_id, cartable_sims_include?, cartable_sims_exclude?, device_count?}

Numbers are normalised to 98XXXXXXXXXX (`flows.normalize.parse_msisdn`), IMEIs and national
IDs to ASCII digits, each checked. `{code}` in a text or a regex is the last code saved in the
scenario, `{wrong_code}` a 6-digit code that is certainly not it.
"""

from __future__ import annotations

import re
from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from flows.national_id import parse_national_id
from flows.normalize import parse_imei, parse_msisdn

CODE = "{code}"
WRONG_CODE = "{wrong_code}"
PLACEHOLDERS = (CODE, WRONG_CODE)
_USSD_CODE = re.compile(r"[*#][0-9*]*[0-9]#", re.ASCII)


def _msisdn(value: str) -> str:
    msisdn = parse_msisdn(value)
    if msisdn is None:
        raise ValueError(f"{value!r} is not an Iranian mobile number")
    return msisdn


def _imei(value: str) -> str:
    imei = parse_imei(value)
    if imei is None:
        raise ValueError(f"{value!r} is not a valid 15-digit IMEI (Luhn)")
    return imei


def _national_id(value: str) -> str:
    national_id = parse_national_id(value)
    if national_id is None:
        raise ValueError(f"{value!r} is not a valid national ID (check digit)")
    return national_id


def _regex(value: str) -> str:
    probe = value.replace(CODE, "100000").replace(WRONG_CODE, "100001")
    try:
        re.compile(probe)
    except re.error as exc:
        raise ValueError(f"{value!r} is not a valid regular expression: {exc}") from exc
    return value


def _ussd_code(value: str) -> str:
    if not _USSD_CODE.fullmatch(value):
        raise ValueError(f"{value!r} is not a USSD code such as *7777# or *7777*1#")
    return value


def _listed(value: object) -> object:
    return [value] if isinstance(value, str | int) else value


Msisdn = Annotated[str, AfterValidator(_msisdn)]
Imei = Annotated[str, AfterValidator(_imei)]
NationalId = Annotated[str, AfterValidator(_national_id)]
Regex = Annotated[str, Field(min_length=1), AfterValidator(_regex)]
Seconds = Annotated[float, Field(gt=0, le=600)]
Msisdns = Annotated[list[Msisdn], BeforeValidator(_listed)]


class StepArgs(BaseModel):
    """One step's arguments; `kind` is its key in the file."""

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)
    kind: ClassVar[str]

    def texts(self) -> tuple[str, ...]:
        """The strings in which `{code}` may stand."""
        return ()


class Send(StepArgs):
    kind: ClassVar[str] = "send"
    sender: Msisdn = Field(alias="from")
    text: str
    to: str | None = Field(None, min_length=1)

    def texts(self) -> tuple[str, ...]:
        return (self.text,)


class ExpectSms(StepArgs):
    kind: ClassVar[str] = "expect_sms"
    to: Msisdn
    matches: Regex
    within: Seconds | None = None
    save_code: bool = False

    def texts(self) -> tuple[str, ...]:
        return (self.matches,)


class Dial(StepArgs):
    kind: ClassVar[str] = "dial"
    sender: Msisdn = Field(alias="from")
    code: Annotated[str, AfterValidator(_ussd_code)] | None = None


class UssdReply(StepArgs):
    kind: ClassVar[str] = "ussd_reply"
    text: str

    def texts(self) -> tuple[str, ...]:
        return (self.text,)


class ExpectScreen(StepArgs):
    kind: ClassVar[str] = "expect_screen"
    matches: Regex
    ends: bool | None = None
    within: Seconds | None = None

    def texts(self) -> tuple[str, ...]:
        return (self.matches,)


class ExpectDevice(StepArgs):
    """Where a device is: the SIM cartable of `sim`, or the national-ID cartable of `national_id`."""

    kind: ClassVar[str] = "expect_registry"
    imei: Imei
    sim: Msisdn | None = None
    national_id: NationalId | None = None
    detached: bool | None = None

    @model_validator(mode="after")
    def _one_home(self) -> ExpectDevice:
        if self.sim is not None and self.national_id is not None:
            raise ValueError("a device has one home: give sim or national_id, not both")
        if (self.sim, self.national_id, self.detached) == (None, None, None):
            raise ValueError("nothing to expect: give sim, national_id or detached")
        return self


class ExpectSim(StepArgs):
    kind: ClassVar[str] = "expect_registry"
    msisdn: Msisdn
    status: Literal["active", "expired"] | None = None
    owner: NationalId | None = None

    @model_validator(mode="after")
    def _something(self) -> ExpectSim:
        if self.status is None and self.owner is None:
            raise ValueError("nothing to expect: give status or owner")
        return self


class ExpectPerson(StepArgs):
    kind: ClassVar[str] = "expect_registry"
    national_id: NationalId
    cartable_sims_include: Msisdns = []
    cartable_sims_exclude: Msisdns = []
    device_count: int | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _something(self) -> ExpectPerson:
        if not (self.cartable_sims_include or self.cartable_sims_exclude) and self.device_count is None:
            raise ValueError("nothing to expect: give cartable_sims_include, cartable_sims_exclude "
                             "or device_count")
        return self


ExpectRegistry = ExpectDevice | ExpectSim | ExpectPerson
Step = Send | ExpectSms | Dial | UssdReply | ExpectScreen | ExpectRegistry
PLAIN_STEPS: dict[str, type[StepArgs]] = {
    model.kind: model for model in (Send, ExpectSms, Dial, UssdReply, ExpectScreen)
}
STEP_KINDS = (*PLAIN_STEPS, "expect_registry")


def registry_model(args: dict[str, object]) -> type[ExpectDevice | ExpectSim | ExpectPerson]:
    """Which registry record an `expect_registry` step is about, by the key naming it."""
    if "imei" in args:
        return ExpectDevice
    if "msisdn" in args:
        return ExpectSim
    if "national_id" in args:
        return ExpectPerson
    raise ValueError("name the record: imei, msisdn or national_id")
