"""The composition root: the only place that names concrete adapters.

Engine and stateless services are Singletons (one per process); the unit of work and the
use-cases are Factories, so every request gets a fresh transaction. Tests override
providers (`container.uow.override(...)`) instead of patching.
"""

from __future__ import annotations

from datetime import timedelta

from dependency_injector import containers, providers

from appointments.adapters.clock import SystemClock
from appointments.adapters.network import ResolvingUrlGuard
from appointments.adapters.security import JwtTokenService, PasslibPasswordHasher
from appointments.adapters.smtp import SmtpMailer
from appointments.adapters.sqlalchemy.engine import create_engine
from appointments.adapters.sqlalchemy.unit_of_work import SqlUnitOfWork
from appointments.adapters.webhook_sender import HttpxWebhookSender
from appointments.application import (
    appointments,
    audit,
    auth,
    calendar_feeds,
    departments,
    doctors,
    holds,
    idempotency,
    offers,
    patients,
    policy,
    rooms,
    schedules,
    series,
    services,
    stats,
    users,
    waitlist,
    webhooks,
)
from appointments.application.config import ClinicConfig
from appointments.application.dispatch import DispatchConfig, Dispatcher
from appointments.application.ports.services import Clock
from appointments.settings import Settings, hash_slots


def _token_service(settings: Settings, clock: Clock) -> JwtTokenService:
    return JwtTokenService(
        settings.secret_key.get_secret_value(), settings.access_token_expire_minutes, clock
    )


def _password_hasher(settings: Settings) -> PasslibPasswordHasher:
    return PasslibPasswordHasher(
        memory_kib=settings.password_hash_memory_kib,
        time_cost=settings.password_hash_time_cost,
        max_concurrent=settings.password_hash_concurrency or hash_slots(1),
    )


def _url_guard(settings: Settings) -> ResolvingUrlGuard:
    return ResolvingUrlGuard(allow_private_networks=settings.webhook_allow_private_networks)


def _clinic(settings: Settings) -> ClinicConfig:
    return ClinicConfig(
        timezone=settings.clinic_timezone,
        login_max_failures=settings.login_max_failures,
        login_window_seconds=settings.login_window_seconds,
        hold_minutes=settings.hold_minutes,
        waitlist_offer_minutes=settings.waitlist_offer_minutes,
    )


def _mailer(settings: Settings) -> SmtpMailer | None:
    url = settings.smtp_url.get_secret_value()
    return SmtpMailer(url, settings.mail_from) if url else None


def _dispatch_config(settings: Settings) -> DispatchConfig:
    return DispatchConfig(
        retry_seconds=tuple(settings.webhook_retry_seconds),
        timezone=settings.clinic_timezone,
        lease=timedelta(seconds=settings.dispatch_lease_seconds),
    )


