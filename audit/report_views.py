"""The audit report pages in the admin, and their CSV exports.

Thin views over audit/reports.py: each page reads the period and the report's own
parameters from the query string (a GET form, so every page is a bookmarkable, shareable
URL), calls the report through ``reports.REPORTS`` and renders its rows as a table, an
SVG chart (audit/charts.py) for the series by day, and the same rows as CSV with
``?format=csv``. The raw download events of a period stream out as CSV from
``events.csv`` without ever being held in memory.

Every route is wrapped in ``admin.site.admin_view`` (login, the staff flag that lets an
account into the admin, no caching) and needs the permission map's ``audit.reports``:
the view permissions of download and fetch events (athens_site/permissions.py).
"""

import csv
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import urlencode

from athens_site import permissions
from modules.goproxy.constraints import InvalidConstraintError, parse_constraint
from modules.goproxy.errors import InvalidPathError
from modules.goproxy.paths import check_path

from . import charts, reports
from .models import DownloadEvent, FetchEvent

PRESET_DAYS = (7, 30, 90)
DEFAULT_DAYS = 30
# Reports whose page shows the form but runs nothing until these parameters are given.
REQUIRED_PARAMETERS = {"who-downloaded": ("module",)}
# Short names for the tabs above every report page.
TAB_LABELS = {
    "downloads": "Downloads", "top-modules": "Modules", "top-versions": "Versions", "top-clients": "Clients",
    "cache-hit-ratio": "Cache hits", "denied-by-rule": "Denials", "fetch-failures": "Fetch failures",
    "fetch-latency": "Fetch latency", "who-downloaded": "Who downloaded…",
}
# The order of the reports on the overview page and in the tabs; reports.REPORTS may add more.
OVERVIEW_ORDER = (
    "downloads", "top-modules", "top-versions", "top-clients", "cache-hit-ratio", "denied-by-rule",
    "fetch-failures", "fetch-latency", "who-downloaded",
)

# What each report answers, for the people reading the pages (the functions' docstrings
# are written for developers); a report not named here shows its docstring's first part.
DESCRIPTIONS = {
    "downloads": "Download API requests per UTC day, whatever their outcome (lists, .info, .mod, .zip, @latest), "
                 "and the bytes sent.",
    "top-modules": "The modules with the most served requests (status below 400), all endpoints together.",
    "top-versions": "The module versions with the most served requests; lists and @latest, which name no version, "
                    "are left out.",
    "top-clients": "The clients with the most requests. A client is an address with a username and how it "
                   "authenticated: one machine used by two people is two rows.",
    "cache-hit-ratio": "The share of served requests answered from the proxy's own cache (also when the upstream "
                       "was failing), per UTC day.",
    "denied-by-rule": "Requests refused with 403, per allow/deny rule.",
    "fetch-failures": "Upstream fetch attempts that did not succeed, per upstream and outcome, with the latest error.",
    "fetch-latency": "How long upstream fetches took: median and 95th percentile, over all upstreams and per "
                     "upstream. Read from the raw fetch events, so only from days the retention still keeps.",
    "who-downloaded": "Incident response: which clients downloaded a version of a module in the period, which "
                      "versions, when first and last, and how often (served .info, .mod and .zip requests).",
}


# --- Forms -----------------------------------------------------------------------------


def _today() -> date:
    return timezone.now().astimezone(UTC).date()


