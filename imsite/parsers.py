"""Request bodies: every JSON body of the API is an object (docs/api.md section 0), so a body that is
valid JSON but not an object is refused as `invalid` here, before a view reads fields from it."""

from typing import Any

from django.utils.translation import gettext as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from imsite.nul import contains_nul


class JSONObjectParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict | None = None) -> Any:
        data = super().parse(stream, media_type, parser_context)
        if not isinstance(data, dict):
            raise ParseError(_("The JSON body must be an object."))
        if contains_nul(data):
            raise ParseError(_("Text must not contain NUL characters."))
        return data
