from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from mirror.errors import ConfigError
from mirror.keys import b64encode
from mirror.settings import (
    CONTRIBUTOR_FIELDS,
    PUBLISH_FIELDS,
    SETTINGS,
    SITE_FIELDS,
    ConnectPin,
    Setting,
    is_v3_onion,
    load_config,
    public_url,
)
from tests.support import paths
from tests.support.operator_fixtures import MISTYPED_ONION, ONION

CONFIGURATION_PAGE = paths.ROOT / "docs" / "operators" / "configuration.md"


def settings_page_module() -> ModuleType:
    """scripts/settings_page.py, which ``make docs`` runs to write the configuration page."""
    spec = importlib.util.spec_from_file_location(
        "settings_page", paths.ROOT / "scripts" / "settings_page.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def page_rows(text: str) -> dict[str, list[str]]:
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if len(cells) == 5 and cells[0].startswith("`"):
            name = cells[0].strip("`")
            assert name not in rows, f"{name} listed twice"
            rows[name] = cells
    return rows


def documented_default(setting: Setting) -> str:
    value = setting.default
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return json.dumps(value)
    return str(value)


def test_configuration_page_lists_every_setting_and_nothing_else() -> None:
    rows = page_rows(CONFIGURATION_PAGE.read_text("utf-8"))
    declared = SETTINGS + SITE_FIELDS + CONTRIBUTOR_FIELDS + PUBLISH_FIELDS
    assert list(rows) == [s.name for s in declared]
    for setting in declared:
        _, kind, default, env, help_text = rows[setting.name]
        expected_kind = "list[str]" if setting.type == list[str] else setting.type.__name__
        assert kind == expected_kind, setting.name
        assert default.strip("`") == documented_default(setting), setting.name
        file_only = setting.section in {"sites", "contributors", "publish"}
        expected_env = "(file only)" if file_only else setting.env_var
        assert env.strip("`") == expected_env, setting.name
        assert help_text.replace("\\|", "|") == setting.help, setting.name


def test_configuration_page_is_what_the_settings_table_generates() -> None:
    """The committed page is the generator's output: a changed setting needs `make docs`."""
    assert CONFIGURATION_PAGE.read_text("utf-8") == settings_page_module().render()


def test_defaults_without_file() -> None:
    config = load_config(None, environ={})
    assert config.server.listen == "127.0.0.1:8443"
    assert config.fetch.allow_private_addresses is False
    assert config.sites == ()
    assert public_url(config) == "https://127.0.0.1:8443"


@pytest.mark.parametrize(
    ("cores", "workers", "processes", "size"),
    [(2, 1, 0, 2), (2, 2, 0, 1), (8, 3, 0, 2), (2, 4, 0, 1), (2, 2, 3, 3)],
)
def test_transform_processes_share_the_cores_among_workers(
    monkeypatch: pytest.MonkeyPatch, cores: int, workers: int, processes: int, size: int
) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: cores)
    env = {
        "MIRROR_SERVER_WORKERS": str(workers),
        "MIRROR_SERVER_TRANSFORM_PROCESSES": str(processes),
    }
    assert load_config(None, environ=env).server.transform_pool_size == size


def test_file_and_environment(write_config: Callable[[str], Path]) -> None:
    path = write_config(
        """
[server]
listen = "0.0.0.0:9000"
[fetch]
timeout = 5
connect_to = ["example.org:443:127.0.0.1:8443"]
[[sites]]
name = "x"
origin = "https://example.org/"
"""
    )
    env = {"MIRROR_SERVER_LISTEN": "127.0.0.2:1234", "MIRROR_FETCH_ALLOW_PRIVATE_ADDRESSES": "yes"}
    config = load_config(path, environ=env)
    assert config.server.listen == "127.0.0.2:1234"
    assert config.fetch.timeout == 5.0
    assert config.fetch.allow_private_addresses is True
    assert config.fetch.connect_to == (ConnectPin("example.org", 443, "127.0.0.1", 8443),)
    assert config.server.data_dir == path.parent / "data"
    assert config.sites[0].origin == "https://example.org"
    assert config.site_for("https://example.org/a/b") == config.sites[0]
    assert config.site_for("http://example.org/a/b") is None
    assert config.site_for("https://evil.example.org/") is None


