"""The wire format of the rules Relance follows: a merchant's dunning policy and what decline
codes mean."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from relance.domain.policy import Anchor, DunningPolicy, MessageStep
from relance.services.declines import Explanation


class PolicyStepOut(BaseModel):
    key: str
    kind: str
    anchor: str = Field(description="failure, due_date, card_expiry or event.")
    offset_days: int = Field(
        description="After the failure; before the due date or the card's expiry; 0 for events."
    )
    channels: list[str]
    tone: str
    template: str

    @classmethod
    def of(cls, s: MessageStep) -> PolicyStepOut:
        return cls(
            key=s.key,
            kind=s.kind.value,
            anchor=s.anchor.value,
            offset_days=s.offset_days,
            channels=list(s.channels),
            tone=s.tone.value,
            template=s.template,
        )


class PolicyOut(BaseModel):
    object: Literal["policy"] = "policy"
    name: str
    version: int
    retry_days: list[int]
    reminder_days: dict[str, int] = Field(
        description="The steps counted from the failure: key -> days after it."
    )
    steps: list[PolicyStepOut]
    segments: dict[str, list[PolicyStepOut]] = Field(
        description="Customer segments with a sequence of their own."
    )
    exhaust_day: int
    source: str

    @classmethod
    def of(cls, policy: DunningPolicy, source: str) -> PolicyOut:
        return cls(
            name=policy.name,
            version=policy.version,
            retry_days=list(policy.retry_days),
            reminder_days={
                s.key: s.offset_days for s in policy.steps if s.anchor is Anchor.FAILURE
            },
            steps=[PolicyStepOut.of(s) for s in policy.steps],
            segments={
                name: [PolicyStepOut.of(s) for s in steps]
                for name, steps in policy.segments.items()
            },
            exhaust_day=policy.exhaust_day,
            source=source,
        )


class DeclineOut(BaseModel):
    object: Literal["decline_code"] = "decline_code"
    scheme: str
    code: str
    reason: str
    retry_class: str
    description: str
    merchant_explanation: str
    recommended_action: str
    customer_message: dict[str, str]
    visa_category: int | None
    retry_after_hours: int | None
    source: str
    effective: str

    @classmethod
    def of(cls, e: Explanation) -> DeclineOut:
        return cls(
            scheme=e.entry.scheme,
            code=e.entry.code,
            reason=e.entry.reason,
            retry_class=e.entry.retry_class.value,
            description=e.entry.description,
            merchant_explanation=e.merchant,
            recommended_action=e.action,
            customer_message=e.customer,
            visa_category=e.entry.visa_category,
            retry_after_hours=e.entry.retry_after_hours,
            source=e.entry.source,
            effective=e.entry.effective,
        )
