"""docs/connecting.md, tried against the real config models and the Google
fakes: every YAML block it shows loads, and each Google identity it walks
through reaches a sheet shared with the identity `check` names."""
from __future__ import annotations

import re

import pytest
import responses
import yaml

from connectors.jira.settings import JiraSourceConfig
from connectors.sheets.sink import SheetsSink, SheetsSinkConfig
from sync.core.config import Alerts

from .conftest import ROOT
from .fakes_google import FakeIAM, FakeMetadata
from .fakes_sheets import FakeSheets

DOC = (ROOT / "docs" / "connecting.md").read_text()
BLOCKS = [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", DOC, re.S)]
SINKS = [b["sink"] for b in BLOCKS if "sink" in b]


def test_every_block_loads_with_the_real_models():
    assert len(BLOCKS) == 6 and len(SINKS) == 4
    modes = [sorted(SheetsSinkConfig.model_validate(s).auth.model_dump(exclude_defaults=True)) for s in SINKS]
    assert modes == [["key_file"], ["adc"], ["adc", "impersonate"], ["authorized_user"]]
    (jira,) = [b["source"] for b in BLOCKS if "source" in b]
    assert JiraSourceConfig.model_validate(jira).cloud_id == "auto"
    (alerts,) = [b["alerts"] for b in BLOCKS if "alerts" in b]
    alerts["notify"][0]["webhook"] = "https://hooks.slack.com/services/T0/B0/x"    # ${SLACK_WEBHOOK_URL}
    assert Alerts.model_validate(alerts).after_failures == 2


@pytest.mark.parametrize("index,shared_with", [(1, "attached@PROJECT.iam.gserviceaccount.com"),
                                               (2, "align-sync@PROJECT.iam.gserviceaccount.com")])
def test_the_keyless_walkthroughs_reach_a_sheet_shared_as_check_says(index, shared_with, tmp_path, monkeypatch):
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path))
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        sheets = FakeSheets(rsps)
        FakeMetadata(rsps, "attached@PROJECT.iam.gserviceaccount.com", "ya29.vm")
        FakeIAM(rsps, {("ya29.vm", "align-sync@PROJECT.iam.gserviceaccount.com"): "ya29.sa"})
        sheets.principals.update({"ya29.vm": "attached@PROJECT.iam.gserviceaccount.com",
                                  "ya29.sa": "align-sync@PROJECT.iam.gserviceaccount.com"})
        sheets.editors = {shared_with}           # step 4: the sheet shared with the named identity
        config = SheetsSinkConfig.model_validate({**SINKS[index], "spreadsheet": sheets.id})
        assert shared_with in SheetsSink(config).check()