def test_environment_list_is_comma_separated() -> None:
    env = {"MIRROR_FETCH_CONNECT_TO": "a.example:443:127.0.0.1:1, b.example:80:[::1]:2"}
    pins = load_config(None, environ=env).fetch.connect_to
    assert pins == (
        ConnectPin("a.example", 443, "127.0.0.1", 1),
        ConnectPin("b.example", 80, "::1", 2),
    )


@pytest.mark.parametrize(
    "text",
    [
        "[server]\nlisten = 8443\n",
        "[server]\nno_such = 1\n",
        "[fetch]\nconnect_to = ['nonsense']\n",
        "[[sites]]\nname = 'x'\norigin = 'ftp://x'\n",
        "[fetch]\nmax_bytes = true\n",
        "[fetch]\nallowed_ports = ['80', 'http']\n",
        "[fetch]\nallowed_ports = ['70000']\n",
        "[fetch]\nproxy = 'ftp://127.0.0.1:21'\n",
        "[fetch]\nproxy = 'socks5://127.0.0.1:9050'\nconnect_to = ['a.example:443:1.2.3.4:443']\n",
        "[fetch]\negress = ['v=socks5://127.0.0.1:1']\nconnect_to = ['a.test:443:1.2.3.4:443']\n",
        "[fetch]\negress = ['v=ftp://127.0.0.1:21']\n",
        "[fetch]\negress = ['socks5://127.0.0.1:1080']\n",
        "[fetch]\negress = ['v=direct', 'v=tor://127.0.0.1:9050']\n",
        "[fetch]\nclient = 'chrome'\n",
        "[[sites]]\nname = 'x'\norigin = 'https://x.example'\nclient = 'curl'\n",
        "[[sites]]\nname = 'x'\norigin = 'https://x.example'\negress = ['nowhere']\n",
        "not toml at all [",
        "[alternates]\nooni_countries = ['cn']\n",
        "[alternates]\nooni_countries = ['CHN']\n",
        "[alternates]\nask_domains = ['*.*.example.net']\n",
        "[alternates]\ncheck_seconds = -1\n",
        "[publisher]\nalternates = ['https://x.example/?q=1']\n",
    ],
)
def test_invalid_config_is_refused(write_config: Callable[[str], Path], text: str) -> None:
    with pytest.raises(ConfigError):
        load_config(write_config(text), environ={})


def test_ways_out_are_named_and_tor_is_socks5h(write_config: Callable[[str], Path]) -> None:
    text = (
        "[fetch]\negress = ['direct', 'vps=http://u:p@10.0.0.2:3128', 'tor=tor://127.0.0.1:9050']\n"
        "[[sites]]\nname = 'x'\norigin = 'https://x.example'\negress = ['tor']\n"
        "publisher_consents = true\nclient = 'browser'\n"
    )
    config = load_config(write_config(text), environ={})
    direct, vps, tor = config.fetch.ways_out
    assert (direct.name, direct.proxy, vps.proxy) == ("direct", "", "http://u:p@10.0.0.2:3128")
    assert (tor.proxy, tor.tor) == ("socks5h://127.0.0.1:9050", True)
    assert "u:p" not in repr(config.fetch) + repr(vps)
    site = config.sites[0]
    assert (site.egress, site.publisher_consents, site.client) == (("tor",), True, "browser")
    assert load_config(None, environ={}).fetch.ways_out[0].name == "direct"


def test_invalid_environment_is_refused() -> None:
    with pytest.raises(ConfigError):
        load_config(None, environ={"MIRROR_FETCH_TIMEOUT": "soon"})
    with pytest.raises(ConfigError):
        load_config(None, environ={"MIRROR_SERVER_PLAIN_HTTP": "maybe"})


def test_every_setting_has_help_and_env_name() -> None:
    for setting in SETTINGS:
        assert setting.help
        assert re.fullmatch(r"MIRROR_[A-Z_]+", setting.env_var)


@pytest.mark.parametrize("name", ["China Digital Times", "", "UPPER", "a/b", "x" * 40])
def test_site_name_must_be_a_slug(write_config: Callable[[str], Path], name: str) -> None:
    path = write_config(f'[[sites]]\nname = "{name}"\norigin = "https://example.org"\n')
    with pytest.raises(ConfigError):
        load_config(path, environ={})


