"""JSON API for the audit reports (session or token), at /api/audit/reports/, for the
accounts that may read both kinds of audit event (athens_site/permissions.py).

One endpoint per report in audit.reports.REPORTS, at ``/api/audit/reports/<name>/``,
with the same parameters as the report pages: ``since`` and ``until`` (ISO 8601 dates
or datetimes; default the last 30 days) and the report's own. Parameters are checked
here and unknown ones refused, so a typo (``contraint=``) is a 400 that says so rather
than a silently unfiltered answer. The rows come from audit/reports.py unchanged.
"""

import dataclasses
import typing
from datetime import date, datetime
from types import NoneType, UnionType

from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from athens_site import permissions

from . import reports
from .models import FetchEvent

PERIOD_HELP = (
    "ISO 8601 date or datetime (UTC unless an offset is given). `since` is inclusive; `until` is exclusive, "
    "except that a date for `until` includes that whole day. Default: the last "
    f"{reports.DEFAULT_DAYS} days up to now."
)

# Parameters understood by every report endpoint besides the report's own; `format` is DRF's.
COMMON = {"since", "until", "format"}


class BadParametersSerializer(serializers.Serializer):
    """A 400: ``detail`` for a wrong period, module or constraint, or one list of
    messages per parameter name for a malformed value (``limit``, ``outcome``)."""

    detail = serializers.CharField()


class ParametersSerializer(serializers.Serializer):
    """The query parameters of one report; fields are added per report."""

    since = serializers.CharField(required=False, allow_blank=True)
    until = serializers.CharField(required=False, allow_blank=True)


def _parameters_serializer(report: reports.Report) -> type[serializers.Serializer]:
    fields = {}
    for name, kind, _help in report.parameters:
        if kind == "int":
            fields[name] = serializers.IntegerField(
                required=False, min_value=1, max_value=reports.MAX_LIMIT, default=reports.DEFAULT_LIMIT
            )
        elif name == "outcome":
            fields[name] = serializers.ChoiceField(choices=FetchEvent.Outcome.values, required=False)
        elif kind == "choice":
            fields[name] = serializers.ChoiceField(choices=reports.GROUPINGS, required=False)
        else:
            fields[name] = serializers.CharField(
                required=report.name == "who-downloaded" and name == "module", allow_blank=name == "constraint"
            )
    return type(f"{_camel(report.name)}Parameters", (ParametersSerializer,), fields)


_FIELDS = {str: serializers.CharField, int: serializers.IntegerField, float: serializers.FloatField,
           date: serializers.DateField, datetime: serializers.DateTimeField}


def _row_serializer(report: reports.Report) -> type[serializers.Serializer]:
    """A serializer for the report's row dataclass: the response schema, and the JSON."""
    hints = typing.get_type_hints(report.row_type)
    fields = {}
    for field in dataclasses.fields(report.row_type):
        kind = hints[field.name]
        nullable = isinstance(kind, UnionType) and NoneType in typing.get_args(kind)
        base = next(arg for arg in typing.get_args(kind) if arg is not NoneType) if nullable else kind
        fields[field.name] = _FIELDS[base](allow_null=nullable, read_only=True)
    return type(f"{_camel(report.name)}Row", (serializers.Serializer,), fields)


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("-"))


