"""The unsigned messages: device status (retained, also the will) and the hub's receipt (PROTOCOL.md §2, §7)."""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from protocol.events import Count


class DeviceStatus(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    state: Literal["online", "offline"]
    boot: Annotated[str, Field(max_length=64)]
    fw: Annotated[str, Field(max_length=64)]


class Receipt(BaseModel):
    """The hub has durably stored every event of this device with `seq <= acked_seq`."""

    model_config = ConfigDict(extra="allow", frozen=True)

    acked_seq: Count
