"""The vocabulary of a concern: categories, urgency, status, roles (seeds 001, 002, 004; DOMAIN.md)."""

from __future__ import annotations

from enum import StrEnum


class Category(StrEnum):
    GROOMING = "grooming"
    CYBERBULLYING = "cyberbullying"
    SOCIAL_NETWORKING = "social_networking"
    NUDES = "nudes"
    GAMING = "gaming"
    UNDERAGE_FILMS_GAMES = "underage_films_games"
    CAMERA_IMAGES = "camera_images"
    HARMFUL_CONTENT = "harmful_content"
    RADICALISATION = "radicalisation"
    IDENTITY_PASSWORD = "identity_password"
    DATA_DEVICE_LOSS = "data_device_loss"
    FILTERING_FAILURE = "filtering_failure"
    OTHER = "other"

    @property
    def label(self) -> str:
        return CATEGORY_LABELS[self]


CATEGORY_LABELS: dict[Category, str] = {
    Category.GROOMING: "Grooming",
    Category.CYBERBULLYING: "Cyberbullying",
    Category.SOCIAL_NETWORKING: "Misuse of social networking",
    Category.NUDES: "Sharing nudes / semi-nudes",
    Category.GAMING: "Gaming",
    Category.UNDERAGE_FILMS_GAMES: "Underage films or games",
    Category.CAMERA_IMAGES: "Misuse of camera or images",
    Category.HARMFUL_CONTENT: "Harmful content",
    Category.RADICALISATION: "Radicalisation / extremism",
    Category.IDENTITY_PASSWORD: "Identity or password misuse",
    Category.DATA_DEVICE_LOSS: "Personal data or device loss",
    Category.FILTERING_FAILURE: "Filtering failure",
    Category.OTHER: "Other",
}


class Urgency(StrEnum):
    IMMEDIATE = "immediate"
    URGENT = "urgent"
    ROUTINE = "routine"

    @property
    def label(self) -> str:
        return URGENCY_LABELS[self]


URGENCY_LABELS: dict[Urgency, str] = {
    Urgency.IMMEDIATE: "Immediate risk of harm",
    Urgency.URGENT: "Urgent (today)",
    Urgency.ROUTINE: "Routine",
}


class Status(StrEnum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class SubjectKind(StrEnum):
    """Who a concern is about: the reporter's choice, refined by the named person's roles (routing)."""

    PUPIL = "pupil"
    STAFF = "staff"
    VOLUNTEER = "volunteer"  # volunteer, contractor, supply or tutor
    GOVERNOR = "governor"
    CHAIR = "chair_of_governors"
    HEADTEACHER = "headteacher"
    DSL_MEMBER = "dsl_member"  # never chosen: a member of staff who is on the DSL team
    PARENT_VISITOR = "parent_visitor"
    NOBODY = "nobody"  # a technical or data matter

    @property
    def is_adult(self) -> bool:
        return self not in (SubjectKind.PUPIL, SubjectKind.PARENT_VISITOR, SubjectKind.NOBODY)


class Role(StrEnum):
    DSL = "dsl"
    DEPUTY_DSL = "deputy_dsl"
    HEADTEACHER = "headteacher"
    CHAIR_OF_GOVERNORS = "chair_of_governors"
    ONLINE_SAFETY_GOVERNOR = "online_safety_governor"
    DPO = "dpo"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS: dict[Role, str] = {
    Role.DSL: "Designated Safeguarding Lead",
    Role.DEPUTY_DSL: "Deputy DSL",
    Role.HEADTEACHER: "Headteacher",
    Role.CHAIR_OF_GOVERNORS: "Chair of governors",
    Role.ONLINE_SAFETY_GOVERNOR: "Online safety governor",
    Role.DPO: "Data protection officer",
}

DSL_TEAM: frozenset[Role] = frozenset({Role.DSL, Role.DEPUTY_DSL})
