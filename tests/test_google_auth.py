"""The Sheets sink's four identities against fakes of every Google endpoint
they reach: the GCE metadata server (workload identity), the IAM
Credentials API (impersonation), the OAuth token endpoint (a person's
refresh token), and the Sheets API, with real google-auth, google-auth-oauthlib
and gspread.  No key file exists in the ADC cases: ADC finds the metadata
server only."""
from __future__ import annotations

import io
import json
import os
import stat
from urllib.parse import parse_qs, urlparse

import pytest
import responses
from pydantic import ValidationError

from connectors.memory import MemorySource
from connectors.sheets.sink import SheetsSink, SheetsSinkConfig
from sync.cli.main import main
from sync.core.errors import RemoteError
from sync.worker.log import Redactor
from sync.worker.runtime import Runtime
from sync.worker.state import State

from .conftest import NOW, make_config, sync_over, ticket
from .fakes_google import FakeIAM, FakeMetadata
from .fakes_sheets import FakeSheets

VM_SA = "gke-node@growth-ops.iam.gserviceaccount.com"
TARGET = "align-sync@growth-ops.iam.gserviceaccount.com"
PERSON = "dana@example.com"
REFRESH = "1//0refresh-SECRET-token-for-dana"
CLIENT_SECRET = "GOCSPX-client-SECRET"


@pytest.fixture
def no_key_anywhere(tmp_path, monkeypatch):
    """ADC finds no file: no GOOGLE_APPLICATION_CREDENTIALS, an empty gcloud config."""
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


@pytest.fixture
def google(no_key_anywhere):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        sheets = FakeSheets(rsps)
        sheets.principals.update({"ya29.vm-token": VM_SA, "ya29.impersonated": TARGET,
                                  "ya29.dana": PERSON})
        metadata = FakeMetadata(rsps, VM_SA, "ya29.vm-token")
        iam = FakeIAM(rsps, {("ya29.vm-token", TARGET): "ya29.impersonated"})
        yield sheets, metadata, iam


def sink_for(sheets, runtime=None, **auth) -> SheetsSink:
    return SheetsSink(SheetsSinkConfig(type="google_sheets", spreadsheet=sheets.id, auth=auth), runtime)


def sync(tmp_path, sheets, **auth):
    config = make_config(sink={"type": "google_sheets", "spreadsheet": sheets.id, "auth": auth})
    state = State(tmp_path / "state.db")
    try:
        return sync_over(config, [MemorySource("jira", [ticket("A-1", labels=("onboarding-email",))])],
                         SheetsSink(config.sink), state, NOW)
    finally:
        state.close()


def test_adc_on_the_metadata_server_syncs_with_no_key_file(tmp_path, google):
    sheets, metadata, _ = google
    result = sync(tmp_path, sheets, adc=True)
    assert result.written and sheets.values("Summary")
    assert all(c.startswith(("http://metadata.google.internal/", "http://169.254.169.254"))
               for c in metadata.calls)
    assert sheets.tokens == 0                        # the OAuth token endpoint was never asked


def test_check_names_the_metadata_servers_account(google):
    sheets, _, _ = google
    redactor = Redactor()
    out = sink_for(sheets, Runtime(redactor=redactor), adc=True).check()
    assert VM_SA in out and "Application Default Credentials" in out
    assert "ya29.vm-token" not in redactor("token ya29.vm-token")      # a minted token is a secret too


def test_impersonation_reaches_a_sheet_only_the_target_may_edit(tmp_path, google):
    sheets, _, iam = google
    sheets.editors = {TARGET}
    sync(tmp_path, sheets, adc=True, impersonate=TARGET)
    assert sheets.values("Summary")
    (caller, target, body), = iam.calls
    assert (caller, target) == ("ya29.vm-token", TARGET)
    assert body["scope"] == ["https://www.googleapis.com/auth/spreadsheets"]
    assert TARGET in sink_for(sheets, adc=True, impersonate=TARGET).check()


def test_the_adc_account_itself_is_told_whom_to_share_with(tmp_path, google):
    sheets, _, _ = google
    sheets.editors = {TARGET}
    with pytest.raises(RemoteError) as err:
        sync(tmp_path, sheets, adc=True)
    assert err.value.hint == f"share the spreadsheet with {VM_SA} as Editor"


