"""The dashboard (spec §5): one static page over the public API, served at the API's root."""

from chalice import Blueprint, Response

from whatsam.config import get_settings
from whatsam.http.dashboard import dashboard_response
from whatsam.http.endpoint import Call, endpoint

bp = Blueprint(__name__)


@endpoint(bp, "GET", "/", summary="The dashboard: sign up, connect a number, send, see webhooks and usage (HTML)",
          tag="dashboard", auth="none", response_description="The dashboard page (text/html)")
def dashboard(call: Call) -> Response:
    return dashboard_response(dev_mode=get_settings().dev_mode)
