"""The declared function-level access policy, transcribed from API.md.

Each entry maps (method, path template) to the callers that may use the operation *at
all*. Object-level rules ("that doctor", "the patient themself", "same visibility") are not
expressed here: a role listed here may still get 404 for an object it may not see, or 403
for an object it may see but not change. A caller NOT listed must get 401 (anonymous) or
403 (authenticated), whatever the object.

Every served route must have an entry and every entry a route (see API5 in
test_owasp_api_top10.py): adding an endpoint means deciding here who may call it.
"""

from __future__ import annotations

ANONYMOUS = "ANONYMOUS"
ADMIN = "ADMIN"
DOCTOR = "DOCTOR"
PATIENT = "PATIENT"

CALLERS = (ANONYMOUS, ADMIN, DOCTOR, PATIENT)
ANY_ROLE = frozenset({ADMIN, DOCTOR, PATIENT})
ANYONE = frozenset(CALLERS)
ADMIN_ONLY = frozenset({ADMIN})

# Routes the policy does not cover: documentation and health probes (anyone, no data).
EXCLUDED_PREFIXES = ("/docs", "/redoc", "/openapi.json", "/health")

POLICY: dict[tuple[str, str], frozenset[str]] = {
    # auth
    ("POST", "/api/auth/register"): ANYONE,
    ("POST", "/api/auth/login"): ANYONE,
    ("POST", "/api/auth/login/json"): ANYONE,
    ("GET", "/api/auth/me"): ANY_ROLE,
    ("POST", "/api/auth/logout"): ANY_ROLE,
    ("POST", "/api/auth/password"): ANY_ROLE,
    # admin: "ADMIN only; other roles 403"
    ("GET", "/api/admin/dashboard/stats"): ADMIN_ONLY,
    ("GET", "/api/admin/audit"): ADMIN_ONLY,
    ("GET", "/api/admin/users"): ADMIN_ONLY,
    ("POST", "/api/admin/users"): ADMIN_ONLY,
    ("GET", "/api/admin/users/{user_id}"): ADMIN_ONLY,
    ("PATCH", "/api/admin/users/{user_id}"): ADMIN_ONLY,
    ("DELETE", "/api/admin/users/{user_id}"): ADMIN_ONLY,
    ("GET", "/api/admin/webhooks"): ADMIN_ONLY,
    ("POST", "/api/admin/webhooks"): ADMIN_ONLY,
    ("GET", "/api/admin/webhooks/{webhook_id}"): ADMIN_ONLY,
    ("PATCH", "/api/admin/webhooks/{webhook_id}"): ADMIN_ONLY,
    ("DELETE", "/api/admin/webhooks/{webhook_id}"): ADMIN_ONLY,
    ("GET", "/api/admin/webhooks/{webhook_id}/deliveries"): ADMIN_ONLY,
    # departments
    ("GET", "/api/departments"): ANY_ROLE,
    ("GET", "/api/departments/{department_id}"): ANY_ROLE,
    ("POST", "/api/departments"): ADMIN_ONLY,
    ("PATCH", "/api/departments/{department_id}"): ADMIN_ONLY,
    ("DELETE", "/api/departments/{department_id}"): ADMIN_ONLY,
    # doctors
    ("GET", "/api/doctors"): ANY_ROLE,
    ("GET", "/api/doctors/{doctor_id}"): ANY_ROLE,
    ("POST", "/api/doctors"): ADMIN_ONLY,
    ("PATCH", "/api/doctors/{doctor_id}"): frozenset({ADMIN, DOCTOR}),  # the doctor itself
    ("DELETE", "/api/doctors/{doctor_id}"): ADMIN_ONLY,
    ("GET", "/api/doctors/{doctor_id}/schedule"): ANY_ROLE,
    ("PUT", "/api/doctors/{doctor_id}/schedule"): frozenset({ADMIN, DOCTOR}),  # that doctor
    ("POST", "/api/doctors/{doctor_id}/time-off"): frozenset({ADMIN, DOCTOR}),
    ("DELETE", "/api/doctors/{doctor_id}/time-off/{time_off_id}"): frozenset({ADMIN, DOCTOR}),
    ("GET", "/api/doctors/{doctor_id}/availability"): ANY_ROLE,
    # patients
    ("GET", "/api/patients"): ANY_ROLE,
    ("GET", "/api/patients/{patient_id}"): ANY_ROLE,
    ("POST", "/api/patients"): ADMIN_ONLY,
    ("PATCH", "/api/patients/{patient_id}"): frozenset({ADMIN, PATIENT}),  # the patient themself
    ("DELETE", "/api/patients/{patient_id}"): ADMIN_ONLY,
    # appointments
    ("GET", "/api/appointments"): ANY_ROLE,
    ("GET", "/api/appointments/{appointment_id}"): ANY_ROLE,
    ("GET", "/api/appointments/{appointment_id}/history"): ANY_ROLE,  # as the appointment
    ("POST", "/api/appointments"): ANY_ROLE,
    ("PATCH", "/api/appointments/{appointment_id}"): ANY_ROLE,  # parties and ADMIN
    ("POST", "/api/appointments/{appointment_id}/confirm"): frozenset({ADMIN, DOCTOR}),
    ("POST", "/api/appointments/{appointment_id}/check-in"): frozenset({ADMIN, DOCTOR}),
    ("POST", "/api/appointments/{appointment_id}/complete"): frozenset({ADMIN, DOCTOR}),
    ("POST", "/api/appointments/{appointment_id}/no-show"): frozenset({ADMIN, DOCTOR}),
    ("POST", "/api/appointments/{appointment_id}/cancel"): ANY_ROLE,  # the patient too
    ("DELETE", "/api/appointments/{appointment_id}"): ANY_ROLE,  # as cancel
    # appointment series: as booking, reading and cancelling its appointments
    ("POST", "/api/appointments/series"): ANY_ROLE,
    ("GET", "/api/appointments/series/{series_id}"): ANY_ROLE,
    ("POST", "/api/appointments/series/{series_id}/cancel"): ANY_ROLE,
    # services, rooms, booking policy
    ("GET", "/api/services"): ANY_ROLE,
    ("GET", "/api/services/{service_id}"): ANY_ROLE,
    ("POST", "/api/services"): ADMIN_ONLY,
    ("PATCH", "/api/services/{service_id}"): ADMIN_ONLY,
    ("DELETE", "/api/services/{service_id}"): ADMIN_ONLY,
    ("GET", "/api/rooms"): ANY_ROLE,
    ("GET", "/api/rooms/{room_id}"): ANY_ROLE,
    ("POST", "/api/rooms"): ADMIN_ONLY,
    ("PATCH", "/api/rooms/{room_id}"): ADMIN_ONLY,
    ("DELETE", "/api/rooms/{room_id}"): ADMIN_ONLY,
    ("GET", "/api/policy"): ANY_ROLE,
    ("PUT", "/api/policy"): ADMIN_ONLY,
    # holds and the waitlist: as booking (the object rules decide whose)
    ("POST", "/api/holds"): ANY_ROLE,
    ("GET", "/api/holds/{hold_id}"): ANY_ROLE,
    ("DELETE", "/api/holds/{hold_id}"): ANY_ROLE,
    ("POST", "/api/waitlist"): ANY_ROLE,
    ("GET", "/api/waitlist"): ANY_ROLE,
    ("GET", "/api/waitlist/{entry_id}"): ANY_ROLE,
    ("DELETE", "/api/waitlist/{entry_id}"): ANY_ROLE,
    ("POST", "/api/waitlist/{entry_id}/accept"): ANY_ROLE,
    # calendar feeds: doctors and patients for themselves, admins for anyone; the feed URL
    # itself needs no other credential (its token is one)
    ("POST", "/api/calendar-feeds"): ANY_ROLE,
    ("GET", "/api/calendar-feeds"): ANY_ROLE,
    ("DELETE", "/api/calendar-feeds/{calendar_feed_id}"): ANY_ROLE,
    ("GET", "/calendar/{token}.ics"): ANYONE,
    # FHIR R4: the same callers as the /api operations it reads
    ("GET", "/fhir/R4/metadata"): ANYONE,
    ("GET", "/fhir/R4/Appointment"): ANY_ROLE,
    ("GET", "/fhir/R4/Appointment/{appointment_id}"): ANY_ROLE,
    ("GET", "/fhir/R4/Patient/{patient_id}"): ANY_ROLE,
    ("GET", "/fhir/R4/Practitioner/{practitioner_id}"): ANY_ROLE,
    ("GET", "/fhir/R4/Schedule"): ANY_ROLE,
    ("GET", "/fhir/R4/Slot"): ANY_ROLE,
}
