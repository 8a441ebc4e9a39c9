"""The HTTP surface: Slack's requests and a health check, as a WSGI app."""

from flask import Flask, request
from slack_bolt import App
from slack_bolt.adapter.flask import SlackRequestHandler


def create_web_app(bolt_app: App) -> Flask:
    web = Flask("qualify")
    handler = SlackRequestHandler(bolt_app)

    @web.post("/slack/events")
    def slack_events():
        return handler.handle(request)

    @web.get("/healthz")
    def healthz():
        return {"ok": True}

    return web
