"""Saving and deleting policy rules on behalf of a person, each change recorded.

Policy rules decide which code may enter every build that uses this proxy, so no rule
may change unnoticed: every save and delete made here writes a PolicyRuleChange (who,
when, the rule before and after) in the same transaction as the change itself. The
history therefore holds exactly the changes that happened, none that were rolled back.
The admin, the API and the management commands all change rules through this module;
nothing else should write PolicyRule rows.

Filter files (modules/policy/filterfile.py) are read and written here too, because an import
is a batch of such changes: all of them or none.
"""

from dataclasses import dataclass
from typing import Iterable
from datetime import timezone as dt_timezone

from django.contrib.auth.models import Group
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.utils import timezone

from .filterfile import FilterFileError, FilterRule, format_filter_file
from modules.goproxy.constraints import InvalidConstraintError, InvalidPatternError, parse_constraint, validate_pattern
from modules.models import PolicyRule, PolicyRuleChange
from .rules import active_rules

Kind = PolicyRuleChange.Kind

# The fields a change records: what the rule says, not who touched it last.
RECORDED_FIELDS = ("pattern", "versions", "action", "reason", "enabled", "expires", "min_age_days")

# A filter file's default rule (pattern "") is the rule for every module: `*`.
ROOT_PATTERN = "*"


def snapshot(rule: PolicyRule, groups: Iterable[Group] = ()) -> dict:
    """The rule's recorded fields as JSON-ready values (`expires` in ISO 8601, UTC), and
    the names of the groups it is for (empty: everyone)."""
    data = {name: getattr(rule, name) for name in RECORDED_FIELDS}
    expires = data["expires"]
    if expires is not None:
        if timezone.is_naive(expires):
            expires = timezone.make_aware(expires)
        data["expires"] = expires.astimezone(dt_timezone.utc).isoformat()
    data["groups"] = sorted(group.name for group in groups)
    return data


def _groups_of(rule: PolicyRule | None) -> list[Group]:
    return list(rule.groups.all()) if rule is not None and rule.pk is not None else []


def username(user) -> str:
    """Who to record: a User's username, or a name given as a string (commands)."""
    if user is None:
        return ""
    if isinstance(user, str):
        return user
    return user.get_username()


@transaction.atomic
def save_rule(
    rule: PolicyRule, user, groups: Iterable[Group] | None = None, *, validate: bool = True,
) -> PolicyRuleChange | None:
    """Validate and save a new or changed `rule` as `user`, and record the change;
    `groups` (None: as they are) are the groups the rule is for, saved with it.

    Raises ValidationError, saving nothing, when the rule is invalid (unless not
    `validate`: a change the proxy itself makes to a rule it did not write). A save that
    changes none of the recorded fields is not a change: nothing is saved or recorded,
    and None is returned.
    """
    if validate:
        rule.full_clean()
    who = username(user)
    current = PolicyRule.objects.select_for_update().filter(pk=rule.pk).first() if rule.pk else None
    old_groups = _groups_of(current)
    new_groups = old_groups if groups is None else list(groups)
    before = snapshot(current, old_groups) if current is not None else None
    after = snapshot(rule, new_groups)
    if before == after:
        return None
    if current is None:
        rule.created_by = who
    rule.updated_by = who
    rule.save()
    if groups is not None:
        rule.groups.set(new_groups)
    return PolicyRuleChange.objects.create(
        rule_id=rule.pk,
        kind=Kind.CREATED if current is None else Kind.CHANGED,
        changed_by=who,
        before=before,
        after=after,
    )


@transaction.atomic
def delete_rule(rule: PolicyRule, user) -> PolicyRuleChange | None:
    """Delete `rule` as `user` and record what it was (None if it was already gone)."""
    current = PolicyRule.objects.select_for_update().filter(pk=rule.pk).first()
    if current is None:
        return None
    rule_id, before = current.pk, snapshot(current, _groups_of(current))
    current.delete()
    return PolicyRuleChange.objects.create(
        rule_id=rule_id, kind=Kind.DELETED, changed_by=username(user), before=before, after=None
    )


@transaction.atomic
def delete_rules(rules, user) -> int:
    """Delete several rules (a queryset or list) as `user`, one recorded change each."""
    return sum(1 for rule in list(rules) if delete_rule(rule, user) is not None)


def forget_group(group: Group) -> int:
    """Before `group` is deleted: take it out of every rule that names it, each change
    recorded. A rule left with no group is disabled as well, since a rule for no group
    is everyone's: "allow Release managers to pull X" must not become "allow everyone".
    Connected to Group's pre_delete (modules/apps.py); returns the rules changed."""
    who = f"(group {group.name!r} deleted)"
    changed = 0
    with transaction.atomic():
        for rule in PolicyRule.objects.filter(groups=group).prefetch_related("groups"):
            remaining = [other for other in rule.groups.all() if other.pk != group.pk]
            if not remaining:
                rule.enabled = False
            # Not validated: a rule an older version let in must not stop the deletion.
            save_rule(rule, who, groups=remaining, validate=False)
            changed += 1
    return changed


