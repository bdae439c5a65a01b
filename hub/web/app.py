"""The FastAPI application. Routes are thin: they call ``telecare`` services."""
from __future__ import annotations

from fastapi import Body, Depends, FastAPI, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import func, select, text
from sqlalchemy.orm import aliased

from telecare.alert import service as alerts
from telecare.alert.models import Alert
from telecare.alert.states import ACTIVE_STATES, ALL_STATES, OUTCOMES, AlertNotFound, InvalidTransition
from telecare.audit import service as audit
from telecare.auth import scope
from telecare.clock import from_epoch
from telecare.durations import format_duration
from telecare.enquiry.service import summary as enquiry_summary
from telecare.events.models import DeadLetter
from telecare.notification import inbound
from telecare.notification.models import Notification
from telecare.site import settings as site_settings
from telecare.site.loader import SiteError, load_site
from telecare.site.models import Contact, Device, Home, Resident

from . import console, docs, errors
from .assistant_api import router as assistant_api_router
from .assistant_routes import router as assistant_router
from .auth import Caller, caller, configurer, staff_only
from .checkin_routes import router as checkin_router
from .limits import BodyLimitMiddleware
from .schemas import (
    AlertDetail,
    AlertOut,
    CancelIn,
    DeadLetterOut,
    DeviceOut,
    Health,
    NotificationOut,
    ReplyOut,
    ResolveIn,
    SandboxReplyIn,
    SettingIn,
    TimelineOut,
)
from .twilio_routes import router as twilio_router


def _alert_query():
    d = aliased(Device)
    return (select(Alert, Home.ext_id, Resident.ext_id, d.ext_id)
            .join(Home, Home.id == Alert.home_id)
            .outerjoin(Resident, Resident.id == Alert.resident_id)
            .outerjoin(d, d.id == Alert.device_id))


def _alert_out(row) -> dict:
    a, home, resident, device = row
    return dict(id=a.id, resident=resident, home=home, device=device, type=a.type, priority=a.priority,
                state=a.state, category=a.category, no_response=a.no_response, opened_at=a.opened_at,
                acknowledged_at=a.acknowledged_at, acknowledged_by=a.acknowledged_by, attending_at=a.attending_at,
                resolved_at=a.resolved_at, outcome=a.outcome)


