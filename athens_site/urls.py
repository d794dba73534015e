"""URL routes: the download API at the root, then admin, API, health checks, a person's
own proxy tokens (`tokens/`) and the cache browser.

Module paths need a dot in their first element, so they never collide with `admin/`,
`api/`, `healthz`, `readyz` or `metrics`.
"""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

from audit import report_views
from audit.api import DownloadEventViewSet, FetchEventViewSet
from modules import metrics
from modules.policy.api import PolicyRuleViewSet
from modules.tokens import views as tokens
from modules.views import browse, goproxy, health

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("audit/downloads", DownloadEventViewSet, basename="downloadevent")
router.register("audit/fetches", FetchEventViewSet, basename="fetchevent")
router.register("rules", PolicyRuleViewSet, basename="policyrule")

# A refused Host header (ATHENS_ALLOWED_HOSTS) and other bad requests: plain text,
# without echoing what was sent.
handler400 = "athens_site.errors.bad_request"

admin.site.site_header = "Athens module proxy"
admin.site.site_title = "Athens"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    # Before the admin's own URLs, whose catch-all would answer first. Staff only: each
    # view is wrapped in admin.site.admin_view (see audit/report_views.py).
    path("admin/audit/reports/", include((report_views.urlpatterns, "audit_reports"))),
    path("accounts/login/", auth_views.LoginView.as_view(template_name="browse/login.html"), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(next_page="/"), name="logout"),
    path("admin/", admin.site.urls),
    path("api/audit/reports/", include("audit.reports_api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/", include(router.urls)),
    # A person's own proxy tokens (`tokens/`: no dot, so no module path).
    path("", include((tokens.urlpatterns, "tokens"))),
    # The cache browser: `/` and everything under `modules/`, which is no module path
    # (no dot in its first element), so the download API below never sees these URLs.
    path("", include((browse.urlpatterns, "browse"))),
    re_path(r"^(?P<path>sumdb/[\s\S]*)\Z", goproxy.download, name="sumdb"),
    # Anything with an `/@` element is the download API's to answer (in text/plain, for
    # the go command), also the malformed (`/@v`, `/@latest/`, a newline in the path:
    # `[\s\S]`, since Django cannot reverse an inline `(?s)`).
    re_path(r"^(?P<path>[\s\S]+/@[\s\S]*)\Z", goproxy.download, name="download"),
]
