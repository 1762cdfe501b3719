"""Role checks in one place: a view decorator, a class-based view mixin and a DRF permission."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission

from apps.organizations.models import Role


def has_role(request, roles) -> bool:
    membership = getattr(request, "membership", None)
    if membership is None:
        return False
    return not roles or membership.role in roles


def role_required(*roles: Role):
    """Signed-in member of the current organization with one of `roles` (any role when none given)."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not has_role(request, roles):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


class RoleRequiredMixin:
    required_roles: tuple[Role, ...] = ()

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not has_role(request, self.required_roles):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


class HasOrganizationRole(BasePermission):
    """DRF permission: the view's `required_roles` (or, per method, `required_roles_by_method`)."""

    message = "Your role in this organization does not allow this action."

    def has_permission(self, request, view):
        by_method = getattr(view, "required_roles_by_method", {})
        roles = by_method.get(request.method, getattr(view, "required_roles", ()))
        return has_role(request, roles)
