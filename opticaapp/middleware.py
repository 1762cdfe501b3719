"""Project-wide HTTP rules: a request body limit, and no caching of what a signed-in user is shown."""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.utils.cache import patch_cache_control

from opticaapp.views import request_too_large


class RequestSizeLimitMiddleware:
    """Django limits only the non-file part of a body (DATA_UPLOAD_MAX_MEMORY_SIZE); this refuses any body over
    MAX_REQUEST_BYTES (the API takes no files: DATA_UPLOAD_MAX_MEMORY_SIZE there) with 413 before it is read."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        api = request.path.startswith("/api/")
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE if api else settings.MAX_REQUEST_BYTES
        if limit is not None and length > limit:
            return request_too_large(request)
        return self.get_response(request)

    def process_exception(self, request, exception):
        # A body without Content-Length (chunked) is only found too big while it is read.
        if isinstance(exception, RequestDataTooBig):
            return request_too_large(request)
        return None


class NoStoreMiddleware:
    """A signed-in user's pages and API answers hold patients' data: no browser history, back button after
    logout or shared proxy may keep a copy. Answers that set their own Cache-Control keep it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not response.has_header("Cache-Control"):
            patch_cache_control(response, no_store=True, private=True)
        return response
