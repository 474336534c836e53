"""The HTTP edge is wired to the container: no route receives a dependency-injector marker
instead of a use-case, every `use(name)` names a real provider, and no route answers 500."""

from __future__ import annotations

import dataclasses
import inspect
import re
from collections.abc import Callable, Iterator
from typing import Any, cast, get_args, get_origin
from uuid import uuid4

import pytest
from dependency_injector import providers
from dependency_injector.wiring import Closing, Provide, Provider
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from appointments.application import appointments as app_appointments
from appointments.application import departments as app_departments
from appointments.application import doctors as app_doctors
from appointments.application import patients as app_patients
from appointments.application import rooms as app_rooms
from appointments.application import services as app_services
from appointments.application import users as app_users
from appointments.container import Container
from appointments.domain.changes import UNSET
from appointments.entrypoints.api.app import create_app
from appointments.entrypoints.api.schemas import appointments as schemas_appointments
from appointments.entrypoints.api.schemas import catalog as schemas_catalog
from appointments.entrypoints.api.schemas import clinic as schemas_clinic
from appointments.entrypoints.api.schemas import users as schemas_users
from tests import conftest
from tests.api.support import ApiClinic, bearer, forbid_secrets_in_responses

MARKERS = cast(tuple[type, ...], (Provide, Provider, Closing))


def _app_for_inspection() -> FastAPI:
    container = Container()
    container.settings.override(providers.Object(conftest.test_settings("sqlite+aiosqlite://")))
    return create_app(container)


def api_routes(app: FastAPI) -> Iterator[tuple[str, set[str], Dependant]]:
    """(path, methods, effective dependant) for every APIRoute, routers included."""
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute):
            yield str(context.path), set(context.methods or ()), context.dependant


def walk(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for child in dependant.dependencies:
        yield from walk(child)


def is_marker(value: Any) -> bool:
    if isinstance(value, MARKERS) or value in MARKERS:
        return True
    return get_origin(value) is not None and any(is_marker(a) for a in get_args(value))


def use_name(call: Callable[..., Any]) -> str | None:
    """The provider name a `use(name)` dependency resolves, or None for other callables."""
    if not getattr(call, "__name__", "").startswith("use_"):
        return None
    name = inspect.getclosurevars(call).nonlocals.get("name")
    assert isinstance(name, str), f"{call.__name__} does not close over a provider name"
    return name


ROUTES = sorted(
    (path, method) for path, methods, _ in api_routes(_app_for_inspection()) for method in methods
)


def test_routes_were_found() -> None:
    """Guards the walk itself: an empty walk would make the checks below vacuous."""
    paths = {path for path, _ in ROUTES}
    assert {"/health", "/api/auth/login", "/api/admin/users/{user_id}"} <= paths
    assert len(ROUTES) >= 40


def test_no_dependency_is_a_dependency_injector_marker() -> None:
    checked = 0
    for path, _, dependant in api_routes(_app_for_inspection()):
        for node in walk(dependant):
            if node.call is None:
                continue
            checked += 1
            assert not is_marker(node.call), f"{path}: {node.call!r}"
            for parameter in inspect.signature(node.call).parameters.values():
                assert not is_marker(parameter.default), f"{path}: {parameter}"
                for extra in getattr(parameter.annotation, "__metadata__", ()):
                    dependency = getattr(extra, "dependency", None)
                    assert not is_marker(dependency), f"{path}: {parameter}"
            for field in (*node.query_params, *node.body_params, *node.path_params):
                assert not is_marker(field.field_info.default), f"{path}: {field.name}"
    assert checked > len(ROUTES)


def test_marker_detection_works() -> None:
    """Control: the check above would catch `Depends(Provide[Container.x])`."""
    assert is_marker(Provide[Container.login])
    assert is_marker(Provide["login"])
    assert not is_marker(Container.login)
    assert not is_marker(lambda: None)


def test_every_use_names_a_container_provider() -> None:
    container = Container()
    container.settings.override(providers.Object(conftest.test_settings("sqlite+aiosqlite://")))
    used: set[str] = set()
    for path, _, dependant in api_routes(_app_for_inspection()):
        for node in walk(dependant):
            if node.call is not None and (name := use_name(node.call)) is not None:
                assert name in Container.providers, f"{path}: unknown provider {name!r}"
                assert isinstance(getattr(container, name), providers.Factory), (path, name)
                used.add(name)
    # Every use-case the container offers the API is reachable from some route.
    assert {"login", "register_patient", "list_users", "dashboard_stats"} <= used
    assert len(used) >= 35


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda _: str(uuid4()), path)


async def test_no_route_answers_500(clinic: ApiClinic) -> None:
    """Every route once with an admin token, dummy ids and an empty object as body (a fresh
    token each time: logout revokes the one it is given)."""
    forbid_secrets_in_responses(clinic.client)
    admin = await clinic.admin()
    broken = []
    for path, method in ROUTES:
        body: dict[str, Any] | None = {} if method in {"POST", "PUT", "PATCH"} else None
        headers = bearer(await clinic.login(admin.user["username"]))
        response = await clinic.client.request(method, _concrete(path), json=body, headers=headers)
        if response.status_code >= 500 or response.status_code == 401:
            broken.append((method, path, response.status_code, response.text))
        elif response.status_code >= 400 and method == "HEAD":
            pass  # a HEAD answer has no body
        elif response.status_code >= 400 and path.startswith("/fhir/"):
            issue = response.json()["issue"][0]  # an OperationOutcome
            assert issue["diagnostics"], (method, path)
        elif response.status_code >= 400:
            assert response.json()["detail"], (method, path)
    assert broken == []


@pytest.mark.parametrize(
    ("model", "changes"),
    [
        (schemas_users.AdminUserPatchIn, app_users.UserChanges),
        (schemas_clinic.DepartmentPatchIn, app_departments.DepartmentChanges),
        (schemas_clinic.DoctorPatchIn, app_doctors.DoctorChanges),
        (schemas_clinic.PatientIn, app_patients.PatientChanges),
        (schemas_clinic.PatientPatchIn, app_patients.PatientChanges),
        (schemas_appointments.AppointmentPatchIn, app_appointments.AppointmentChanges),
        (schemas_catalog.ServicePatchIn, app_services.ServiceChanges),
        (schemas_catalog.RoomPatchIn, app_rooms.RoomChanges),
    ],
)
def test_every_patch_body_maps_onto_its_partial_update(model: Any, changes: Any) -> None:
    """`Input.changes()` passes the sent fields by name: the names must match, and a field
    the client leaves out must stay UNSET."""
    assert set(model.model_fields) == {f.name for f in dataclasses.fields(changes)}
    assert all(
        getattr(model.model_construct(_fields_set=set()).changes(changes), f.name) is UNSET
        for f in dataclasses.fields(changes)
    )