class Container(containers.DeclarativeContainer):
    settings = providers.Singleton(Settings)

    engine = providers.Singleton(
        create_engine,
        url=settings.provided.database_url,
        pool_size=settings.provided.db_pool_size,
        pool_timeout=settings.provided.db_pool_timeout,
    )
    clock = providers.Singleton(SystemClock)
    hasher = providers.Singleton(_password_hasher, settings)
    tokens = providers.Singleton(_token_service, settings, clock)
    clinic = providers.Singleton(_clinic, settings)
    # Webhook URLs: refused when they reach internal addresses (also asked at delivery).
    url_guard = providers.Singleton(_url_guard, settings)

    uow = providers.Factory(SqlUnitOfWork, engine=engine, clock=clock)
    # For use-cases that change nothing: no BEGIN/ROLLBACK round trips.
    read_uow = providers.Factory(SqlUnitOfWork, engine=engine, clock=clock, read_only=True)
    # Authentication's: it hands its connection over to the use-case of the same request.
    principal_uow = providers.Factory(
        SqlUnitOfWork, engine=engine, clock=clock, read_only=True, hand_over=True
    )
    # For work whose statements are each a whole change (the idempotency key store):
    # every statement commits as it runs, no BEGIN/COMMIT round trips.
    autocommit_uow = providers.Factory(SqlUnitOfWork, engine=engine, clock=clock, autocommit=True)

    # delivery of the outbox: webhooks and patient email
    webhook_sender = providers.Singleton(HttpxWebhookSender)
    mailer = providers.Singleton(_mailer, settings)
    dispatcher = providers.Singleton(
        Dispatcher,
        uow=uow.provider,
        read_uow=read_uow.provider,
        clock=clock,
        guard=url_guard,
        sender=webhook_sender,
        mailer=mailer,
        config=providers.Callable(_dispatch_config, settings),
        offer_time=providers.Singleton(offers.OfferFreedTime, clock, clinic),
        sweep=providers.Factory(offers.Sweep, uow, clock, clinic).provider,
    )

    # identity
    register_patient = providers.Factory(auth.RegisterPatient, uow, hasher, clock)
    login = providers.Factory(auth.Login, uow, autocommit_uow, hasher, tokens, clock, clinic)
    authenticate = providers.Factory(auth.Authenticate, principal_uow, tokens)
    get_me = providers.Factory(auth.GetMe, read_uow)
    logout = providers.Factory(auth.Logout, uow, clock)
    change_password = providers.Factory(auth.ChangePassword, uow, hasher, clock)
    provision_admin = providers.Factory(auth.ProvisionAdmin, uow, hasher, clock)

    # admin
    list_users = providers.Factory(users.ListUsers, read_uow)
    create_user = providers.Factory(users.CreateUser, uow, hasher, clock)
    get_user = providers.Factory(users.GetUser, read_uow)
    update_user = providers.Factory(users.UpdateUser, uow, hasher, clock)
    deactivate_user = providers.Factory(users.DeactivateUser, uow, clock)
    dashboard_stats = providers.Factory(stats.GetDashboardStats, read_uow, clock, clinic)
    list_audit_events = providers.Factory(audit.ListAuditEvents, read_uow)

    # webhook endpoints
    list_webhooks = providers.Factory(webhooks.ListWebhooks, read_uow)
    get_webhook = providers.Factory(webhooks.GetWebhook, read_uow)
    list_deliveries = providers.Factory(webhooks.ListDeliveries, read_uow)
    create_webhook = providers.Factory(webhooks.CreateWebhook, uow, clock, url_guard)
    update_webhook = providers.Factory(webhooks.UpdateWebhook, uow, url_guard)
    delete_webhook = providers.Factory(webhooks.DeleteWebhook, uow)

    # departments
    list_departments = providers.Factory(departments.ListDepartments, read_uow)
    get_department = providers.Factory(departments.GetDepartment, read_uow)
    create_department = providers.Factory(departments.CreateDepartment, uow)
    update_department = providers.Factory(departments.UpdateDepartment, uow)
    delete_department = providers.Factory(departments.DeleteDepartment, uow)

    # services, rooms, policy
    list_services = providers.Factory(services.ListServices, read_uow)
    get_service = providers.Factory(services.GetService, read_uow)
    create_service = providers.Factory(services.CreateService, uow)
    update_service = providers.Factory(services.UpdateService, uow)
    delete_service = providers.Factory(services.DeleteService, uow)
    list_rooms = providers.Factory(rooms.ListRooms, read_uow)
    get_room = providers.Factory(rooms.GetRoom, read_uow)
    create_room = providers.Factory(rooms.CreateRoom, uow)
    update_room = providers.Factory(rooms.UpdateRoom, uow)
    delete_room = providers.Factory(rooms.DeleteRoom, uow)
    get_policy = providers.Factory(policy.GetPolicy, read_uow)
    put_policy = providers.Factory(policy.PutPolicy, uow)

    # doctors
    list_doctors = providers.Factory(doctors.ListDoctors, read_uow)
    get_doctor = providers.Factory(doctors.GetDoctor, read_uow)
    create_doctor = providers.Factory(doctors.CreateDoctor, uow, hasher, clock)
    update_doctor = providers.Factory(doctors.UpdateDoctor, uow)
    deactivate_doctor = providers.Factory(doctors.DeactivateDoctor, uow, clock)

    # schedules
    get_schedule = providers.Factory(schedules.GetSchedule, read_uow, clock, clinic)
    set_schedule = providers.Factory(schedules.SetSchedule, uow, clock, clinic)
    add_time_off = providers.Factory(schedules.AddTimeOff, uow)
    delete_time_off = providers.Factory(schedules.DeleteTimeOff, uow)
    get_availability = providers.Factory(schedules.GetAvailability, read_uow, clock, clinic)

    # patients
    list_patients = providers.Factory(patients.ListPatients, read_uow)
    get_patient = providers.Factory(patients.GetPatient, read_uow)
    create_patient = providers.Factory(patients.CreatePatient, uow, clock)
    update_patient = providers.Factory(patients.UpdatePatient, uow)
    deactivate_patient = providers.Factory(patients.DeactivatePatient, uow, clock)

    # appointments
    book_appointment = providers.Factory(appointments.BookAppointment, uow, clock, clinic)
    get_appointment = providers.Factory(appointments.GetAppointment, read_uow)
    appointment_history = providers.Factory(appointments.GetAppointmentHistory, read_uow)
    list_appointments = providers.Factory(appointments.ListAppointments, read_uow, clinic)
    update_appointment = providers.Factory(appointments.UpdateAppointment, uow, clock, clinic)
    change_status = providers.Factory(appointments.ChangeStatus, uow, clock)
    book_series = providers.Factory(series.BookSeries, uow, clock, clinic)
    get_series = providers.Factory(series.GetSeries, read_uow)
    cancel_series = providers.Factory(series.CancelSeries, uow, clock)

    # holds and the waitlist
    place_hold = providers.Factory(holds.PlaceHold, uow, clock, clinic)
    get_hold = providers.Factory(holds.GetHold, read_uow, clock)
    release_hold = providers.Factory(holds.ReleaseHold, uow, clock)
    join_waitlist = providers.Factory(waitlist.JoinWaitlist, uow, clock, clinic)
    list_waitlist = providers.Factory(waitlist.ListWaitlist, read_uow, clock, clinic)
    get_waitlist_entry = providers.Factory(waitlist.GetWaitlistEntry, read_uow, clock, clinic)
    cancel_waitlist_entry = providers.Factory(waitlist.CancelWaitlistEntry, uow, clock)
    accept_offer = providers.Factory(waitlist.AcceptOffer, uow, clock, clinic)
    # calendar feeds (the fetch counts itself: a write unit of work)
    create_calendar_feed = providers.Factory(calendar_feeds.CreateCalendarFeed, uow, clock)
    list_calendar_feeds = providers.Factory(calendar_feeds.ListCalendarFeeds, read_uow)
    revoke_calendar_feed = providers.Factory(calendar_feeds.RevokeCalendarFeed, uow, clock)
    read_calendar_feed = providers.Factory(
        calendar_feeds.ReadCalendarFeed,
        uow,
        clock,
        fetch_limit=settings.provided.calendar_feed_fetch_limit,
    )

    # idempotency keys (used by the HTTP middleware, not by routes)
    purge_schedule = providers.Singleton(idempotency.PurgeSchedule)
    claim_idempotency_key = providers.Factory(
        idempotency.ClaimKey,
        uow=autocommit_uow,
        clock=clock,
        ttl_hours=settings.provided.idempotency_ttl_hours,
    )
    finish_idempotency_key = providers.Factory(idempotency.FinishKey, uow=autocommit_uow)
    purge_idempotency_keys = providers.Factory(
        idempotency.PurgeExpiredKeys, uow=autocommit_uow, clock=clock, schedule=purge_schedule
    )