class PeriodForm(forms.Form):
    """A period of whole UTC days, both ends included; the last 30 days by default.

    The presets are links with ``?days=N``: the last N days, today included (``days``
    wins over ``since``/``until``). The chosen days go to ``reports.parse_period``, which
    decides what a period means for every report (``until`` includes its day).
    """

    since = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="First day (UTC).",
    )
    until = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="Last day, included (UTC). Empty: today.",
    )

    def __init__(self, query, *args, **kwargs):
        data = query.copy()
        self.days_error = None
        days = query.get("days")
        if days is not None:
            try:
                days = int(days)
                if not 1 <= days <= reports.MAX_DAYS:
                    raise ValueError
            except ValueError:
                self.days_error = f"days={days!r}: give a whole number of days from 1 to {reports.MAX_DAYS}"
                days = DEFAULT_DAYS
        elif not query.get("since") and not query.get("until"):
            days = DEFAULT_DAYS
        if days is not None:
            today = _today()
            data["since"] = (today - timedelta(days=days - 1)).isoformat()
            data["until"] = today.isoformat()
        super().__init__(data, *args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        if self.days_error:
            raise forms.ValidationError(self.days_error)
        if "since" in self.errors or "until" in self.errors:
            return cleaned
        until = cleaned.get("until") or _today()
        since = cleaned.get("since") or until - timedelta(days=DEFAULT_DAYS - 1)
        try:
            cleaned["period"] = reports.parse_period(since.isoformat(), until.isoformat())
        except reports.ReportError as exc:
            raise forms.ValidationError(str(exc)) from None
        cleaned["first_day"], cleaned["last_day"] = since, until
        return cleaned


def _clean_module(value: str) -> str:
    value = value.strip()
    if value:
        try:
            check_path(value)
        except InvalidPathError as exc:
            raise forms.ValidationError(str(exc)) from None
    return value


def _clean_constraint(value: str) -> str:
    try:
        return str(parse_constraint(value))
    except InvalidConstraintError as exc:
        raise forms.ValidationError(str(exc)) from None


def _parameter_field(report: reports.Report, name: str, kind: str, help_text: str) -> forms.Field:
    """The form field for one of a report's own parameters (``Report.parameters``)."""
    required = name in REQUIRED_PARAMETERS.get(report.name, ())
    if name == "module":
        return forms.CharField(
            label="Module path", required=required, max_length=1024,
            help_text="The exact module path, e.g. golang.org/x/net.",
            widget=forms.TextInput(attrs={"size": 40, "placeholder": "golang.org/x/net", "spellcheck": "false"}),
        )
    if kind == "constraint":
        return forms.CharField(
            label="Versions", required=required, max_length=512,
            help_text="Optional, e.g. <v0.23.0 or >=v1.2.0 <v1.2.5 (the syntax of policy rules). Empty: any version.",
            widget=forms.TextInput(attrs={"size": 24, "placeholder": "<v0.23.0", "spellcheck": "false"}),
        )
    if name == "outcome":
        return forms.ChoiceField(
            label="Outcome", required=required, choices=[("", "any"), *FetchEvent.Outcome.choices],
            help_text="Only fetch attempts that ended so.",
        )
    if kind == "choice":  # `by`, the only one
        return forms.ChoiceField(
            label="Group by", required=False, help_text=help_text,
            choices=[("", "client (address and user)"), ("user", "user"), ("address", "address")],
        )
    if kind == "int":
        return forms.IntegerField(
            label="Rows" if name == "limit" else name.capitalize(), required=required, min_value=1,
            max_value=reports.MAX_LIMIT, help_text=help_text,
            widget=forms.NumberInput(attrs={"placeholder": str(reports.DEFAULT_LIMIT), "style": "width: 6em"}),
        )
    return forms.CharField(label=name.capitalize(), required=required, help_text=help_text)


def report_form_class(report: reports.Report) -> type[PeriodForm]:
    """A PeriodForm with a field for each of the report's own parameters, first."""
    fields = {name: _parameter_field(report, name, kind, help_text) for name, kind, help_text in report.parameters}
    cleaners = {}
    if "module" in fields:
        cleaners["clean_module"] = lambda self: _clean_module(self.cleaned_data["module"])
    for name, kind, _ in report.parameters:
        if kind == "constraint":
            cleaners[f"clean_{name}"] = lambda self, name=name: _clean_constraint(self.cleaned_data[name])
    form_class = type(f"{report.name.title().replace('-', '')}Form", (PeriodForm,), {**fields, **cleaners})
    # Parameters first, then the period.
    form_class.base_fields = {
        **{name: form_class.base_fields[name] for name in fields},
        "since": form_class.base_fields["since"],
        "until": form_class.base_fields["until"],
    }
    return form_class


class RawEventsForm(PeriodForm):
    module = forms.CharField(required=False, max_length=1024)

    def clean_module(self):
        return _clean_module(self.cleaned_data["module"])


# --- Tables ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    text: str
    url: str = ""
    numeric: bool = False
    title: str = ""
    nowrap: bool = False


@dataclass
class Table:
    headers: list[tuple[str, bool]]  # (label, numeric)
    rows: list[list[Cell]]
    footer: list[Cell] | None = None
    empty: str = "Nothing in this period."


def _number(value) -> Cell:
    return Cell(charts.format_value(value), numeric=True)


def _bytes(value) -> Cell:
    return Cell(filesizeformat(value or 0), numeric=True, title=f"{value:,} bytes")


def _ms(value) -> Cell:
    return Cell("—" if value is None else f"{value:,.1f}", numeric=True)


def _percent(value) -> Cell:
    return Cell("—" if value is None else f"{value * 100:.1f}%", numeric=True)


def _when(value) -> Cell:
    return Cell("" if value is None else timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S"), nowrap=True)


def _day(value) -> Cell:
    return Cell(value.isoformat(), nowrap=True)


def _text(value, empty="—") -> Cell:
    return Cell(str(value) if value not in (None, "") else empty)


AUTH_LABELS = {"": "anonymous", "token": "token", "session": "session", "bad-token": "bad token"}


def _auth(value) -> Cell:
    return Cell(AUTH_LABELS.get(value, value))


# --- What each report's page shows ---------------------------------------------------
# A presenter turns a report's rows into a table, and maybe a chart and headline numbers.
# A report without one gets a plain table of its columns.


@dataclass
class Presentation:
    table: Table
    chart: str = ""
    summary: list[tuple[str, str]] | None = None


def _present_downloads(rows, page):
    total = sum(row.count for row in rows)
    return Presentation(
        chart=charts.bar_chart(
            [(row.day, row.count) for row in rows], title="Download API requests per day (UTC)",
            value_label="Requests", chart_id="chart-downloads",
        ),
        table=Table(
            [("Day (UTC)", False), ("Requests", True), ("Bytes sent", True)],
            [[_day(row.day), _number(row.count), _bytes(row.bytes)] for row in rows],
            footer=[Cell("Total"), _number(total), _bytes(sum(row.bytes for row in rows))],
        ),
        summary=[("Requests", charts.format_value(total)), ("Days", str(len(rows)))],
    )


def _present_top_modules(rows, page):
    return Presentation(Table(
        [("Module", False), ("Served requests", True), ("Bytes sent", True), ("", False)],
        [
            [
                Cell(row.module, url=page.link("top-versions", module=row.module)),
                _number(row.count), _bytes(row.bytes),
                Cell("who downloaded it?", url=page.link("who-downloaded", module=row.module)),
            ]
            for row in rows
        ],
    ))


def _present_top_versions(rows, page):
    return Presentation(Table(
        [("Module", False), ("Version", False), ("Served requests", True), ("Bytes sent", True)],
        [
            [
                Cell(row.module, url=page.link("top-versions", module=row.module)),
                Cell(row.version, url=page.link("who-downloaded", module=row.module, constraint=row.version),
                     title="Who downloaded this version"),
                _number(row.count), _bytes(row.bytes),
            ]
            for row in rows
        ],
    ))


def _address(row, page) -> Cell:
    return _text(row.client_addr, "every address" if page.request.GET.get("by") == "user" else "unknown")


def _user(row, page) -> Cell:
    return _text(row.username, "everyone" if page.request.GET.get("by") == "address" else "—")


def _authentication(row, page) -> Cell:
    by = page.request.GET.get("by")
    if by == "address" or (by == "user" and row.username):
        return Cell("—")  # several ways together
    return _auth(row.auth)


def _present_top_clients(rows, page):
    return Presentation(Table(
        [("Client address", False), ("User", False), ("Authentication", False), ("Requests", True),
         ("Bytes sent", True), ("Denied", True)],
        [
            [_address(row, page), _user(row, page), _authentication(row, page), _number(row.count),
             _bytes(row.bytes), _number(row.denied)]
            for row in rows
        ],
    ))


def _present_cache_hit_ratio(rows, page):
    *days, total = rows
    return Presentation(
        chart=charts.line_chart(
            [(row.day, None if row.ratio is None else round(row.ratio * 100, 1)) for row in days],
            title="Cache hit ratio per day (UTC), in percent of served requests",
            value_label="Cache hits (%)", chart_id="chart-cache-hit-ratio",
        ),
        table=Table(
            [("Day (UTC)", False), ("Served requests", True), ("Cache hits", True), ("Hit ratio", True)],
            [[_day(row.day), _number(row.served), _number(row.hits), _percent(row.ratio)] for row in days],
            footer=[Cell("Total"), _number(total.served), _number(total.hits), _percent(total.ratio)],
        ),
        summary=[("Hit ratio", _percent(total.ratio).text), ("Served requests", charts.format_value(total.served)),
                 ("Cache hits", charts.format_value(total.hits))],
    )


def _present_denied_by_rule(rows, page):
    return Presentation(
        Table(
            [("Rule", False), ("Denied requests", True)],
            [[_text(row.rule, "(no rule named)"), _number(row.count)] for row in rows],
            footer=[Cell("Total"), _number(sum(row.count for row in rows))] if rows else None,
            empty="No request was denied in this period.",
        ),
    )


def _present_fetch_failures(rows, page):
    outcomes = dict(FetchEvent.Outcome.choices)
    return Presentation(
        Table(
            [("Upstream", False), ("Outcome", False), ("Attempts", True), ("Last", False), ("Last error", False)],
            [
                [Cell(row.upstream), Cell(outcomes.get(row.outcome, row.outcome)), _number(row.count),
                 _when(row.last_time), Cell(row.last_error)]
                for row in rows
            ],
            footer=[Cell("Total"), Cell(""), _number(sum(row.count for row in rows)), Cell(""), Cell("")]
            if rows else None,
            empty="No failed upstream fetch in this period.",
        ),
    )


def _present_fetch_latency(rows, page):
    overall = rows[0] if rows else reports.FetchLatency(None, 0, None, None)
    return Presentation(
        Table(
            [("Upstream", False), ("Fetches", True), ("Median (ms)", True), ("95th percentile (ms)", True)],
            [
                [Cell(row.upstream or "All upstreams"), _number(row.count), _ms(row.median_ms), _ms(row.p95_ms)]
                for row in rows
                if row.upstream is not None or len(rows) == 1
            ],
            footer=[Cell("All upstreams"), _number(overall.count), _ms(overall.median_ms), _ms(overall.p95_ms)]
            if len(rows) > 1 else None,
        ),
        summary=[("Median", _ms(overall.median_ms).text + " ms"), ("95th percentile", _ms(overall.p95_ms).text + " ms"),
                 ("Fetches", charts.format_value(overall.count))],
    )


def _present_who_downloaded(rows, page):
    machines = {row.client_addr for row in rows}
    clients = {(row.client_addr, row.username, row.auth) for row in rows}
    versions = {row.version for row in rows}
    return Presentation(
        Table(
            [("Client address", False), ("User", False), ("Authentication", False), ("Version", False),
             ("First download", False), ("Last download", False), ("Requests", True)],
            [
                [_address(row, page), _user(row, page), _authentication(row, page), Cell(row.version),
                 _when(row.first_time), _when(row.last_time), _number(row.count)]
                for row in rows
            ],
            empty="No client downloaded a matching version in this period.",
        ),
        summary=[("Machines (addresses)", str(len(machines))), ("Clients (address, user)", str(len(clients))),
                 ("Versions", str(len(versions)))],
    )


PRESENTERS = {
    "downloads": _present_downloads,
    "top-modules": _present_top_modules,
    "top-versions": _present_top_versions,
    "top-clients": _present_top_clients,
    "cache-hit-ratio": _present_cache_hit_ratio,
    "denied-by-rule": _present_denied_by_rule,
    "fetch-failures": _present_fetch_failures,
    "fetch-latency": _present_fetch_latency,
    "who-downloaded": _present_who_downloaded,
}


def _present_plainly(report, rows):
    return Presentation(Table(
        [(column, False) for column in report.columns],
        [[_text(getattr(row, column), "") for column in report.columns] for row in rows],
    ))


# --- CSV -------------------------------------------------------------------------------

# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection):
# module paths, user agents and error texts come from clients and upstreams.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralize(value: str) -> str:
    """Make a CSV cell inert: a leading quote before a formula character."""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def _csv_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)  # numbers are never formulas, and -1 stays a number
    return neutralize(str(value))


class _Lines:
    """A file-like object whose write returns the line: csv.writer yields, not buffers."""

    def write(self, line: str) -> str:
        return line


def csv_response(filename: str, header, rows) -> StreamingHttpResponse:
    """``rows`` (iterables of values) as a CSV download, produced row by row."""
    writer = csv.writer(_Lines())

    def lines():
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow([_csv_value(value) for value in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _csv_filename(name: str, form: PeriodForm) -> str:
    first, last = form.cleaned_data["first_day"], form.cleaned_data["last_day"]
    return f"athens-{name}-{first:%Y%m%d}-{last:%Y%m%d}.csv"


def _form_errors_response(form) -> HttpResponse:
    lines = [f"{'' if field == '__all__' else field + ': '}{message}"
             for field, messages in form.errors.items() for message in messages]
    return HttpResponse("\n".join(lines) + "\n", status=400, content_type="text/plain; charset=utf-8")


# --- Views -----------------------------------------------------------------------------


def _check_permission(request):
    if not permissions.allowed(request.user, permissions.AUDIT_REPORTS):
        raise PermissionDenied


class _Page:
    """What every report page needs: the period in links to other reports, the presets."""

    def __init__(self, request, form):
        self.request = request
        self.period = {}
        form.is_valid()
        if "first_day" in form.cleaned_data:
            self.period = {"since": form.cleaned_data["first_day"].isoformat(),
                           "until": form.cleaned_data["last_day"].isoformat()}

    def link(self, name, **params) -> str:
        url = reverse("audit_reports:report", args=[name])
        return f"{url}?{urlencode({**params, **self.period})}"

    def presets(self):
        """The 7/30/90-day links, keeping the report's own parameters."""
        period_keys = ("since", "until", "days", "format")
        kept = {key: value for key, value in self.request.GET.items() if key not in period_keys}
        chosen = self.request.GET.get("days") or (
            str(DEFAULT_DAYS) if not self.request.GET.get("since") and not self.request.GET.get("until") else ""
        )
        return [
            {"days": days, "url": "?" + urlencode({**kept, "days": days}), "current": chosen == str(days)}
            for days in PRESET_DAYS
        ]

    def csv_url(self) -> str:
        query = {key: value for key, value in self.request.GET.items() if key != "format"}
        return "?" + urlencode({**query, "format": "csv"})


def _context(request, page, form, title, **extra):
    return {
        **admin.site.each_context(request),
        "opts": DownloadEvent._meta,
        "title": title,
        "form": form,
        "page": page,
        "presets": page.presets(),
        "reports_nav": [(name, TAB_LABELS.get(name, reports.REPORTS[name].title)) for name in _ordered_names()],
        **extra,
    }


def _ordered_names():
    known = [name for name in OVERVIEW_ORDER if name in reports.REPORTS]
    return known + [name for name in reports.REPORTS if name not in known]


def _describe(name: str) -> str:
    """What a report answers: DESCRIPTIONS, or the first paragraph of its docstring."""
    if name in DESCRIPTIONS:
        return DESCRIPTIONS[name]
    text = (reports.REPORTS[name].description or "").strip().split("\n\n")[0]
    return " ".join(text.replace("``", "").split())


def index(request):
    """The overview: headline numbers for the period, the downloads chart, every report."""
    _check_permission(request)
    form = PeriodForm(request.GET)
    page = _Page(request, form)
    context = _context(request, page, form, "Audit reports")
    if form.is_valid():
        since, until = form.cleaned_data["period"]
        days = reports.downloads_over_time(since, until)
        *_, hits = reports.cache_hit_ratio(since, until)
        latency = reports.fetch_latency(since, until)[0]
        denied = sum(row.count for row in reports.denied_by_rule(since, until))
        failures = sum(row.count for row in reports.fetch_failures(since, until))
        context["headline"] = [
            ("Requests", charts.format_value(sum(row.count for row in days)), page.link("downloads")),
            ("Cache hit ratio", _percent(hits.ratio).text, page.link("cache-hit-ratio")),
            ("Denied requests", charts.format_value(denied), page.link("denied-by-rule")),
            ("Failed fetches", charts.format_value(failures), page.link("fetch-failures")),
            ("Fetch latency, median", _ms(latency.median_ms).text + " ms", page.link("fetch-latency")),
            ("Fetch latency, 95th percentile", _ms(latency.p95_ms).text + " ms", page.link("fetch-latency")),
        ]
        context["chart"] = charts.bar_chart(
            [(row.day, row.count) for row in days], title="Download API requests per day (UTC)",
            value_label="Requests", chart_id="chart-downloads",
        )
        context["events_csv"] = reverse("audit_reports:events_csv") + "?" + urlencode(page.period)
    context["report_list"] = [
        {"title": reports.REPORTS[name].title, "url": page.link(name) if page.period else
         reverse("audit_reports:report", args=[name]), "description": _describe(name)}
        for name in _ordered_names()
    ]
    return TemplateResponse(request, "admin/audit/reports/index.html", context)


def report_page(request, name):
    """One report as a page (table, chart) or, with ``?format=csv``, as CSV."""
    _check_permission(request)
    report = reports.REPORTS.get(name)
    if report is None:
        raise Http404(f"No report named {name!r}")
    form_class = report_form_class(report)
    wants_csv = request.GET.get("format") == "csv"
    form = form_class(request.GET)
    form.is_valid()
    # A form page's first visit (its required parameters not asked for at all): show the
    # form with the default period, without "this field is required" errors.
    first_visit = not wants_csv and not any(key in request.GET for key in REQUIRED_PARAMETERS.get(name, ()))
    if first_visit:
        for key in REQUIRED_PARAMETERS.get(name, ()):
            form.errors.pop(key, None)
    page = _Page(request, form)

    rows = None
    if form.is_valid() and not (first_visit and REQUIRED_PARAMETERS.get(name)):
        since, until = form.cleaned_data["period"]
        params = {key: form.cleaned_data[key] for key, _, _ in report.parameters
                  if form.cleaned_data.get(key) not in (None, "")}
        try:
            rows = report.run(since, until, **params)
        except reports.ReportError as exc:
            form.add_error(None, str(exc))

    if wants_csv:
        if rows is None:
            return _form_errors_response(form)
        return csv_response(_csv_filename(name, form), report.columns,
                            ([getattr(row, column) for column in report.columns] for row in rows))

    context = _context(request, page, form, report.title, report=report, report_name=name,
                       description=_describe(name))
    if rows is not None:
        presenter = PRESENTERS.get(name)
        context["presentation"] = presenter(rows, page) if presenter else _present_plainly(report, rows)
        context["csv_url"] = page.csv_url()
        context["caption"] = _caption(report, form.cleaned_data)
        if name == "who-downloaded":
            context["events_csv"] = reverse("audit_reports:events_csv") + "?" + urlencode(
                {"module": form.cleaned_data["module"], **page.period})
    return TemplateResponse(request, "admin/audit/reports/report.html", context)


def _caption(report, cleaned) -> str:
    """What the table shows: the report (or the module asked about) and the period."""
    period = f"{cleaned['first_day']:%Y-%m-%d} to {cleaned['last_day']:%Y-%m-%d}"
    if report.name == "who-downloaded":
        return f"Downloads of {cleaned['module']} {cleaned.get('constraint') or 'at any version'}, {period}"
    if cleaned.get("module"):
        return f"{report.title} of {cleaned['module']}, {period}"
    return f"{report.title}, {period}"


def events_csv(request):
    """Every download event of the period (of one module if ``module`` is given), as CSV."""
    _check_permission(request)
    form = RawEventsForm(request.GET)
    if not form.is_valid():
        return _form_errors_response(form)
    since, until = form.cleaned_data["period"]
    module = form.cleaned_data["module"] or None
    events = reports.raw_events(since, until, module)
    fields = reports.RAW_EVENT_FIELDS
    name = "events" + (f"-{module.replace('/', '_')}" if module else "")
    return csv_response(_csv_filename(name, form), fields, ([event[field] for field in fields] for event in events))


urlpatterns = [
    path("", admin.site.admin_view(index), name="index"),
    path("events.csv", admin.site.admin_view(events_csv), name="events_csv"),
    path("<slug:name>/", admin.site.admin_view(report_page), name="report"),
]