def test_repr_shows_no_password_proxy_credentials_or_key(
    write_config: Callable[[str], Path],
) -> None:
    config = load_config(
        write_config(
            '[cache]\nredis_url = "redis://:s3cret-redis@127.0.0.1:6379/0"\n'
            '[fetch]\nproxy = "socks5h://user:s3cret-proxy@127.0.0.1:9050"\n'
            '[limits]\nredis_url = "redis://:s3cret-limits@127.0.0.1:6379/1"\n'
            '[server]\naccess_key = "s3cret-access-0123456789"\n'
        ),
        environ={"MIRROR_SERVER_TOKEN_KEY": b64encode(bytes(range(64)))},
    )
    assert config.cache.redis_url.startswith("redis://:s3cret-redis@")  # kept, only unsaid
    assert config.fetch.proxy.startswith("socks5h://user:s3cret-proxy@")
    text = repr(config)
    for kept in ("s3cret", "127.0.0.1:9050", b64encode(bytes(range(64)))):
        assert kept not in text, kept


def test_onion_name_is_checked_down_to_its_checksum() -> None:
    assert is_v3_onion(ONION)
    config = load_config(None, environ={"MIRROR_PUBLISHER_ONION": ONION.upper()})
    assert config.publisher.onion == ONION
    assert config.publisher.onion_url == f"http://{ONION}"
    for wrong in (MISTYPED_ONION, ONION.removesuffix(".onion"), "abcdefghijklmnop.onion",
                  f"http://{ONION}", "x" * 56 + ".onion"):  # fmt: skip
        assert not is_v3_onion(wrong.lower()), wrong
        with pytest.raises(ConfigError, match=r"publisher\.onion"):
            load_config(None, environ={"MIRROR_PUBLISHER_ONION": wrong})
    assert load_config(None, environ={}).publisher.onion_url == ""


@pytest.mark.parametrize("listen", ["0.0.0.0:8081", "192.0.2.1:8081", "localhost:8081",
                                    "127.0.0.1", "127.0.0.1:0", "[::1]:http"])  # fmt: skip
def test_onion_listener_must_be_on_loopback(listen: str) -> None:
    environ = {"MIRROR_SERVER_ONION_LISTEN": listen, "MIRROR_PUBLISHER_ONION": ONION}
    with pytest.raises(ConfigError, match=r"server\.onion_listen"):
        load_config(None, environ=environ)


def test_onion_listener_needs_the_onion_name() -> None:
    environ = {"MIRROR_SERVER_ONION_LISTEN": "[::1]:8081"}
    with pytest.raises(ConfigError, match=r"publisher\.onion"):
        load_config(None, environ=environ)
    server = load_config(None, environ={**environ, "MIRROR_PUBLISHER_ONION": ONION}).server
    assert (server.onion_host, server.onion_port) == ("::1", 8081)


def test_publishing_page_lists_every_publish_setting() -> None:
    """The ``[[publish]]`` table of docs/operators/publishing.md is the settings, exactly."""
    from mirror.settings import PUBLISH_FIELDS

    text = (paths.ROOT / "docs" / "operators" / "publishing.md").read_text("utf-8")
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].startswith("`publish."):
            rows[cells[0].strip("`")] = cells
    assert set(rows) == {s.name for s in PUBLISH_FIELDS}
    for setting in PUBLISH_FIELDS:
        _, kind, default, help_text = rows[setting.name]
        assert kind == ("list[str]" if setting.type == list[str] else setting.type.__name__)
        assert default.strip("`") == documented_default(setting), setting.name
        assert help_text == setting.help, setting.name


def test_publish_targets_are_read_from_the_file_only(
    write_config: Callable[[str], Path],
) -> None:
    path = write_config(
        '[[publish]]\nurl = "s3://bucket/copy/"\nendpoint = "https://r2.example/"\n'
        'every_seconds = 600\nsites = ["cdt"]\n'
    )
    [target] = load_config(path, environ={}).publish
    assert (target.url, target.endpoint, target.sites) == (
        "s3://bucket/copy",
        "https://r2.example",
        ("cdt",),
    )
    assert target.every_seconds == 600 and not target.prune
    for wrong in ('[[publish]]\nendpoint = "x"\n', '[[publish]]\nurl = "s3://b/p"\nkey = "x"\n'):
        with pytest.raises(ConfigError, match="publish"):
            load_config(write_config(wrong), environ={})