def test_impersonation_without_token_creator_names_the_role(tmp_path, google):
    sheets, _, iam = google
    iam.grants.clear()
    with pytest.raises(RemoteError) as err:
        sync(tmp_path, sheets, adc=True, impersonate=TARGET)
    assert "roles/iam.serviceAccountTokenCreator" in err.value.hint and TARGET in err.value.message


def test_no_adc_at_all_says_where_identities_come_from(no_key_anywhere, monkeypatch):
    from sync.core.errors import ConfigError
    monkeypatch.setattr("google.auth.compute_engine._metadata._NO_GCE_CHECK", True)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        sheets = FakeSheets(rsps)
        with pytest.raises(ConfigError) as err:
            sink_for(sheets, adc=True).read()
    assert "sink.auth.adc" in err.value.message and "workload-identity-federation" in err.value.hint


def client_secrets(tmp_path):
    path = tmp_path / "client.json"
    path.write_text(json.dumps({"installed": {
        "client_id": "123-abc.apps.googleusercontent.com", "client_secret": CLIENT_SECRET,
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token", "redirect_uris": ["http://localhost"]}}))
    return path


def consent_without_browser(tmp_path, monkeypatch, capsys) -> tuple[int, str, str]:
    """`align-sync auth google --no-browser`: the printed address is "opened",
    and the address Google redirects to is pasted back."""
    out = tmp_path / "creds" / "dana.json"
    pasted = []

    def browser(prompt=""):
        printed = capsys.readouterr().out
        url = next(line for line in printed.splitlines() if line.startswith("https://accounts.google.com"))
        query = parse_qs(urlparse(url).query)
        assert query["scope"] == ["https://www.googleapis.com/auth/spreadsheets"]
        assert query["access_type"] == ["offline"] and query["redirect_uri"] == ["http://127.0.0.1:1/"]
        pasted.append(f"http://127.0.0.1:1/?state={query['state'][0]}&code=4/0code-once&scope=x")
        return pasted[-1]

    monkeypatch.setattr("builtins.input", browser)
    with responses.RequestsMock() as rsps:
        rsps.add(responses.POST, "https://oauth2.googleapis.com/token", json={
            "access_token": "ya29.dana", "refresh_token": REFRESH, "expires_in": 3599,
            "scope": "https://www.googleapis.com/auth/spreadsheets", "token_type": "Bearer"})
        code = main(["auth", "google", "--client-secrets", str(client_secrets(tmp_path)),
                     "--out", str(out), "--no-browser"])
        form = parse_qs(rsps.calls[0].request.body)
    assert form["code"] == ["4/0code-once"] and form["code_verifier"]      # PKCE
    captured = capsys.readouterr()
    return code, str(out), captured.out + captured.err


def test_auth_google_writes_a_private_credential_and_the_sink_uses_it(tmp_path, monkeypatch, capsys,
                                                                     no_key_anywhere):
    code, path, printed = consent_without_browser(tmp_path, monkeypatch, capsys)
    assert code == 0 and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert REFRESH not in printed and "ya29.dana" not in printed
    saved = json.loads(open(path).read())
    assert saved["refresh_token"] == REFRESH and "token" not in saved
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        sheets = FakeSheets(rsps)
        sheets.principals["ya29.dana"] = PERSON
        sheets.users[REFRESH] = ("ya29.dana", PERSON)
        sheets.editors = {PERSON}
        redactor = Redactor()
        sync(tmp_path, sheets, authorized_user=path)
        out = sink_for(sheets, Runtime(redactor=redactor), authorized_user=path).check()
    assert "the Google account that ran `align-sync auth google`" in out
    assert REFRESH not in redactor(f"x {REFRESH}") and CLIENT_SECRET not in redactor(CLIENT_SECRET)


def test_an_existing_credential_file_is_made_private(tmp_path, monkeypatch, capsys):
    target = tmp_path / "creds" / "dana.json"
    target.parent.mkdir()
    target.write_text("old")
    os.chmod(target, 0o644)
    _, path, _ = consent_without_browser(tmp_path, monkeypatch, capsys)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600 and "old" not in open(path).read()


def test_a_revoked_consent_says_to_run_auth_google_again(tmp_path, no_key_anywhere):
    path = tmp_path / "dana.json"
    path.write_text(json.dumps({"type": "authorized_user", "client_id": "123", "client_secret": "s3cret",
                                "refresh_token": "1//revoked", "token_uri": "https://oauth2.googleapis.com/token"}))
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        sheets = FakeSheets(rsps)
        with pytest.raises(RemoteError) as err:
            sync(tmp_path, sheets, authorized_user=str(path))
    assert "align-sync auth google" in err.value.hint and "1//revoked" not in str(err.value.message)


def test_key_file_under_auth_and_the_bare_credentials_key_are_the_same(tmp_path, monkeypatch):
    from .test_sheets import SA_EMAIL
    key = tmp_path / "sa.json"
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    key.write_text(json.dumps({"type": "service_account", "private_key": pem, "client_email": SA_EMAIL,
                               "token_uri": "https://oauth2.googleapis.com/token"}))
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        sheets = FakeSheets(rsps)
        a = sink_for(sheets, key_file=str(key)).check()
        b = SheetsSink(SheetsSinkConfig(type="google_sheets", spreadsheet=sheets.id,
                                        credentials=str(key))).check()
    assert a == b and SA_EMAIL in a and "service-account key" in a


@pytest.mark.parametrize("sink,message", [
    ({"credentials": "k.json", "auth": {"adc": True}}, "give one of `auth:`"),
    ({}, "give one of `auth:`"),
    ({"auth": {"adc": True, "key_file": "k.json"}}, "exactly one of key_file"),
    ({"auth": {"key_file": "k.json", "impersonate": TARGET}}, "impersonate goes with adc"),
    ({"auth": {"adc": True, "impersonate": "dana@example.com"}}, "service account's email"),
    ({"auth": {"adc": True, "scopes": ["x"]}}, "scopes"),
])
def test_identity_config_errors_name_the_key(sink, message):
    with pytest.raises(ValidationError, match=message):
        SheetsSinkConfig(type="google_sheets", spreadsheet="x", **sink)


def test_auth_google_with_a_browser_uses_a_local_redirect(tmp_path, monkeypatch, capsys):
    """The browser is a stand-in that follows Google's redirect to the local
    server with a code, as a person's browser does after consent."""
    import threading
    import urllib.request
    import webbrowser

    opened = []

    class Browser:
        def open(self, url, new=0, autoraise=True):
            query = parse_qs(urlparse(url).query)
            opened.append(query)
            back = f"{query['redirect_uri'][0]}?state={query['state'][0]}&code=4/0local-code"
            threading.Thread(target=lambda: urllib.request.urlopen(back, timeout=10).read(),
                             daemon=True).start()
            return True

    monkeypatch.setattr(webbrowser, "get", lambda *a, **k: Browser())
    monkeypatch.setenv("DISPLAY", ":0")
    out = tmp_path / "dana.json"
    with responses.RequestsMock() as rsps:
        rsps.add_passthru("http://localhost")
        rsps.add(responses.POST, "https://oauth2.googleapis.com/token", json={
            "access_token": "ya29.dana", "refresh_token": REFRESH, "expires_in": 3599,
            "scope": "https://www.googleapis.com/auth/spreadsheets", "token_type": "Bearer"})
        code = main(["auth", "google", "--client-secrets", str(client_secrets(tmp_path)), "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    (query,) = opened
    assert query["redirect_uri"][0].startswith("http://localhost:") and query["prompt"] == ["consent"]
    assert json.loads(out.read_text())["refresh_token"] == REFRESH
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600


def test_a_token_without_the_sheets_scope_says_how_to_get_one(tmp_path, google):
    # gcloud's default user login carries no Sheets scope: Google answers 403 with this reason.
    sheets, _, _ = google
    sheets.failures["meta"].append((403, {"error": {
        "code": 403, "message": "Request had insufficient authentication scopes.", "status": "PERMISSION_DENIED",
        "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                     "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT", "domain": "googleapis.com"}]}}))
    with pytest.raises(RemoteError) as err:
        sync(tmp_path, sheets, adc=True)
    assert "Sheets scope" in err.value.hint and "impersonate" in err.value.hint
