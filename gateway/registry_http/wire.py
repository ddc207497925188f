"""The registry API's paths and bodies (docs/registry-api.yaml), shared by client and server so
the two cannot drift; the contract tests hold both to the OpenAPI file.

Every personal identifier travels in a POST body, never in a URL (URLs end up in access logs).
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

SIM_CHECK: Final = "/v1/sims/check"
DEVICE_CHECK: Final = "/v1/devices/check"
CARTABLE_SUMMARY: Final = "/v1/cartables/summary"
VERIFY_BIRTH_DATE: Final = "/v1/people/verify-birth-date"
RESTORE_DEVICE: Final = "/v1/devices/restore"
RECOVER_PASSWORD: Final = "/v1/cartables/recover-password"
STATUS: Final = "/v1/status"

PROBLEM_JSON: Final = "application/problem+json"
IDEMPOTENCY_KEY: Final = "Idempotency-Key"
REPLAYED: Final = "Idempotent-Replayed"

Msisdn = Annotated[str, StringConstraints(pattern=r"^98[0-9]{10}$")]
Imei = Annotated[str, StringConstraints(pattern=r"^[0-9]{15}$")]
NationalId = Annotated[str, StringConstraints(pattern=r"^[0-9]{10}$")]
JalaliDate = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}/[0-9]{2}/[0-9]{2}$")]
MessageId = Annotated[str, StringConstraints(pattern=r"^[!-~]{1,128}$")]
SCRYPT_HASH: Final = r"^scrypt\$[0-9]+\$[0-9]+\$[0-9]+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$"
IDEMPOTENCY_KEY_PATTERN: Final = r"^[A-Za-z0-9_-]{8,64}$"
Outcome = Literal["applied", "already_applied", "conflict"]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SimCheckRequest(Body):
    msisdn: Msisdn
    national_id: NationalId | None = None


class SimCheckResponse(Body):
    status: Literal["active", "expired"]
    has_owner: bool
    owner_matches: bool
    in_owner_cartable: bool


class DeviceCheckRequest(Body):
    imei: Imei
    requester_msisdn: Msisdn
    old_msisdn: Msisdn


class DeviceCheckResponse(Body):
    in_national_id_cartable: bool
    owner_is_requester: bool
    on_old_sim: bool
    on_requester_sim: bool
    attached: bool


class CartableSummaryRequest(Body):
    national_id: NationalId
    requester_msisdn: Msisdn


class CartableSummaryResponse(Body):
    sim_count: int = Field(ge=0)
    usable_sims_masked: list[Annotated[str, StringConstraints(pattern=r"^0[0-9]{3}\*\*\*[0-9]{4}$")]]
    requester_usable: bool
    device_count: int = Field(ge=0)


class VerifyBirthDateRequest(Body):
    national_id: NationalId
    birth_date: JalaliDate


class VerifyBirthDateResponse(Body):
    match: bool


class RestoreDeviceRequest(Body):
    imei: Imei
    from_msisdn: Msisdn
    requester_msisdn: Msisdn
    destination: Literal["sim_cartable", "national_id_cartable"]
    message_id: MessageId

    def fingerprint_fields(self) -> dict[str, object]:
        """What a repeated key must repeat: the change, not the message asking for it (a
        later message of the same dialog may retry it)."""
        return self.model_dump(exclude={"message_id"})


class RestoreDeviceResponse(Body):
    result: Outcome


class RecoverPasswordRequest(Body):
    national_id: NationalId
    requester_msisdn: Msisdn
    add_requester: bool
    # The gateway's scrypt hash of the new password (flows/password_hash.py); the clear
    # password never reaches the registry.
    password_hash: Annotated[str, StringConstraints(pattern=SCRYPT_HASH, max_length=256)]
    message_id: MessageId

    def fingerprint_fields(self) -> dict[str, object]:
        """A retry hashes the same password with a new salt: the hash is not compared."""
        return self.model_dump(exclude={"message_id", "password_hash"})


class RecoverPasswordResponse(Body):
    result: Outcome
    device_count: int = Field(ge=0)


class StatusResponse(Body):
    status: Literal["ready"]