class ReportView(APIView):
    """GET one report; subclasses (one per report) are made by ``report_view``."""

    permission_action = permissions.AUDIT_REPORTS
    report: reports.Report
    parameters_serializer: type[serializers.Serializer]
    row_serializer: type[serializers.Serializer]

    def get(self, request):
        unknown = sorted(set(request.query_params) - COMMON - {name for name, _, _ in self.report.parameters})
        if unknown:
            allowed = ", ".join(["since", "until", *(name for name, _, _ in self.report.parameters)])
            return Response({"detail": f"unknown parameter(s) {', '.join(unknown)}; this report takes {allowed}"}, 400)
        parameters = self.parameters_serializer(data=request.query_params.dict())
        parameters.is_valid(raise_exception=True)
        values = dict(parameters.validated_data)
        try:
            since, until = reports.parse_period(values.pop("since", None) or None, values.pop("until", None) or None)
            if "constraint" in values and not values["constraint"].strip():
                values["constraint"] = None
            rows = self.report.run(since, until, **values)
        except reports.ReportError as exc:
            return Response({"detail": str(exc)}, 400)
        return Response(
            {
                "report": self.report.name,
                "title": self.report.title,
                "since": since,
                "until": until,
                "parameters": values,
                "columns": list(self.report.columns),
                "rows": self.row_serializer(rows, many=True).data,
            }
        )


def report_view(report: reports.Report) -> type[ReportView]:
    """A ReportView subclass for one report, with its own OpenAPI description."""
    parameters_serializer = _parameters_serializer(report)
    row_serializer = _row_serializer(report)
    view = type(
        f"{_camel(report.name)}ReportView",
        (ReportView,),
        {"report": report, "parameters_serializer": parameters_serializer, "row_serializer": row_serializer},
    )
    kinds = {"int": OpenApiTypes.INT, "str": OpenApiTypes.STR, "constraint": OpenApiTypes.STR, "choice": OpenApiTypes.STR}
    schema = extend_schema(
        operation_id=f"audit_report_{report.name.replace('-', '_')}",
        summary=report.title,
        description=" ".join((report.description or "").split()),
        tags=["audit reports"],
        parameters=[
            OpenApiParameter("since", OpenApiTypes.STR, description=PERIOD_HELP),
            OpenApiParameter("until", OpenApiTypes.STR, description=PERIOD_HELP),
            *(
                OpenApiParameter(
                    name,
                    kinds[kind],
                    description=help_text,
                    required=report.name == "who-downloaded" and name == "module",
                    enum=FetchEvent.Outcome.values if name == "outcome" else None,
                )
                for name, kind, help_text in report.parameters
            ),
        ],
        responses={
            200: inline_serializer(
                f"{_camel(report.name)}Report",
                {
                    "report": serializers.CharField(),
                    "title": serializers.CharField(),
                    "since": serializers.DateTimeField(),
                    "until": serializers.DateTimeField(),
                    "parameters": serializers.DictField(),
                    "columns": serializers.ListField(child=serializers.CharField()),
                    "rows": row_serializer(many=True),
                },
            ),
            400: BadParametersSerializer,
        },
    )

    # A function of its own: extend_schema annotates the function it is given.
    def get(self, request):
        return ReportView.get(self, request)

    view.get = schema(get)
    return view


class ReportIndexView(APIView):
    """The reports there are, with their parameters and URLs."""

    permission_action = permissions.AUDIT_REPORTS

    @extend_schema(
        operation_id="audit_report_index",
        summary="List the audit reports",
        tags=["audit reports"],
        responses=inline_serializer(
            "ReportIndexEntry",
            {
                "name": serializers.CharField(),
                "title": serializers.CharField(),
                "url": serializers.URLField(),
                "parameters": serializers.ListField(child=serializers.CharField()),
                "columns": serializers.ListField(child=serializers.CharField()),
            },
            many=True,
        ),
    )
    def get(self, request):
        return Response(
            [
                {
                    "name": report.name,
                    "title": report.title,
                    "url": reverse(f"audit-report-{report.name}", request=request),
                    "parameters": ["since", "until", *(name for name, _, _ in report.parameters)],
                    "columns": list(report.columns),
                }
                for report in reports.REPORTS.values()
            ]
        )


urlpatterns = [
    path("", ReportIndexView.as_view(), name="audit-report-index"),
    *(
        path(f"{report.name}/", report_view(report).as_view(), name=f"audit-report-{report.name}")
        for report in reports.REPORTS.values()
    ),
]
