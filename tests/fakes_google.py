"""Fakes, on `responses`, of the Google endpoints identities without a key
file talk to: the GCE metadata server (what GKE workload identity and Cloud
Run serve too) and the IAM Credentials API's generateAccessToken.  Strict as
the real ones: the metadata server answers only with `Metadata-Flavor:
Google`, IAM only to a caller granted Token Creator on the target.

Shapes: https://cloud.google.com/compute/docs/metadata/predefined-metadata-keys
(service-accounts/default/?recursive=true, …/token) and
https://cloud.google.com/iam/docs/reference/credentials/rest/v1/projects.serviceAccounts/generateAccessToken
"""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import responses

METADATA = "http://metadata.google.internal/computeMetadata/v1"
METADATA_IP = "http://169.254.169.254/"
IAM = "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts"


class FakeMetadata:
    """The metadata server of a VM or pod whose attached account is `email`."""

    def __init__(self, rsps: responses.RequestsMock, email: str, token: str, project: str = "growth-ops"):
        self.email, self.token, self.project = email, token, project
        self.calls: list[str] = []
        rsps.add_callback(responses.GET, METADATA_IP, callback=self._guard(lambda r: (200, "")))
        rsps.add_callback(responses.GET, f"{METADATA}/project/project-id",
                          callback=self._guard(lambda r: (200, self.project)))
        rsps.add_callback(responses.GET, f"{METADATA}/universe/universe-domain",
                          callback=self._guard(lambda r: (200, "googleapis.com")))
        rsps.add_callback(responses.GET, re.compile(rf"{re.escape(METADATA)}/instance/service-accounts/"
                                                    r"default/\?recursive=true$"),
                          callback=self._guard(self._info))
        rsps.add_callback(responses.GET, re.compile(rf"{re.escape(METADATA)}/instance/service-accounts/"
                                                    r"[^/]+/token.*"),
                          callback=self._guard(self._token))

    def _guard(self, handler):
        def callback(request):
            self.calls.append(request.url)
            if request.headers.get("Metadata-Flavor") != "Google":
                return 403, {}, "Missing Metadata-Flavor:Google header."
            status, body = handler(request)
            return status, {"Metadata-Flavor": "Google",
                            "Content-Type": "application/json" if body.startswith("{") else "text/plain"}, body
        return callback

    def _info(self, request):
        return 200, json.dumps({"aliases": ["default"], "email": self.email,
                                "scopes": ["https://www.googleapis.com/auth/cloud-platform"]})

    def _token(self, request):
        account = request.url.split("/service-accounts/", 1)[1].split("/", 1)[0]
        if account not in ("default", self.email):
            return 404, "not found"
        return 200, json.dumps({"access_token": self.token, "expires_in": 3599, "token_type": "Bearer"})


class FakeIAM:
    """generateAccessToken: `grants` maps (caller's bearer token, target
    service account) → the access token minted for it."""

    def __init__(self, rsps: responses.RequestsMock, grants: dict[tuple[str, str], str]):
        self.grants = grants
        self.calls: list[tuple[str, str, dict]] = []
        rsps.add_callback(responses.POST, re.compile(rf"{re.escape(IAM)}/[^/:]+:generateAccessToken"),
                          callback=self._mint)

    def _mint(self, request):
        target = request.url.rsplit("/", 1)[1].split(":", 1)[0]
        caller = (request.headers.get("Authorization") or "").removeprefix("Bearer ")
        body = json.loads(request.body)
        self.calls.append((caller, target, body))
        minted = self.grants.get((caller, target))
        if minted is None:
            return 403, {"Content-Type": "application/json"}, json.dumps({"error": {
                "code": 403, "status": "PERMISSION_DENIED",
                "message": "Permission 'iam.serviceAccounts.getAccessToken' denied on resource "
                           "(or it may not exist)."}})
        expires = (datetime.now(timezone.utc) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        return 200, {"Content-Type": "application/json"}, json.dumps({"accessToken": minted,
                                                                       "expireTime": expires})