@dataclass
class ImportSummary:
    created: int = 0
    changed: int = 0
    unchanged: int = 0
    deleted: int = 0

    def __str__(self) -> str:
        return (
            f"{self.created} created, {self.changed} changed, {self.unchanged} unchanged, {self.deleted} deleted"
        )


@transaction.atomic
def import_rules(rules: list[FilterRule], user, *, replace: bool) -> ImportSummary:
    """Put the rules of a parsed filter file in force, as `user`.

    A file rule is the same rule as an existing everyone-rule (one for no group: a filter
    file cannot name groups) with the same pattern and versions:
    that rule takes the file's action and is enabled again (an expiry already past is
    cleared), keeping its reason, quarantine and history. A file rule without such a
    match becomes a new rule. With `replace`, every existing everyone-rule that no file
    rule matches is deleted, so afterwards the everyone-rules are exactly the file's;
    rules for groups, which no filter file holds, are left as they are (an export then
    `--replace` import must not drop them).

    All or nothing: when a rule is invalid, or two lines give the same pattern and
    versions different actions, FilterFileError lists every such line and no rule
    changes.
    """
    now = timezone.now()
    existing: dict[tuple[str, str], PolicyRule] = {}
    for rule in PolicyRule.objects.select_for_update(of=("self",)).filter(groups=None).order_by("id"):
        existing.setdefault(_key(rule.pattern, rule.versions), rule)

    planned: list[PolicyRule] = []
    first_line: dict[tuple[str, str], FilterRule] = {}
    errors: list[tuple[int, str]] = []
    for line in rules:
        candidate = PolicyRule(pattern=line.pattern or ROOT_PATTERN, versions=line.versions, action=line.action)
        try:
            candidate.full_clean()
        except ValidationError as exc:
            errors.append((line.line, _describe(exc)))
            continue
        key = (candidate.pattern, candidate.versions)
        earlier = first_line.setdefault(key, line)
        if earlier is not line and earlier.action != line.action:
            errors.append((line.line, (
                f"contradicts line {earlier.line}: same module pattern and versions, "
                f"{line.action} instead of {earlier.action}"
            )))
            continue
        rule = existing.get(key)
        if rule is None:
            rule = existing[key] = candidate
        else:
            rule.action = candidate.action
            rule.enabled = True
            if rule.expires is not None and rule.expires <= now:
                rule.expires = None
        if earlier is line:
            planned.append(rule)
    if errors:
        raise FilterFileError(errors)

    summary = ImportSummary()
    for rule in planned:
        new = rule.pk is None
        change = save_rule(rule, user)
        if change is None:
            summary.unchanged += 1
        elif new:
            summary.created += 1
        else:
            summary.changed += 1
    if replace:
        kept = {rule.pk for rule in planned}
        summary.deleted = delete_rules(PolicyRule.objects.filter(groups=None).exclude(pk__in=kept), user)
    return summary


def export_rules() -> str:
    """The rules in force as a filter file, the text import_rules reads back.

    Only enabled, unexpired everyone-rules: a filter file cannot say "disabled", "until"
    or "for these groups", and a rule written without them would be in force for
    everyone wherever the file is imported. Where rules share a pattern and versions,
    the file holds the one that decides (deny).
    """
    rules = sorted(active_rules(everyone_only=True), key=lambda rule: (rule.pattern, rule.versions, rule.pk))
    actions: dict[tuple[str, str], str] = {}
    for rule in rules:
        key = _key(rule.pattern, rule.versions)
        if actions.get(key) != PolicyRule.Action.DENY:
            actions[key] = rule.action
    header = (
        f"Policy rules in force, exported {timezone.now().isoformat(timespec='seconds')}.\n"
        "Not in a filter file: reasons, expiry dates, disabled rules, quarantines (min_age_days) and rules for groups."
    )
    return format_filter_file(
        (
            (action, "" if (pattern, versions) == (ROOT_PATTERN, "") else pattern, versions)
            for (pattern, versions), action in actions.items()
        ),
        header=header,
    )


def _key(pattern: str, versions: str) -> tuple[str, str]:
    """The canonical (pattern, versions) of a stored rule, for matching file rules."""
    try:
        pattern = validate_pattern(pattern)
        versions = str(parse_constraint(versions))
    except (InvalidPatternError, InvalidConstraintError):
        pass
    return pattern, versions


def _describe(error: ValidationError) -> str:
    return "; ".join(
        message if field == NON_FIELD_ERRORS else f"{field}: {message}"
        for field, messages in error.message_dict.items()
        for message in messages
    )
