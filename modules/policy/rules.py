"""Allow/deny decisions for module versions.

Which rule decides, among the enabled, unexpired rules whose pattern matches the module
and whose version constraint matches the version:

1. the most specific pattern wins (more path elements; then more elements without
   wildcards): `github.com/evil/pkg` beats `github.com/evil/*` beats `github.com/evil`
   beats `github.com/*` beats `*`;
2. then the most specific version constraint: an exact version beats a range beats
   "any version";
3. then a rule for groups beats a rule for everyone: a rule that names Django groups
   applies only to requests of their members (a user identified by a proxy token,
   modules/tokens/client_auth.py) and is more specific than an everyone-rule;
4. at equal specificity, deny beats allow.

With no matching rule, ATHENS_POLICY decides: `denylist` allows, `allowlist` denies.
An allow rule with `min_age_days` (quarantine) denies versions this proxy first fetched
fewer than that many days ago (policy/quarantine.py: its own clock, never the
upstream's `.info` Time, which the author sets).

Rules are kept in memory per process and dropped the moment PostgreSQL notifies a change
(modules/hot_cache.py), so a change applies within milliseconds in every process.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Iterable

from django.conf import settings
from django.utils import timezone

from modules.goproxy.constraints import parse_constraint, pattern_specificity
from modules.goproxy.patterns import match_prefix_patterns

from modules import hot_cache
from modules.models import PolicyRule

Action = PolicyRule.Action


class Denied(Exception):
    """A request refused by policy: 403, with the deciding rule and its reason."""

    http_status = 403

    def __init__(self, decision: "Decision", module: str, version: str):
        super().__init__(decision.why)
        self.decision = decision
        self.module = module
        self.version = version

    @property
    def client_message(self) -> str:
        return f"forbidden: {self.module}@{self.version} is {self.decision.why}"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    rule: PolicyRule | None
    why: str

    @property
    def label(self) -> str:
        """The deciding rule as the audit names it."""
        return str(self.rule) if self.rule is not None else f"ATHENS_POLICY={settings.ATHENS_POLICY}"


@dataclass(frozen=True)
class _Compiled:
    rule: PolicyRule
    constraint: object
    groups: frozenset[int]  # ids; empty: everyone's rule

    def applies_to(self, groups: frozenset[int] | None) -> bool:
        """Whether the rule is one for a requester in `groups` (None: any requester,
        for the pages that show every rule)."""
        return not self.groups or groups is None or not self.groups.isdisjoint(groups)

    def matches(self, module: str, version: str) -> bool:
        return match_prefix_patterns(self.rule.pattern, module) and self.constraint.matches(version)

    @property
    def rank(self) -> tuple:
        return (
            pattern_specificity(self.rule.pattern), self.constraint.specificity, bool(self.groups),
            self.rule.action == Action.DENY,
        )


def active_rules(*, everyone_only: bool = False) -> list[PolicyRule]:
    """The enabled rules that have not expired (read through the per-process cache);
    with `everyone_only`, only those that name no group."""
    return [compiled.rule for compiled in _active_compiled() if not (everyone_only and compiled.groups)]


def _active_compiled() -> list[_Compiled]:
    # Expiry is a matter of time, not of a change to the table: checked on every call.
    now = timezone.now()
    enabled = hot_cache.policy_rules(_compiled_enabled_rules)
    return [compiled for compiled in enabled if compiled.rule.expires is None or compiled.rule.expires > now]


def _compiled_enabled_rules() -> list[_Compiled]:
    """Loaded and compiled once per change of the rules, not once per request."""
    return _compile(PolicyRule.objects.filter(enabled=True).prefetch_related("groups"))


def _compile(rules: Iterable[PolicyRule]) -> list[_Compiled]:
    return [
        _Compiled(rule, parse_constraint(rule.versions), frozenset(group.pk for group in rule.groups.all()))
        for rule in rules
    ]


TimeOf = Callable[[str], datetime | None]


class Policy:
    """The rules in force for one request: everyone's, and those of the requester's
    groups (`groups`: their ids; None takes every rule, for the pages that list them)."""

    def __init__(self, rules: Iterable[PolicyRule] | None = None, *, groups: Iterable[int] | None = frozenset()):
        compiled = _active_compiled() if rules is None else _compile(rules)
        groups = None if groups is None else frozenset(groups)
        self._rules = [rule for rule in compiled if rule.applies_to(groups)]

    @property
    def allows_everything(self) -> bool:
        return not self._rules and settings.ATHENS_POLICY == "denylist"

    def matching_rules(self, module: str, version: str) -> list[PolicyRule]:
        """Every rule whose pattern and constraint match, the deciding one first."""
        matching = sorted((r for r in self._rules if r.matches(module, version)), key=lambda r: r.rank, reverse=True)
        return [compiled.rule for compiled in matching]

    def deciding_rule(self, module: str, version: str) -> PolicyRule | None:
        matching = self.matching_rules(module, version)
        return matching[0] if matching else None

    def decide(self, module: str, version: str, time_of: TimeOf | None = None) -> Decision:
        """The decision for module@version; `time_of(version)` gives when this proxy first
        fetched it, when a quarantine rule needs it (None: not yet, and it may be fetched)."""
        rule = self.deciding_rule(module, version)
        if rule is None:
            if settings.ATHENS_POLICY == "allowlist":
                return Decision(False, None, "not on the allowlist (ATHENS_POLICY=allowlist)")
            return Decision(True, None, "allowed")
        if rule.action == Action.DENY:
            return Decision(False, rule, f"denied by rule {_name(rule)}{_reason(rule)}")
        if rule.min_age_days and time_of is not None:
            seen = time_of(version)
            if seen is not None and seen > timezone.now() - timedelta(days=rule.min_age_days):
                age = (timezone.now() - seen).days
                return Decision(
                    False, rule,
                    f"in quarantine: first fetched by this proxy {age} days ago, rule {_name(rule)} requires "
                    f"{rule.min_age_days}{_reason(rule)}",
                )
        return Decision(True, rule, f"allowed by rule {_name(rule)}")

    def check(self, module: str, version: str, time_of: TimeOf | None = None) -> Decision:
        """decide(), raising Denied when the answer is no."""
        decision = self.decide(module, version, time_of)
        if not decision.allowed:
            raise Denied(decision, module, version)
        return decision

    def allowed_versions(self, module: str, versions: list[str], time_of: TimeOf | None = None) -> list[str]:
        if self.allows_everything:
            return versions
        # Newest first: release-time lookups (bounded per request) go to the versions a
        # go command is most likely to pick.
        allowed = {v for v in reversed(versions) if self.decide(module, v, time_of).allowed}
        return [v for v in versions if v in allowed]


def _name(rule: PolicyRule) -> str:
    return f"#{rule.pk} ({rule.action} {rule.pattern}{' ' + rule.versions if rule.versions else ''})"


def _reason(rule: PolicyRule) -> str:
    return f": {rule.reason}" if rule.reason else ""
