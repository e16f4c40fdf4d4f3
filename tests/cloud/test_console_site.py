"""The console Lambda: the console's files by exact name, its settings from the stack's
parameters, and nothing else; and the files ship as package data, so an installed (not
editable) package still serves them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloud.site.app import CONFIG_PATH, ROOT, ConsoleSite, Settings, paths

PROJECT = Path(__file__).resolve().parents[2]


def get(site: ConsoleSite, path: str, stage_path: str | None = None, **context) -> dict:
    request_context = {"path": stage_path if stage_path is not None else path, **context}
    return site({"httpMethod": "GET", "path": path, "requestContext": request_context}, None)


def test_the_page_and_each_file_are_served_with_their_type():
    site = ConsoleSite(Settings())
    page = get(site, "/", "/prod/")
    assert page["statusCode"] == 200
    assert page["body"] == (ROOT / "index.html").read_text()
    assert page["headers"]["Content-Type"] == "text/html; charset=utf-8"
    for path in paths():
        if path in ("/", CONFIG_PATH):
            continue
        answer = get(site, path)
        assert answer["statusCode"] == 200, path
        assert answer["body"] == (ROOT / path.removeprefix("/")).read_text()
        assert answer["headers"]["Content-Type"].startswith(
            {"js": "text/javascript", "css": "text/css", "html": "text/html"}[path.rsplit(".")[-1]]
        )


def test_the_stage_root_without_its_slash_redirects_so_relative_scripts_resolve():
    answer = get(ConsoleSite(Settings()), "/", "/prod")
    assert answer["statusCode"] == 301 and answer["headers"]["Location"] == "/prod/"


@given(st.text(min_size=1, max_size=40))
def test_nothing_but_the_consoles_files_is_served(name):
    path = "/" + name
    answer = get(ConsoleSite(Settings()), path)
    if path in paths():
        assert answer["statusCode"] in (200, 301)
    else:
        assert answer["statusCode"] == 404
        assert json.loads(answer["body"]) == {"message": "Not Found"}


@pytest.mark.parametrize("path", ["/../site/app.py", "/site/app.py", "/.hidden", "/index.html/"])
def test_paths_outside_the_folder_are_404(path):
    assert get(ConsoleSite(Settings()), path)["statusCode"] == 404


def test_the_settings_name_the_api_and_the_identity_provider():
    request = {"domainName": "x.execute-api.eu-west-1.amazonaws.com", "stage": "prod"}
    plain = json.loads(get(ConsoleSite(Settings()), CONFIG_PATH, **request)["body"])
    assert plain == {"api": "https://x.execute-api.eu-west-1.amazonaws.com/prod", "oidc": None}
    environ = {
        "CONSOLE_API_URL": "https://robots.example.com",
        "OIDC_ISSUER": "https://idp.example",
        "OIDC_CLIENT_ID": "console",
        "OIDC_SCOPES": "openid robot:view",
    }
    site = ConsoleSite(Settings.from_environ(environ))
    assert json.loads(get(site, CONFIG_PATH, **request)["body"]) == {
        "api": "https://robots.example.com",
        "oidc": {
            "issuer": "https://idp.example",
            "client_id": "console",
            "scopes": "openid robot:view",
        },
    }
    # An issuer without a client id (the template's default) is no sign-in.
    half = ConsoleSite(Settings.from_environ({"OIDC_ISSUER": "urn:x"}))
    assert json.loads(get(half, CONFIG_PATH, **request)["body"])["oidc"] is None


def test_a_built_package_carries_the_consoles_files(tmp_path):
    # A copy of the sources alone (no egg-info from an editable install to lean on), built
    # as a wheel or a plain install would build it.
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "robot", "drivers", "sim", "cloud"):
        copy = shutil.copytree if (PROJECT / name).is_dir() else shutil.copy2
        copy(PROJECT / name, source / name, **_ignore_caches(PROJECT / name))
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import setuptools; setuptools.setup()",
            "-q",
            "build_py",
            "--build-lib",
            str(tmp_path / "lib"),
        ],
        cwd=source,
        check=True,
        capture_output=True,
    )
    built = tmp_path / "lib" / "cloud"
    assert {page.name for page in (built / "console").iterdir()} == {
        page.name for page in ROOT.iterdir()
    }
    assert (built / "site" / "app.py").is_file()


def _ignore_caches(path: Path) -> dict:
    return {"ignore": shutil.ignore_patterns("__pycache__")} if path.is_dir() else {}


SECURITY = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


def directives(answer: dict) -> dict[str, list[str]]:
    policy = answer["headers"]["Content-Security-Policy"]
    return {name: values for name, *values in (part.split() for part in policy.split(";") if part)}


@pytest.mark.parametrize("path", ["/", "/main.js", "/console.css", CONFIG_PATH, "/nothing"])
def test_every_answer_carries_the_security_headers(path):
    request = {"domainName": "x.execute-api.eu-west-1.amazonaws.com", "stage": "prod"}
    answer = get(ConsoleSite(Settings(region="eu-west-1")), path, "/prod" + path, **request)
    assert SECURITY.items() <= answer["headers"].items(), path
    policy = directives(answer)
    assert policy["default-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["connect-src"] == [
        "'self'",
        "https://x.execute-api.eu-west-1.amazonaws.com",
        "wss://*.kinesisvideo.eu-west-1.amazonaws.com",
        "https://*.kinesisvideo.eu-west-1.amazonaws.com",
    ]


def test_the_stage_redirect_carries_them_too():
    answer = get(ConsoleSite(Settings()), "/", "/prod")
    assert answer["statusCode"] == 301 and SECURITY.items() <= answer["headers"].items()
    assert directives(answer)["frame-ancestors"] == ["'none'"]


def test_the_page_may_connect_to_the_configured_api_the_provider_and_the_named_origins():
    environ = {
        "CONSOLE_API_URL": "https://robots.example.com/v1",
        "OIDC_ISSUER": "https://idp.example/realms/ops",
        "OIDC_CLIENT_ID": "console",
        "AWS_REGION": "us-west-2",
        "CONSOLE_CONNECT_ORIGINS": "https://login.example.com  https://other.example",
    }
    answer = get(ConsoleSite(Settings.from_environ(environ)), "/")
    assert directives(answer)["connect-src"] == [
        "'self'",
        "https://robots.example.com",
        "wss://*.kinesisvideo.us-west-2.amazonaws.com",
        "https://*.kinesisvideo.us-west-2.amazonaws.com",
        "https://idp.example",
        "https://login.example.com",
        "https://other.example",
    ]
    # Without a client id the page never signs in with the provider: no connection to it.
    del environ["OIDC_CLIENT_ID"]
    answer = get(ConsoleSite(Settings.from_environ(environ)), "/")
    assert "https://idp.example" not in directives(answer)["connect-src"]
