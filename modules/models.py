"""The module cache's tables.

A ModuleVersion row in state READY is the commit marker of a cached version: its
.info/.mod/.zip objects were written to storage before the row was committed, so an
object without a READY row (a crash mid-fetch) is never served. Once READY, the bytes
never change.
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Cast


class Module(models.Model):
    """A module path the proxy has cached at least one version of."""

    path = models.CharField(max_length=1024, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["path"]

    def __str__(self):
        return self.path


class ModuleVersion(models.Model):
    """One cached version of a module: its .info, its go.mod and where its zip is stored."""

    class State(models.TextChoices):
        READY = "ready", "Ready"

    module = models.ForeignKey(Module, on_delete=models.PROTECT, related_name="versions")
    version = models.CharField(max_length=255)
    state = models.CharField(max_length=16, choices=State.choices, default=State.READY)
    # The .info body exactly as the upstream served it, and its Time (the commit or tag
    # time), NULL when the upstream's .info has none (the go command does not need it).
    info = models.TextField()
    time = models.DateTimeField(null=True, blank=True)
    # go.mod bytes exactly as the upstream served them: never rewritten.
    go_mod = models.BinaryField()
    zip_key = models.CharField(max_length=1500)
    # Each artifact is committed on its own (issue 12): a `.info` or `.mod` request caches
    # the .info and go.mod only, and the row is READY with zip_cached False (zip_size 0,
    # zip_hash ""); the zip is fetched when it is asked for, and zip_cached, its size and
    # hash are set in one UPDATE after it is stored. A zip object without zip_cached is
    # never served.
    zip_cached = models.BooleanField(default=True, db_default=True)
    zip_size = models.BigIntegerField()
    # The go.sum hashes: `<module> <version> h1:...` and `<module> <version>/go.mod h1:...`.
    zip_hash = models.CharField(max_length=64)
    mod_hash = models.CharField(max_length=64)
    upstream = models.CharField(max_length=500)
    fetched_at = models.DateTimeField(auto_now_add=True)
    # What the go command accepts but would not have produced itself, found at fetch:
    # [{"code": "legacy-go-mod", "message": "..."}] (codes in goproxy.zipcheck).
    notices = models.JSONField(default=list, blank=True, db_default=Cast(models.Value("[]"), models.JSONField()))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["module", "version"], name="unique_module_version"),
        ]
        indexes = [models.Index(fields=["module", "state"], name="moduleversion_module_state")]
        # The cache-changing actions of the UI (athens_site/permissions.py).
        permissions = [
            ("fetch_moduleversion", "Can fetch a version into the cache"),
            ("evict_moduleversion", "Can evict a version from the cache"),
        ]

    def __str__(self):
        return f"{self.module.path}@{self.version}"

    @property
    def notice_codes(self) -> list[str]:
        return sorted({notice.get("code", "") for notice in self.notices or []})


class UpstreamListing(models.Model):
    """The last successful answers of the upstreams for a module's list and @latest.

    Kept so that a build that worked yesterday keeps working while the upstream is down
    (network mode `fallback`).
    """

    module_path = models.CharField(max_length=1024, unique=True)
    versions = models.TextField(blank=True, default="")
    listed_at = models.DateTimeField(null=True, blank=True)
    latest_info = models.TextField(blank=True, default="")
    latest_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return self.module_path

    @property
    def version_list(self) -> list[str]:
        return self.versions.split()


class FetchFailure(models.Model):
    """A negative cache entry: the upstreams could not give us this target recently.

    `target` is a version, or `@v/list` / `@latest`. Until `expires_at` the proxy answers
    the same error again without asking the upstreams, so the go command's probes of
    every path prefix do not each cost an upstream round trip.
    """

    module_path = models.CharField(max_length=1024)
    target = models.CharField(max_length=255)
    http_status = models.PositiveSmallIntegerField()
    message = models.TextField()  # the whole story, for staff
    # What the client is told (upstreams/errors.py); empty for rows from before it existed.
    public_message = models.TextField(blank=True, default="")
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["module_path", "target"], name="unique_fetch_failure"),
        ]

    def __str__(self):
        return f"{self.module_path} {self.target}: {self.http_status}"


class ResolvedQuery(models.Model):
    """A non-canonical `.info` query (branch, commit, `v1.2`) and what it resolved to.

    Reused for ATHENS_QUERY_TTL seconds: a branch moves, so this is a cache, never a
    commitment; `.mod` and `.zip` are only served for canonical versions.
    """

    module_path = models.CharField(max_length=1024)
    query = models.CharField(max_length=255)
    info = models.TextField()
    resolved_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "resolved queries"
        constraints = [
            models.UniqueConstraint(fields=["module_path", "query"], name="unique_resolved_query"),
        ]

    def __str__(self):
        return f"{self.module_path}@{self.query}"


class DownloadModeRule(models.Model):
    """What a cache miss does for modules matching `pattern` (overrides ATHENS_DOWNLOAD_MODE).

    Rules are tried in ascending `position`; the first whose pattern matches wins.
    """

    class Mode(models.TextChoices):
        SYNC = "sync", "sync: fetch now and answer"
        ASYNC = "async", "async: 404 now, fetch in the background"
        REDIRECT = "redirect", "redirect: 302 to the upstream"
        ASYNC_REDIRECT = "async_redirect", "async_redirect: 302 to the upstream and fetch in the background"
        NONE = "none", "none: 404, never fetch"

    pattern = models.CharField(
        max_length=1024,
        help_text="Module path patterns in GOPRIVATE syntax (comma-separated globs, e.g. "
        "<code>github.com/acme/*,example.com/big</code>); a pattern also matches everything below it.",
    )
    mode = models.CharField(max_length=16, choices=Mode.choices)
    position = models.PositiveIntegerField(default=100, help_text="Lower positions are tried first.")
    note = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self):
        return f"{self.pattern} → {self.mode}"

    def clean(self):
        self.pattern = ",".join(part.strip() for part in self.pattern.split(",") if part.strip())
        if not self.pattern:
            raise ValidationError({"pattern": "Enter at least one module path pattern."})
        if any(char.isspace() for char in self.pattern):
            raise ValidationError({"pattern": "Patterns cannot contain spaces; separate them with commas."})


class PolicyRule(models.Model):
    """An allow or deny rule for module versions, managed by the security team.

    Which rule decides is in modules/policy/rules.py: the most specific matching rule wins,
    at equal specificity deny wins; ATHENS_POLICY says what happens when none matches.
    """

    class Action(models.TextChoices):
        ALLOW = "allow", "allow"
        DENY = "deny", "deny"

    pattern = models.CharField(
        max_length=1024,
        help_text="A module path pattern (GOPRIVATE-style glob): <code>github.com/evil/*</code>; "
        "it matches its own path and everything under it. <code>*</code> matches every module.",
    )
    versions = models.CharField(
        max_length=255, blank=True, default="",
        help_text="Empty or <code>*</code> for every version, <code>v1.2.3</code>, <code>&lt;v1.4.2</code>, "
        "<code>&gt;=v2.0.0 &lt;v2.3.0</code> (Go semver order, pre-releases and pseudo-versions included).",
    )
    action = models.CharField(max_length=8, choices=Action.choices)
    reason = models.CharField(max_length=500, blank=True, help_text="Shown to the go command's user.")
    enabled = models.BooleanField(default=True)
    expires = models.DateTimeField(null=True, blank=True, help_text="After this time the rule no longer applies.")
    min_age_days = models.PositiveIntegerField(
        null=True, blank=True,
        help_text="Quarantine: versions this proxy first fetched fewer than this many days ago are treated as denied.",
    )
    # Empty: the rule is everyone's. Otherwise it applies only to requests of users in
    # one of these groups (identified by a proxy token, modules/tokens/client_auth.py),
    # and outranks an everyone-rule of the same pattern and versions.
    groups = models.ManyToManyField(
        "auth.Group", blank=True, related_name="policy_rules",
        help_text="Leave empty for a rule that applies to everyone. With groups, the rule applies only to "
        "downloads by members of one of them (identified by a proxy token), and outranks an everyone-rule "
        "of the same pattern and versions. A deny rule for a group holds only with ATHENS_CLIENT_AUTH=required: "
        "otherwise its members can download without their token.",
    )
    created_by = models.CharField(max_length=150, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_by = models.CharField(max_length=150, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["pattern", "versions", "id"]
        indexes = [models.Index(fields=["enabled"], name="policyrule_enabled")]

    def __str__(self):
        versions = f" {self.versions}" if self.versions else ""
        return f"#{self.pk} {self.action} {self.pattern}{versions}"

    def clean(self):
        from modules.goproxy.constraints import InvalidConstraintError, InvalidPatternError, parse_constraint, validate_pattern

        errors = {}
        try:
            self.pattern = validate_pattern(self.pattern or "")
        except InvalidPatternError as exc:
            errors["pattern"] = str(exc)
        try:
            self.versions = str(parse_constraint(self.versions or ""))
        except InvalidConstraintError as exc:
            errors["versions"] = str(exc)
        if errors:
            raise ValidationError(errors)


class PolicyRuleChange(models.Model):
    """One change to a PolicyRule: who, when, and the rule before and after.

    Copies the rule's fields (no foreign key), so the history outlives the rule.
    """

    class Kind(models.TextChoices):
        CREATED = "created"
        CHANGED = "changed"
        DELETED = "deleted"

    rule_id = models.BigIntegerField(db_index=True)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    changed_by = models.CharField(max_length=150, blank=True)
    changed_at = models.DateTimeField(auto_now_add=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-changed_at", "-id"]

    def __str__(self):
        return f"rule #{self.rule_id} {self.kind} by {self.changed_by or '?'}"


# The browsing UI's derived tables live with the code that builds them; importing them
# here registers them with this app.
from modules.browse.models import ModuleDigest, VersionDigest, VersionFile, VersionRequirement  # noqa: E402, F401

# API tokens (stored as digests) live in their own package, registered here the same way.
from modules.tokens.models import ApiToken  # noqa: E402, F401
