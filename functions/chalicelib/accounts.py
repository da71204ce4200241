from chalice import Blueprint

from whatsam.bootstrap import container
from whatsam.http.endpoint import Call, endpoint
from whatsam.http.presenters import user_view
from whatsam.http.schemas import LoginRequest, RefreshRequest, RegisterRequest

bp = Blueprint(__name__)


@endpoint(bp, "POST", "/v1/auth/register", summary="Create an account", tag="auth", auth="none",
          body=RegisterRequest, status=201, errors=(409,), response_description="The user and a token pair",
          limits=("register",))
def register(call: Call) -> dict:
    user, pair = container().accounts.register(email=call.body.email, password=call.body.password,
                                               name=call.body.name)
    return {"user": user_view(user), **pair.to_dict()}


@endpoint(bp, "POST", "/v1/auth/login", summary="Log in with email and password", tag="auth", auth="none",
          body=LoginRequest, errors=(401, 403), response_description="The user and a token pair",
          limits=("login",))
def login(call: Call) -> dict:
    user, pair = container().accounts.login(email=call.body.email, password=call.body.password)
    return {"user": user_view(user), **pair.to_dict()}


@endpoint(bp, "POST", "/v1/auth/refresh", summary="Rotate a refresh token for a new token pair", tag="auth",
          auth="none", body=RefreshRequest, errors=(401,), response_description="A new token pair")
def refresh(call: Call) -> dict:
    return container().accounts.refresh(call.body.refresh_token).to_dict()


@endpoint(bp, "POST", "/v1/auth/logout", summary="Revoke this login's refresh chain", tag="auth", auth="user",
          status=204, response_description="Logged out")
def logout(call: Call) -> None:
    container().accounts.logout(call.user.family_id)


@endpoint(bp, "GET", "/v1/me", summary="Profile, tier and limits", tag="auth", auth="user")
def me(call: Call) -> dict:
    return user_view(call.user.user)
