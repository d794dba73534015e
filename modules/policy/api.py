"""JSON API for the allow/deny rules (session or token), at /api/rules/, each action
for the accounts with its permissions (athens_site/permissions.py).

CRUD on the rules, a filter-file export and import, and a check of which rule decides
a module@version. Every change goes through modules.policy.changes, so it is recorded
with the API user, exactly as a change made in the admin.
"""

import copy

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.http import HttpResponse
from django_filters import rest_framework as filters
from rest_framework import parsers, renderers, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from athens_site import permissions

from . import changes as rule_changes
from .filterfile import FilterFileError, parse_filter_file
from modules.goproxy import semver
from modules.goproxy.errors import InvalidPathError
from modules.goproxy.paths import check_path
from modules.models import PolicyRule

from .quarantine import FirstSeen
from .rules import Policy
from modules.tokens.client_auth import group_ids


class PlainTextParser(parsers.BaseParser):
    """A text/plain request body (a filter file) as a string."""

    media_type = "text/plain"

    def parse(self, stream, media_type=None, parser_context=None):
        charset = (parser_context or {}).get("encoding") or "utf-8"
        try:
            return stream.read().decode(charset)
        except UnicodeDecodeError as exc:
            raise parsers.ParseError(f"the filter file is not {charset} text: {exc}") from None


class PlainTextRenderer(renderers.BaseRenderer):
    """Lets a client ask for text/plain; errors (dicts) are written one `key: value` a line."""

    media_type = "text/plain"
    format = "txt"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, str):
            return data.encode(self.charset)
        if isinstance(data, dict):
            return "".join(f"{key}: {value}\n" for key, value in data.items()).encode(self.charset)
        return str(data).encode(self.charset)


class PolicyRuleFilter(filters.FilterSet):
    class Meta:
        model = PolicyRule
        fields = ["action", "enabled", "pattern"]


class PolicyRuleSerializer(serializers.ModelSerializer):
    # By name, as people know them. Empty: everyone's rule; absent from an update: as they are.
    groups = serializers.SlugRelatedField(
        many=True, slug_field="name", queryset=Group.objects.all(), required=False,
        help_text="Names of the groups the rule is for; empty: everyone.",
    )

    class Meta:
        model = PolicyRule
        fields = [
            "id", "pattern", "versions", "action", "groups", "reason", "enabled", "expires", "min_age_days",
            "created_by", "created_at", "updated_by", "updated_at",
        ]
        read_only_fields = ["created_by", "created_at", "updated_by", "updated_at"]

    def validate(self, attrs):
        # The model's own checks (pattern and constraint syntax), on a copy so a rejected
        # update leaves the instance untouched; a Django ValidationError raised here
        # becomes a 400 naming each field.
        rule = copy.copy(self.instance) if self.instance is not None else PolicyRule()
        for name, value in attrs.items():
            if name != "groups":
                setattr(rule, name, value)
        rule.full_clean()
        return {**attrs, "pattern": rule.pattern, "versions": rule.versions}

    def create(self, validated_data):
        groups = validated_data.pop("groups", [])
        rule = PolicyRule(**validated_data)
        rule_changes.save_rule(rule, self.context["request"].user, groups=groups)
        return rule

    def update(self, instance, validated_data):
        groups = validated_data.pop("groups", None)
        for name, value in validated_data.items():
            setattr(instance, name, value)
        rule_changes.save_rule(instance, self.context["request"].user, groups=groups)
        return instance


class ImportSerializer(serializers.Serializer):
    text = serializers.CharField(allow_blank=True, trim_whitespace=False)
    replace = serializers.BooleanField(default=False)


class CheckSerializer(serializers.Serializer):
    module = serializers.CharField(max_length=1024)
    version = serializers.CharField(max_length=255)
    user = serializers.SlugRelatedField(
        slug_field="username", queryset=get_user_model().objects.all(), required=False,
        help_text="The decision for this user's downloads (the rules of their groups too).",
    )

    def validate_module(self, module):
        try:
            check_path(module)
        except InvalidPathError as exc:
            raise serializers.ValidationError(str(exc)) from None
        return module

    def validate_version(self, version):
        if not semver.is_valid(version):
            raise serializers.ValidationError(
                f"{version!r} is not a semantic version: write v1.2.3, v1.2.3-rc.1 or a pseudo-version"
            )
        return version


class PolicyRuleViewSet(viewsets.ModelViewSet):
    """Allow/deny rules. Filters: `action`, `enabled`, `pattern` (exact)."""

    queryset = PolicyRule.objects.prefetch_related("groups")
    serializer_class = PolicyRuleSerializer
    filterset_class = PolicyRuleFilter
    lookup_value_regex = r"\d+"
    permission_actions = {
        "list": permissions.RULES_VIEW, "retrieve": permissions.RULES_VIEW, "export": permissions.RULES_VIEW,
        "check": permissions.RULES_VIEW, "create": permissions.RULES_ADD, "update": permissions.RULES_CHANGE,
        "partial_update": permissions.RULES_CHANGE, "destroy": permissions.RULES_DELETE,
        "import_file": permissions.RULES_IMPORT,  # and RULES_REPLACE to replace every rule
    }

    def perform_destroy(self, instance):
        rule_changes.delete_rule(instance, self.request.user)

    @action(detail=False, methods=["get"], renderer_classes=[renderers.JSONRenderer, PlainTextRenderer])
    def export(self, request, format=None):  # noqa: A002 - DRF passes `.json` suffixes as `format`
        """The rules in force as a filter file (text/plain)."""
        return HttpResponse(rule_changes.export_rules(), content_type="text/plain; charset=utf-8")

    @action(
        detail=False, methods=["post"], url_path="import", url_name="import",
        parser_classes=[PlainTextParser, parsers.JSONParser],
    )
    def import_file(self, request, format=None):  # noqa: A002
        """Import a filter file: a text/plain body (`?replace=true` to replace every rule)
        or JSON `{"text": ..., "replace": bool}`. Answers what changed, or 400 with every
        bad line and nothing changed."""
        if isinstance(request.data, str):
            payload = {"text": request.data, "replace": request.query_params.get("replace", False)}
        else:
            payload = request.data
        params = ImportSerializer(data=payload)
        params.is_valid(raise_exception=True)
        if params.validated_data["replace"] and not permissions.allowed(request.user, permissions.RULES_REPLACE):
            raise PermissionDenied("Replacing every rule needs the permission to delete rules as well.")
        try:
            rules = parse_filter_file(params.validated_data["text"])
            summary = rule_changes.import_rules(rules, request.user, replace=params.validated_data["replace"])
        except FilterFileError as exc:
            return Response(
                {
                    "detail": f"the filter file has {len(exc.errors)} bad line(s); nothing was imported",
                    "errors": [{"line": line, "message": message} for line, message in exc.errors],
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response(vars(summary))

    @action(detail=False, methods=["get"])
    def check(self, request, format=None):  # noqa: A002
        """Which rule decides `module`@`version` (release times known locally only)."""
        params = CheckSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        module, version = params.validated_data["module"], params.validated_data["version"]
        user = params.validated_data.get("user")
        decision = Policy(groups=group_ids(user)).decide(module, version, FirstSeen(module))
        return Response({
            "module": module,
            "version": version,
            "user": user.get_username() if user is not None else None,
            "allowed": decision.allowed,
            "rule": decision.rule.pk if decision.rule is not None else None,
            "why": decision.why,
        })
