"""The form by which a person creates a proxy token for themselves (/tokens/).

The limits are the model's and the command's: a name of at most 100 characters (here
required, since it is the only way to tell one's laptops apart later), and an optional
lifetime in days, at most ten years, so the expiry date stays a date.
"""

from django import forms

from .models import MAX_EXPIRES_DAYS, ApiToken


class ProxyTokenForm(forms.Form):
    name = forms.CharField(max_length=ApiToken._meta.get_field("name").max_length)
    # Empty: the token never expires.
    expires_days = forms.IntegerField(
        label="Expires in (days)", required=False, min_value=1, max_value=MAX_EXPIRES_DAYS,
    )

    def create(self, user) -> tuple[ApiToken, str]:
        """A new proxy token of `user` and its secret (valid forms only); the secret is
        not kept anywhere, so the caller shows it now or never."""
        return ApiToken.create_token(
            user, self.cleaned_data["name"], self.cleaned_data["expires_days"], kind=ApiToken.Kind.PROXY,
        )
