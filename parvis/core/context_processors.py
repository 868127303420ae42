"""What every page needs: the current organisation, the switcher, the notification count."""

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from parvis.core import policies, registry
from parvis.core.notify import unread_count

NAV = {
    "spaces:my_spaces": "my_spaces",
    "spaces:tabs": "my_spaces",
    "spaces:directory": "directory",
    "core:directory": "people",
    "core:operator_organisations": "operator",
}


def _nav(request: HttpRequest) -> str:
    """Which entry of the main menu the page belongs to (marked aria-current)."""
    match = getattr(request, "resolver_match", None)
    name = match.view_name if match else ""
    if name in NAV:
        return NAV[name]
    for tool in registry.org_entries():
        if name.split(":")[0] == tool.org_url_name.split(":")[0] and "/e/" not in request.path:  # type: ignore[union-attr]
            return f"tool:{tool.name}"
    if "/admin/" in request.path:
        return "admin"
    if name.startswith("core:operator") or name.startswith("spaces:operator"):
        return "operator"
    return ""


def parvis(request: HttpRequest) -> dict[str, Any]:
    user = request.user
    if not user.is_authenticated:
        return {"oidc_enabled": settings.OIDC_ENABLED}
    org = getattr(request, "organisation", None)
    organisations = list(policies.organisations.visible(user))
    membership = policies.membership(user, org) if org is not None else None
    return {
        "organisations": organisations,
        "current_org": org,
        "is_org_admin": bool(membership and membership.is_admin),
        "is_guest": bool(membership and membership.is_guest),
        "unread_notifications": unread_count(user),  # type: ignore[arg-type]
        "oidc_enabled": settings.OIDC_ENABLED,
        "nav": _nav(request),
        "tool_menu": [(tool, f"tool:{tool.name}") for tool in registry.org_entries()],
        "tool_admin_menu": registry.admin_entries(),
    }
