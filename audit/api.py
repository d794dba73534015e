"""Read-only JSON API over the audit events (session or token), for accounts with the
view permission of each kind of event (athens_site/permissions.py)."""

import django_filters
from rest_framework import serializers, viewsets

from athens_site import permissions

from .models import DownloadEvent, FetchEvent


class _EventFilter(django_filters.FilterSet):
    """`module`, `version` (exact), `since` (inclusive) and `until` (exclusive), ISO 8601."""

    module = django_filters.CharFilter(field_name="module")
    version = django_filters.CharFilter(field_name="version")
    since = django_filters.IsoDateTimeFilter(field_name="time", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="time", lookup_expr="lt")


class DownloadEventFilter(_EventFilter):
    class Meta:
        model = DownloadEvent
        fields = ["module", "version", "since", "until", "endpoint", "status", "cache", "username", "request_id", "client_request_id"]


class FetchEventFilter(_EventFilter):
    class Meta:
        model = FetchEvent
        fields = ["module", "version", "since", "until", "endpoint", "outcome", "upstream", "request_id"]


class DownloadEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = DownloadEvent
        fields = [
            "id", "time", "module", "version", "endpoint", "method", "status", "cache", "bytes_sent",
            "duration_ms", "client_addr", "username", "auth", "token_name", "user_agent", "message", "request_id",
            "forwarded_for", "client_request_id",
        ]


class FetchEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = FetchEvent
        fields = [
            "id", "time", "module", "version", "endpoint", "upstream", "outcome", "bytes",
            "duration_ms", "zip_hash", "mod_hash", "error", "notices", "worker", "request_id",
        ]


class DownloadEventViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = DownloadEvent.objects.all()
    serializer_class = DownloadEventSerializer
    filterset_class = DownloadEventFilter
    permission_action = permissions.AUDIT_DOWNLOADS


class FetchEventViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = FetchEvent.objects.all()
    serializer_class = FetchEventSerializer
    filterset_class = FetchEventFilter
    permission_action = permissions.AUDIT_FETCHES
