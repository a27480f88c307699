"""Account settings: PutAccountSetting, PutAccountSettingDefault, ListAccountSettings (with
effectiveSettings), DeleteAccountSetting. Settings are per region in AWS, so each test works in
a region of its own."""

import pytest

from berth_helpers import ACCOUNT, raises_code

ROOT = f"arn:aws:iam::{ACCOUNT}:root"
ROLE_A = f"arn:aws:iam::{ACCOUNT}:role/app-a"
ROLE_B = f"arn:aws:iam::{ACCOUNT}:role/app-b"


def _settings(ecs, **kwargs):
    out, token = [], None
    for _ in range(50):
        args = dict(kwargs)
        if token:
            args["nextToken"] = token
        page = ecs.list_account_settings(**args)
        out += page["settings"]
        token = page.get("nextToken")
        if not token:
            return out
    pytest.fail("ListAccountSettings pagination does not end")


@pytest.fixture
def ecs_r(ecs_in, fresh_region):
    return ecs_in(fresh_region)


def test_put_account_setting_for_the_caller(ecs_r):
    s = ecs_r.put_account_setting(name="containerInsights", value="enabled")["setting"]
    assert s["name"] == "containerInsights"
    assert s["value"] == "enabled"
    assert s["principalArn"].startswith(f"arn:aws:iam::{ACCOUNT}:")
    listed = _settings(ecs_r, name="containerInsights")
    assert {"containerInsights": "enabled"} == {x["name"]: x["value"] for x in listed}


def test_put_account_setting_for_a_principal(ecs_r):
    s = ecs_r.put_account_setting(name="awsvpcTrunking", value="enabled",
                                  principalArn=ROLE_A)["setting"]
    assert (s["name"], s["value"], s["principalArn"]) == ("awsvpcTrunking", "enabled", ROLE_A)
    listed = _settings(ecs_r, principalArn=ROLE_A, name="awsvpcTrunking")
    assert [(x["name"], x["value"], x["principalArn"]) for x in listed] == [
        ("awsvpcTrunking", "enabled", ROLE_A)]
    # another principal has no explicit setting ...
    assert _settings(ecs_r, principalArn=ROLE_B, name="awsvpcTrunking") == []


def test_put_account_setting_default_and_effective_settings(ecs_r):
    d = ecs_r.put_account_setting_default(name="awsvpcTrunking", value="enabled")["setting"]
    assert d["name"] == "awsvpcTrunking"
    assert d["value"] == "enabled"
    assert d["principalArn"] == ROOT

    # a principal without its own setting gets the account default as its effective setting
    eff = _settings(ecs_r, principalArn=ROLE_B, name="awsvpcTrunking", effectiveSettings=True)
    assert [(x["name"], x["value"]) for x in eff] == [("awsvpcTrunking", "enabled")]

    # a principal's own setting wins over the default
    ecs_r.put_account_setting(name="awsvpcTrunking", value="disabled", principalArn=ROLE_A)
    eff = _settings(ecs_r, principalArn=ROLE_A, name="awsvpcTrunking", effectiveSettings=True)
    assert [(x["name"], x["value"]) for x in eff] == [("awsvpcTrunking", "disabled")]


def test_effective_settings_cover_every_setting_once(ecs_r):
    ecs_r.put_account_setting_default(name="containerInsights", value="enhanced")
    eff = _settings(ecs_r, effectiveSettings=True)
    names = [x["name"] for x in eff]
    assert len(names) == len(set(names)), f"duplicate settings: {names}"
    by_name = {x["name"]: x["value"] for x in eff}
    assert by_name.get("containerInsights") == "enhanced"
    for x in eff:
        assert x["value"], x
    # the long ARN formats are on by default in AWS (and can no longer be turned off)
    for name in ("serviceLongArnFormat", "taskLongArnFormat", "containerInstanceLongArnFormat"):
        assert by_name.get(name) == "enabled", f"{name}: {by_name.get(name)}"


def test_list_with_value_filter(ecs_r):
    ecs_r.put_account_setting_default(name="containerInsights", value="enabled")
    got = _settings(ecs_r, name="containerInsights", value="enabled", effectiveSettings=True)
    assert [x["value"] for x in got] == ["enabled"]
    assert _settings(ecs_r, name="containerInsights", value="disabled", effectiveSettings=True) == []


def test_list_value_without_name_is_refused(ecs_r):
    # "You must also specify an account setting name to use this parameter."
    with raises_code("InvalidParameterException", "ClientException"):
        ecs_r.list_account_settings(value="enabled")


def test_list_account_settings_paginates(ecs_r):
    for name, value in (("containerInsights", "enabled"), ("awsvpcTrunking", "enabled"),
                        ("fargateFIPSMode", "enabled"), ("tagResourceAuthorization", "on")):
        ecs_r.put_account_setting_default(name=name, value=value)
    everything = _settings(ecs_r, effectiveSettings=True)
    paged, token = [], None
    for _ in range(50):
        kwargs = {"effectiveSettings": True, "maxResults": 2}
        if token:
            kwargs["nextToken"] = token
        page = ecs_r.list_account_settings(**kwargs)
        assert len(page["settings"]) <= 2
        paged += page["settings"]
        token = page.get("nextToken")
        if not token:
            break
    names = [x["name"] for x in paged]
    assert len(names) == len(set(names))
    assert sorted(names) == sorted(x["name"] for x in everything)


def test_delete_account_setting(ecs_r):
    ecs_r.put_account_setting(name="containerInsights", value="enabled", principalArn=ROLE_A)
    s = ecs_r.delete_account_setting(name="containerInsights", principalArn=ROLE_A)["setting"]
    assert s["name"] == "containerInsights"
    assert s["principalArn"] == ROLE_A
    assert _settings(ecs_r, principalArn=ROLE_A, name="containerInsights") == []


def test_fargate_task_retirement_wait_period_values(ecs_r):
    for value in ("0", "7", "14"):
        s = ecs_r.put_account_setting_default(name="fargateTaskRetirementWaitPeriod", value=value)
        assert s["setting"]["value"] == value
    with raises_code("InvalidParameterException", "ClientException"):
        ecs_r.put_account_setting_default(name="fargateTaskRetirementWaitPeriod", value="3")


@pytest.mark.parametrize("value", ["maybe", "", "ENABLED!"])
def test_invalid_values_are_refused(ecs_r, value):
    # "Accepted values are enabled, disabled, enhanced, on, and off."
    with raises_code("InvalidParameterException", "ClientException"):
        ecs_r.put_account_setting(name="containerInsights", value=value)


def test_unknown_setting_name_is_refused(ecs_r):
    with raises_code("InvalidParameterException", "ClientException"):
        ecs_r.put_account_setting(name="noSuchSetting", value="enabled")


def test_settings_are_per_region(ecs_in, fresh_region):
    a = ecs_in(fresh_region)
    a.put_account_setting(name="awsvpcTrunking", value="enabled", principalArn=ROLE_A)
    other = ecs_in("eu-west-1")
    assert _settings(other, principalArn=ROLE_A, name="awsvpcTrunking") == []
