"""Command data: units, tasks and their feedback, inspections and findings, response levels and risk areas."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from fangkong.accounts.roles import WorkingGroup


def _path_index(field: str, name: str) -> models.Index:
    return models.Index(fields=[field], name=name, opclasses=["varchar_pattern_ops"])


class Unit(models.Model):
    """The headquarters, its leading group, a working group or another body of one node."""

    class Kind(models.TextChoices):
        HQ = "hq", _("Headquarters")
        LEADING_GROUP = "leading_group", _("Leading group")
        WORKING_GROUP = "working_group", _("Working group")
        OTHER = "other", _("Other")

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    jurisdiction = models.ForeignKey(
        "geo.Jurisdiction", on_delete=models.PROTECT, related_name="+", verbose_name=_("node")
    )
    path = models.CharField(max_length=255)
    working_group = models.CharField(
        _("working group"), max_length=16, choices=WorkingGroup.choices, blank=True
    )

    class Meta:
        ordering = ["path", "kind", "name"]
        verbose_name = _("unit")
        constraints = [
            models.UniqueConstraint(fields=["jurisdiction", "name"], name="unit_unique_name")
        ]
        indexes = [_path_index("path", "unit_path_like")]

    def __str__(self) -> str:
        return self.name


class Priority(models.TextChoices):
    URGENT = "urgent", _("Urgent")
    HIGH = "high", _("High")
    NORMAL = "normal", _("Normal")


class Task(models.Model):
    class State(models.TextChoices):
        OPEN = "open", _("Open")
        IN_PROGRESS = "in_progress", _("In progress")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    ACTIVE = (State.OPEN, State.IN_PROGRESS)

    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    deadline = models.DateTimeField(_("deadline"))
    priority = models.CharField(
        _("priority"), max_length=8, choices=Priority.choices, default=Priority.NORMAL
    )
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.OPEN)
    percent = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    # Exactly one assignee: flat command reaches a unit, a grid (any node) or one person directly.
    assignee_unit = models.ForeignKey(
        Unit, null=True, blank=True, on_delete=models.PROTECT, related_name="tasks"
    )
    assignee_node = models.ForeignKey(
        "geo.Jurisdiction", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    assignee_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assigned_tasks",
    )
    dispatcher = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="dispatched_tasks"
    )
    # Both sides see the task: the dispatcher's subtree and the assignee's subtree.
    dispatcher_path = models.CharField(max_length=255)
    assignee_path = models.CharField(max_length=255)
    escalation_level = models.PositiveSmallIntegerField(_("escalation level"), default=0)
    escalated_at = models.DateTimeField(_("escalated"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["deadline", "id"]
        verbose_name = _("task")
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(
                        assignee_unit__isnull=False,
                        assignee_node__isnull=True,
                        assignee_user__isnull=True,
                    )
                    | Q(
                        assignee_unit__isnull=True,
                        assignee_node__isnull=False,
                        assignee_user__isnull=True,
                    )
                    | Q(
                        assignee_unit__isnull=True,
                        assignee_node__isnull=True,
                        assignee_user__isnull=False,
                    )
                ),
                name="task_one_assignee",
            ),
            models.CheckConstraint(condition=Q(percent__lte=100), name="task_percent_max"),
        ]
        indexes = [
            _path_index("dispatcher_path", "task_dispatcher_like"),
            _path_index("assignee_path", "task_assignee_like"),
            models.Index(fields=["state", "deadline"], name="task_state_deadline"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def assignee(self):
        return self.assignee_unit or self.assignee_node or self.assignee_user


class TaskUpdate(models.Model):
    """One line of a task's history: progress feedback, a state change or an escalation."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Dispatched")
        FEEDBACK = "feedback", _("Feedback")
        STATE = "state", _("State change")
        ESCALATED = "escalated", _("Escalated")

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="updates")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    text = models.TextField(_("text"), blank=True)
    percent = models.PositiveSmallIntegerField(_("progress (%)"), null=True, blank=True)
    attachment = models.FileField(_("attachment"), upload_to="command/tasks/%Y/%m/", blank=True)
    at = models.DateTimeField(_("time"), auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("task update")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.text[:40]}"


# --- inspections -----------------------------------------------------------------------------


