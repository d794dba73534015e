"""/tokens/: a logged-in person's own proxy tokens: list, create, revoke.

Every person manages their own, so no model permission is asked, only a login (even
with ATHENS_UI_PUBLIC: the page is about the account). Tokens of other people, and the
person's own API tokens, are not reachable from here: the queryset is always the
person's proxy tokens, so someone else's token id is a 404. Staff revoke anyone's in
the admin.

A new token's secret is shown in the response to the POST that created it, with the
netrc and GOPROXY lines, and nowhere else: it is not stored (only its digest is), not
put in the session, and the page is sent with Cache-Control: no-store so the browser's
history does not keep it either. Reloading the list afterwards never shows it again.

Routes start with `tokens/`, which has no dot, so they never collide with a module path
of the download API.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from .client_setup import client_setup, goproxy_url
from .forms import ProxyTokenForm
from .models import ApiToken


def own_tokens(user):
    """The proxy tokens of `user`, newest first, revoked and expired ones included."""
    return ApiToken.objects.filter(user=user, kind=ApiToken.Kind.PROXY).order_by("-created", "-id")


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def token_list(request):
    form = ProxyTokenForm(request.POST if request.method == "POST" else None)
    created = None
    if form.is_bound and form.is_valid():
        token, secret = form.create(request.user)
        created = {
            "token": token,
            "secret": secret,
            "setup": client_setup(goproxy_url(request), request.user.get_username(), secret),
        }
        form = ProxyTokenForm()
    return render(request, "tokens/list.html", {
        "nav": "tokens",
        "form": form,
        "created": created,
        "tokens": own_tokens(request.user),
    })


@login_required
@require_POST
def revoke(request, pk):
    token = get_object_or_404(own_tokens(request.user), pk=pk)
    if token.revoke():
        messages.success(request, f"Revoked token {token.prefix}… ({token.name or 'no name'}).")
    return HttpResponseRedirect(reverse("tokens:list"))


urlpatterns = [
    path("tokens/", token_list, name="list"),
    path("tokens/<int:pk>/revoke", revoke, name="revoke"),
]
