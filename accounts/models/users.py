from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.functions import Lower


class User(AbstractUser):
    # The UI language the user chose (docs/api.md section 12); null: not chosen, the browser's
    # Accept-Language decides.
    language = models.CharField(max_length=16, null=True, blank=True, choices=settings.LANGUAGES)
    display_name = models.CharField(max_length=64, blank=True)
    avatar = models.ForeignKey("chat.Attachment", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")

    class Meta:
        constraints = [
            # Usernames are unique regardless of case ("Alice" and "alice" are one account).
            models.UniqueConstraint(Lower("username"), name="user_username_ci_unique"),
        ]
        indexes = [
            # GET /api/v1/users?q= : prefix search on the lower-cased username and display name.
            models.Index(Lower("username"), name="user_username_lower_idx"),
            models.Index(Lower("display_name"), name="user_display_lower_idx"),
        ]

    @property
    def shown_name(self) -> str:
        return self.display_name or self.username