class ChecklistTemplate(models.Model):
    """An editable checklist: the six gates and their check items (the default ships as data)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("checklist template")

    def __str__(self) -> str:
        return self.name


class Gate(models.Model):
    template = models.ForeignKey(ChecklistTemplate, on_delete=models.CASCADE, related_name="gates")
    code = models.CharField(_("code"), max_length=32)
    name = models.CharField(_("name"), max_length=100)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["template", "order", "id"]
        verbose_name = _("gate")
        constraints = [
            models.UniqueConstraint(fields=["template", "code"], name="gate_unique_code")
        ]

    def __str__(self) -> str:
        return self.name


class CheckItem(models.Model):
    gate = models.ForeignKey(Gate, on_delete=models.CASCADE, related_name="items")
    text = models.CharField(_("check item"), max_length=300)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["gate__order", "order", "id"]
        verbose_name = _("check item")

    def __str__(self) -> str:
        return self.text


class Inspection(models.Model):
    class State(models.TextChoices):
        DRAFT = "draft", _("Checklist in progress")
        SUBMITTED = "submitted", _("Rectification under way")
        CLOSED = "closed", _("Closed")

    inspector = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="inspections"
    )
    place = models.CharField(_("place"), max_length=200)
    jurisdiction = models.ForeignKey(
        "geo.Jurisdiction", on_delete=models.PROTECT, related_name="+", verbose_name=_("node")
    )
    jpath = models.CharField(max_length=255)
    # "Four nos, two directs": no notice, no greeting, no escort, no reception.
    unannounced = models.BooleanField(_("unannounced visit"), default=False)
    template = models.ForeignKey(ChecklistTemplate, on_delete=models.PROTECT, related_name="+")
    visited_at = models.DateTimeField(_("visited"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.DRAFT)
    notes = models.TextField(_("notes"), blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    class Meta:
        ordering = ["-visited_at", "-id"]
        verbose_name = _("inspection")
        indexes = [_path_index("jpath", "inspection_jpath_like")]

    def __str__(self) -> str:
        return self.place


class Answer(models.Model):
    class Result(models.TextChoices):
        OK = "ok", _("OK")
        FINDING = "finding", _("Finding")

    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="answers")
    item = models.ForeignKey(CheckItem, on_delete=models.PROTECT, related_name="+")
    result = models.CharField(_("result"), max_length=8, choices=Result.choices)
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("answer")
        constraints = [
            models.UniqueConstraint(fields=["inspection", "item"], name="answer_unique_item")
        ]

    def __str__(self) -> str:
        return f"{self.item_id}: {self.result}"


class Finding(models.Model):
    class State(models.TextChoices):
        OPEN = "open", _("Open")
        RECTIFIED = "rectified", _("Rectified, awaiting acceptance")
        ACCEPTED = "accepted", _("Accepted")

    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="findings")
    item = models.ForeignKey(
        CheckItem, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    description = models.TextField(_("finding"))
    responsible_unit = models.ForeignKey(
        Unit, null=True, blank=True, on_delete=models.PROTECT, related_name="findings"
    )
    responsible_node = models.ForeignKey(
        "geo.Jurisdiction", on_delete=models.PROTECT, related_name="+"
    )
    # The responsible side's path: they see it and close it; the inspection's path is the other side.
    jpath = models.CharField(max_length=255)
    inspection_path = models.CharField(max_length=255)
    deadline = models.DateField(_("rectify by"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.OPEN)
    evidence_text = models.TextField(_("evidence"), blank=True)
    evidence_file = models.FileField(
        _("evidence file"), upload_to="command/findings/%Y/%m/", blank=True
    )
    rectified_at = models.DateTimeField(_("rectified"), null=True, blank=True)
    rectified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    rejection = models.TextField(_("reason sent back"), blank=True)

    class Meta:
        ordering = ["deadline", "id"]
        verbose_name = _("finding")
        indexes = [
            _path_index("jpath", "finding_cmd_jpath_like"),
            _path_index("inspection_path", "finding_insp_path_like"),
        ]

    def __str__(self) -> str:
        return self.description[:60]


# --- response levels and risk areas ----------------------------------------------------------


class ResponseLevel(models.Model):
    """One declaration of the public-health emergency response level; the latest is in force."""

    class Level(models.IntegerChoices):
        I = 1, _("Level I")  # noqa: E741 - the official name of the level
        II = 2, _("Level II")
        III = 3, _("Level III")
        IV = 4, _("Level IV")

    jurisdiction = models.ForeignKey("geo.Jurisdiction", on_delete=models.PROTECT, related_name="+")
    jpath = models.CharField(max_length=255)
    level = models.PositiveSmallIntegerField(_("response level"), choices=Level.choices)
    declared_at = models.DateTimeField(_("declared"))
    declared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField(_("reason"), blank=True)

    class Meta:
        ordering = ["-declared_at", "-id"]
        verbose_name = _("response level")
        constraints = [
            models.CheckConstraint(
                condition=Q(level__gte=1) & Q(level__lte=4), name="response_level_range"
            )
        ]
        indexes = [_path_index("jpath", "response_jpath_like")]

    def __str__(self) -> str:
        return str(self.get_level_display())


class RiskLevel(models.TextChoices):
    HIGH = "high", _("High risk")
    MEDIUM = "medium", _("Medium risk")
    LOW = "low", _("Low risk")
    SEALED = "sealed", _("Sealed zone")
    CONTROLLED = "controlled", _("Controlled zone")
    PRECAUTION = "precaution", _("Precaution zone")


# Lower is more severe; an arrival matching two areas is held to the stricter one.
SEVERITY = {
    RiskLevel.HIGH: 0,
    RiskLevel.SEALED: 0,
    RiskLevel.MEDIUM: 1,
    RiskLevel.CONTROLLED: 1,
    RiskLevel.LOW: 2,
    RiskLevel.PRECAUTION: 2,
}


class RiskArea(models.Model):
    """A risk area of this city (on a node or a building) or of another city (imported by name)."""

    class Preset(models.TextChoices):
        JUN_2022 = "2022-06", _("Jun 2022: high / medium / low")
        NOV_2022 = "2022-11", _("Nov 2022: high / low")
        ZONES = "zones", _("Sealed / controlled / precaution zones")

    name = models.CharField(_("name"), max_length=200)
    level = models.CharField(_("level"), max_length=12, choices=RiskLevel.choices)
    preset = models.CharField(
        _("policy preset"), max_length=8, choices=Preset.choices, default=Preset.JUN_2022
    )
    jurisdiction = models.ForeignKey(
        "geo.Jurisdiction", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    building = models.ForeignKey(
        "geo.Building", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Local areas: the node's path (a building's grid). Imported areas: empty, seen by everyone.
    jpath = models.CharField(max_length=255, blank=True)
    external = models.BooleanField(_("other city"), default=False)
    province = models.CharField(_("province"), max_length=40, blank=True)
    city = models.CharField(_("city"), max_length=40, blank=True)
    district = models.CharField(_("district"), max_length=40, blank=True)
    external_key = models.CharField(max_length=200, unique=True, null=True, blank=True)
    since = models.DateField(_("since"))
    # The day the current level took effect: each downgrade step needs its own clean period.
    level_since = models.DateField(_("level since"))
    reason = models.TextField(_("reason"), blank=True)
    ended_on = models.DateField(_("ended"), null=True, blank=True)
    last_case_on = models.DateField(_("last case"), null=True, blank=True)
    negative_round_on = models.DateField(_("last all-negative test round"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["ended_on", "level", "name"]
        verbose_name = _("risk area")
        constraints = [
            models.CheckConstraint(
                condition=Q(external=True)
                | Q(jurisdiction__isnull=False)
                | Q(building__isnull=False),
                name="riskarea_local_has_place",
            )
        ]
        indexes = [
            _path_index("jpath", "riskarea_jpath_like"),
            models.Index(fields=["ended_on", "external"], name="riskarea_active"),
        ]

    def __str__(self) -> str:
        return self.name


class Proposal(models.Model):
    """A downgrade (or lifting) the daily review proposes and HQ approves or rejects."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    area = models.ForeignKey(RiskArea, on_delete=models.CASCADE, related_name="proposals")
    # "from"/"to" alone are times elsewhere (起/止); here they are levels (原级别/调整为).
    from_level = models.CharField(
        pgettext_lazy("risk level", "from"), max_length=12, choices=RiskLevel.choices
    )
    # Empty: lift the area altogether.
    to_level = models.CharField(
        pgettext_lazy("risk level", "to"), max_length=12, choices=RiskLevel.choices, blank=True
    )
    proposed_on = models.DateField(_("proposed"))
    clean_days = models.PositiveSmallIntegerField(_("days without a case"))
    reason = models.TextField(_("reason"), blank=True)
    state = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.PENDING
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-proposed_on", "-id"]
        verbose_name = _("risk area proposal")
        constraints = [
            models.UniqueConstraint(
                fields=["area"], condition=Q(state="pending"), name="proposal_one_pending"
            )
        ]

    def __str__(self) -> str:
        return f"{self.area_id}: {self.from_level} -> {self.to_level or '-'}"