def create_app(hub) -> FastAPI:
    """``hub`` is a hub.runtime.HubRuntime (sessions, clock, consumer, supervisor...)."""
    app = FastAPI(title="Linkage hub", version="0.1.0",
                  description="Telecare alerts, escalation and the helpline's records. "
                              "Every endpoint but /api/health needs `Authorization: Bearer <token>`.",
                  docs_url=None, redoc_url=None)  # /docs and /redoc from local files: hub/web/docs.py
    app.state.hub = hub
    app.add_middleware(BodyLimitMiddleware)  # request bodies capped per route: hub/web/limits.py
    errors.install(app)  # 422s in the documented shape, out-of-range ids are 404s, errors in OpenAPI
    docs.install(app)
    app.include_router(twilio_router)  # /twilio/* webhooks: Twilio-signed, not bearer tokens
    app.include_router(checkin_router)  # /api/checkins/*, /api/wellbeing/*
    app.include_router(assistant_api_router)  # /api/services, /api/enquiries, /api/callbacks, /api/checkin-requests
    app.include_router(assistant_router)  # /assistant/actions/webhook: the Rasa server's custom actions
    console.install(app)  # the staff console and responder view: /login, /console/*, /m/*, /static/*

    @app.exception_handler(AlertNotFound)
    async def _not_found(request, exc):
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(InvalidTransition)
    async def _conflict(request, exc):
        return JSONResponse({"detail": str(exc)}, status_code=409)

    @app.get("/api/health", response_model=Health, tags=["health"])
    def health(response: Response):
        db = {"ok": True}
        try:
            with hub.sessions() as s:
                s.execute(text("SELECT 1"))
                db["dialect"] = s.bind.dialect.name
        except Exception as exc:  # noqa: BLE001
            db = {"ok": False, "error": str(exc)}
        broker = hub.broker_status()
        sched = hub.scheduler_status()
        ok = db["ok"] and broker["ok"] and sched["ok"]
        if not ok:
            response.status_code = 503
        return Health(status="ok" if ok else "degraded", database=db, broker=broker, scheduler=sched,
                      devices_registered=len(hub.directory),
                      notifier=getattr(hub.notifier, "name", None) or type(hub.notifier).__name__)

    @app.get("/api/alerts", response_model=list[AlertOut], tags=["alerts"])
    def list_alerts(state: str = Query("open", description="open (any active state), all, or one state"),
                    resident: str | None = None, priority: str | None = None,
                    limit: int = Query(500, ge=1, le=5000), who: Caller = Depends(caller)):
        q = _alert_query()
        if state == "open":
            q = q.where(Alert.state.in_(ACTIVE_STATES))
        elif state != "all":
            if state not in ALL_STATES:
                raise HTTPException(422, f"state must be open, all or one of {', '.join(ALL_STATES)}")
            q = q.where(Alert.state == state)
        if resident:
            q = q.where(Resident.ext_id == resident)
        if priority:
            q = q.where(Alert.priority == priority)
        if not who.is_staff:  # a responder: only the alerts they were asked to take
            q = q.where(scope.in_scope(who.contact_id))
        q = q.order_by(Alert.priority, Alert.opened_at.desc()).limit(limit)
        with hub.sessions() as s:
            return [_alert_out(r) for r in s.execute(q).all()]

    def _visible(s, alert_id: int, who: Caller | None) -> None:
        """404 for an alert this caller was never asked to take, the same as for one that does not exist."""
        if who is not None and not who.is_staff and not scope.may_see(s, who.contact_id, alert_id):
            raise AlertNotFound(f"alert {alert_id} does not exist")

    def _detail(alert_id: int, who: Caller | None = None) -> dict:
        with hub.sessions() as s:
            _visible(s, alert_id, who)
            row = s.execute(_alert_query().where(Alert.id == alert_id)).first()
            if row is None:
                raise AlertNotFound(f"alert {alert_id} does not exist")
            out = _alert_out(row)
            access = None if (who and scope.accepted_by(row[0], who.contact_id)) else \
                scope.access_texts(s, [alert_id]).get(alert_id)
            out["timeline"] = [TimelineOut(at=t.at, kind=t.kind, detail=scope.redact(t.detail, access) or "",
                                           actor=t.actor)
                               for t in row[0].timeline]
            return out

    @app.get("/api/alerts/{alert_id}", response_model=AlertDetail, tags=["alerts"])
    def get_alert(alert_id: int, who: Caller = Depends(caller)):
        return _detail(alert_id, who)

    def _act(alert_id: int, fn, who: Caller | None = None, action: str = "") -> dict:
        with hub.sessions() as s, s.begin():
            _visible(s, alert_id, who)
            if who is not None and not who.is_staff and action != "acknowledge":
                a = s.get(Alert, alert_id)
                if a.acknowledged_by and a.acknowledged_contact_id != who.contact_id:
                    raise InvalidTransition(f"alert {alert_id} is {a.state} by {a.acknowledged_by}; "
                                            "only they or the control room can do that")
            fn(s)
            if action == "acknowledge" and who is not None:
                s.get(Alert, alert_id).acknowledged_contact_id = who.contact_id  # the one shown the access notes
            if who is not None:  # the audit trail, in the same transaction
                audit.record(s, actor=who.name, role=who.role, via="api", action=f"alert.{action}",
                             target=f"alert:{alert_id}", now=hub.clock.now())
        hub.changed()
        return _detail(alert_id, who)

    @app.post("/api/alerts/{alert_id}/acknowledge", response_model=AlertDetail, tags=["alerts"])
    def acknowledge(alert_id: int, who: Caller = Depends(caller)):
        return _act(alert_id, lambda s: alerts.acknowledge(s, alert_id, who.name, hub.clock.now()), who, "acknowledge")

    @app.post("/api/alerts/{alert_id}/arrived", response_model=AlertDetail, tags=["alerts"])
    def arrived(alert_id: int, who: Caller = Depends(caller)):
        return _act(alert_id, lambda s: alerts.arrived(s, alert_id, who.name, hub.clock.now()), who, "arrived")

    @app.post("/api/alerts/{alert_id}/resolve", response_model=AlertDetail, tags=["alerts"])
    def resolve(alert_id: int, body: ResolveIn, who: Caller = Depends(caller)):
        if body.outcome not in OUTCOMES:
            raise HTTPException(422, f"outcome {body.outcome!r} is not one of: {', '.join(OUTCOMES)}")
        return _act(alert_id, lambda s: alerts.resolve(s, alert_id, who.name, body.outcome, hub.clock.now(),
                                                      body.detail), who, "resolve")

    @app.post("/api/alerts/{alert_id}/cancel", response_model=AlertDetail, tags=["alerts"])
    def cancel(alert_id: int, body: CancelIn | None = Body(None), who: Caller = Depends(caller)):
        reason = body.reason if body else ""
        return _act(alert_id, lambda s: alerts.cancel(s, alert_id, who.name, hub.clock.now(), reason), who, "cancel")

    @app.get("/api/deadletters", response_model=list[DeadLetterOut], tags=["ingest"])
    def deadletters(kind: str | None = None, limit: int = Query(200, ge=1, le=5000),
                    who: Caller = Depends(staff_only)):
        q = select(DeadLetter).order_by(DeadLetter.id.desc()).limit(limit)
        if kind:
            q = q.where(DeadLetter.kind == kind)
        with hub.sessions() as s:
            return [DeadLetterOut(id=d.id, received_at=d.received_at, topic=d.topic, payload=d.payload, kind=d.kind,
                                  reason=d.reason) for d in s.scalars(q)]

    @app.get("/api/devices", response_model=list[DeviceOut], tags=["site"])
    def devices(home: str | None = None, offline: bool = False, limit: int = Query(1000, ge=1, le=100000),
                who: Caller = Depends(staff_only)):
        q = (select(Device, Home.ext_id, Resident.ext_id).join(Home, Home.id == Device.home_id)
             .outerjoin(Resident, Resident.id == Home.resident_id).order_by(Home.ext_id, Device.ext_id).limit(limit))
        if home:
            q = q.where(Home.ext_id == home)
        if offline:
            q = q.where(Device.online.is_(False))
        with hub.sessions() as s:
            return [DeviceOut(home=h, id=d.ext_id, kind=d.kind, resident=r, online=d.online, battery=d.battery,
                              last_seen=from_epoch(d.last_seen_epoch) if d.last_seen_epoch else None,
                              heartbeat=format_duration(d.heartbeat_s) if d.heartbeat_s else None)
                    for d, h, r in s.execute(q).all()]

    @app.get("/api/settings", tags=["site"])
    def get_settings(who: Caller = Depends(staff_only)):
        with hub.sessions() as s:
            return {k: site_settings.get(s, k) for k in site_settings.DEFAULTS}

    @app.put("/api/settings/{key}", tags=["site"])
    def put_setting(key: str, body: SettingIn, who: Caller = Depends(configurer)):
        try:
            with hub.sessions() as s, s.begin():
                before = site_settings.get(s, key) if key in site_settings.DEFAULTS else None
                value = site_settings.put(s, key, body.value, who.name, hub.clock.now())
                audit.record(s, actor=who.name, role=who.role, via="api", action="setting.change",
                             target=f"setting:{key}", before=before, after=value, now=hub.clock.now())
        except KeyError as exc:
            raise HTTPException(404, str(exc.args[0])) from None
        except ValueError as exc:
            raise HTTPException(422, f"value: {exc}") from None
        return {key: value}

    @app.put("/api/site", tags=["site"], summary="Load or update the site from YAML (as `linkage load`)")
    async def put_site(request: Request, who: Caller = Depends(configurer)):
        body = (await request.body()).decode("utf-8", errors="replace")
        try:
            with hub.sessions() as s, s.begin():
                report = load_site(s, body, hub.clock.now(), source="site")
                audit.record(s, actor=who.name, role=who.role, via="api", action="site.load", target="site",
                             summary=report.summary(), after=body, now=hub.clock.now())
        except SiteError as exc:
            return JSONResponse({"detail": [{"loc": ["body"], "msg": "site refused, nothing was loaded",
                                             "type": "value_error"}]
                                 + [{"loc": ["body", "line", p.line], "msg": p.message, "type": "value_error"}
                                    for p in exc.problems],
                                 "problems": [{"line": p.line, "message": p.message} for p in exc.problems]},
                                status_code=422)
        hub.site_changed()
        return {"summary": report.summary(), "changed": report.changed}

    @app.get("/api/notifications", response_model=list[NotificationOut], tags=["notifications"])
    def notifications(alert: int | None = None, to: str | None = None, limit: int = Query(500, ge=1, le=5000),
                      who: Caller = Depends(caller)):
        q = (select(Notification, Contact.ext_id).outerjoin(Contact, Contact.id == Notification.contact_id)
             .order_by(Notification.id).limit(limit))
        if alert is not None:
            q = q.where(Notification.alert_id == alert)
        if to:
            q = q.where(Notification.to == to)
        with hub.sessions() as s:
            if not who.is_staff:  # a responder: only the messages sent to them
                q = q.where(scope.own_notifications(s, who.contact_id))
            rows = s.execute(q).all()
            access = scope.access_texts(s, {n.alert_id for n, _ in rows})
            # an access note is shown only to the contact it was sent to: "[access note]" for everyone else
            return [NotificationOut(id=n.id, alert=n.alert_id, contact=c, to=n.to, channel=n.channel,
                                    purpose=n.purpose,
                                    body=scope.notification_body(n, who.contact_id, access.get(n.alert_id)),
                                    status=n.status, detail=n.detail, created_at=n.created_at, handed_at=n.handed_at)
                    for n, c in rows]

    def sandbox_reply(body: SandboxReplyIn, who: Caller = Depends(staff_only)):
        # staff only: a responder must not answer as someone else's phone (accepting an alert in their name)
        if getattr(hub.notifier, "name", "") != "sandbox":
            raise HTTPException(404, "there is no sandbox: this hub sends through Twilio")
        if not body.body and not body.digits:
            raise HTTPException(422, "give 'body' (an SMS reply) or 'digits' (a keypress)")
        phone = body.from_.replace(" ", "")
        with hub.sessions() as s, s.begin():
            now = hub.clock.now()
            channel = "voice" if body.digits else "sms"
            # a check-in answer first, then an alert reply, then a follow-up's answer, as on /twilio/sms
            result = inbound.route(s, phone=phone, now=now, body=body.body, digits=body.digits, channel=channel)
            if result.answer and not body.digits:
                s.add(Notification(alert_id=result.alert_id, to=phone, channel="sms", purpose="reply",
                                   body=result.answer, status="queued", created_at=now))
                s.info["linkage.dispatch"] = True
        hub.changed()
        return ReplyOut(meaning=result.meaning, answer=result.answer, alert=result.alert_id, accepted=result.accepted)

    if getattr(hub.notifier, "name", "") == "sandbox":  # the route exists only while the sandbox is in use
        app.post("/api/sandbox/reply", response_model=ReplyOut, tags=["notifications"],
                 summary="Answer as a recipient would, by SMS or keypress (sandbox notifier only; staff or admin)"
                 )(sandbox_reply)

    @app.get("/metrics", include_in_schema=False)
    def prometheus(who: Caller = Depends(staff_only)):  # Prometheus: authorization: {type: Bearer, ...}
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/api/metrics/summary", tags=["health"])
    def summary(who: Caller = Depends(staff_only)):
        with hub.sessions() as s:
            by_state = dict(s.execute(select(Alert.state, func.count()).group_by(Alert.state)).all())
            offline = s.scalar(select(func.count()).select_from(Device).where(Device.online.is_(False)))
            dead = s.scalar(select(func.count()).select_from(DeadLetter))
            helpline = enquiry_summary(s)  # enquiries by channel, need and outcome; resolved at first contact
        return {"alerts_by_state": by_state, "devices_offline": offline, "dead_letters": dead,
                "devices_registered": len(hub.directory), "enquiries": helpline}

    return app