# --- daily reports (三级登记报告) and bulletins ------------------------------------------------


class DailyReport(models.Model):
    """One node's report for one day: figures assembled from the modules, plus what the unit
    fills in; signed by the node's own staff once every report below it is signed."""

    class State(models.TextChoices):
        DRAFT = "draft", _("Not signed")
        SIGNED = "signed", _("Signed")

    jurisdiction = models.ForeignKey(
        "geo.Jurisdiction", on_delete=models.PROTECT, related_name="+", verbose_name=_("node")
    )
    jpath = models.CharField(max_length=255)
    level = models.CharField(_("level"), max_length=16)
    day = models.DateField(_("day"))
    state = models.CharField(_("state"), max_length=8, choices=State.choices, default=State.DRAFT)
    # {"cases_confirmed": 3, ...}: the modules' figures for the node's subtree, frozen at signing.
    figures = models.JSONField(_("figures"), default=dict, blank=True)
    # The sum (or minimum) of the signed reports one level down, frozen at signing.
    rollup = models.JSONField(_("roll-up of the reports below"), default=dict, blank=True)
    # What the unit fills in: numbers (summed upwards) and text.
    entries = models.JSONField(_("entries"), default=dict, blank=True)
    due_at = models.DateTimeField(_("due"))
    signed_at = models.DateTimeField(_("signed"), null=True, blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Who signed, as shown on the report: the user's name, or the name an operator entered for a
    # report that came in by phone or paper (a town's, 镇村组三级登记报告).
    signer = models.CharField(_("signed by"), max_length=60, blank=True)
    late = models.BooleanField(_("late"), default=False)
    assembled_at = models.DateTimeField(_("assembled"), null=True, blank=True)

    class Meta:
        ordering = ["-day", "jpath"]
        verbose_name = _("daily report")
        constraints = [
            models.UniqueConstraint(fields=["jurisdiction", "day"], name="dailyreport_node_day")
        ]
        indexes = [
            _path_index("jpath", "dailyreport_jpath_like"),
            models.Index(fields=["day", "state"], name="dailyreport_day_state"),
        ]

    def __str__(self) -> str:
        return f"{self.jurisdiction_id} {self.day}"


class Bulletin(models.Model):
    """The daily public bulletin (通报) of one node, in Chinese and English: generated from the
    data as a draft, edited, approved, then published as HTML and PDF."""

    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        APPROVED = "approved", _("Approved")
        PUBLISHED = "published", _("Published")

    jurisdiction = models.ForeignKey(
        "geo.Jurisdiction", on_delete=models.PROTECT, related_name="+", verbose_name=_("node")
    )
    jpath = models.CharField(max_length=255)
    day = models.DateField(_("day"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.DRAFT)
    title_zh = models.CharField(_("title (Chinese)"), max_length=200)
    body_zh = models.TextField(_("text (Chinese)"))
    title_en = models.CharField(_("title (English)"), max_length=200, blank=True)
    body_en = models.TextField(_("text (English)"), blank=True)
    # The anonymised figures the text was generated from, kept for the record.
    data = models.JSONField(default=dict, blank=True)
    edited = models.BooleanField(_("edited by hand"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("generated"), auto_now_add=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(_("approved"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    pdf = models.FileField(_("PDF"), upload_to="command/bulletins/%Y/%m/", blank=True)

    class Meta:
        ordering = ["-day", "-id"]
        verbose_name = _("bulletin")
        constraints = [
            models.UniqueConstraint(fields=["jurisdiction", "day"], name="bulletin_node_day")
        ]
        indexes = [_path_index("jpath", "bulletin_jpath_like")]

    def __str__(self) -> str:
        return self.title_zh
