"""Options: registered, documented, validated, and the sample is current."""

import os
import subprocess
import sys

from oslo_config import cfg
from oslo_config import fixture as config_fixture
import pytest

from novadocker import conf

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


@pytest.fixture
def config():
    fixture = config_fixture.Config(cfg.ConfigOpts())
    fixture.setUp()
    conf.register_opts(fixture.conf)
    yield fixture
    fixture.cleanUp()


def test_every_option_has_help_text():
    for group, opts in conf.list_opts():
        assert group.name == 'docker'
        for opt in opts:
            assert len(opt.help) > 20, opt.name


def test_defaults(config):
    assert config.conf.docker.api_url == 'unix:///var/run/docker.sock'
    assert config.conf.docker.pids_limit == 1024
    assert config.conf.docker.cap_add == []
    assert config.conf.docker.stop_event_delay == 15
    assert config.conf.docker.log_max_size == '10m'
    assert config.conf.docker.log_max_files == 2
    assert config.conf.docker.guest_reboot is True
    assert config.conf.docker.root_disk_quota == 'warn'


@pytest.mark.parametrize('name,value,why', [
    ('pids_limit', '-5', 'Should be greater than or equal to 0'),
    ('stop_event_delay', '-0.5', 'Should be greater than or equal to 0'),
    ('root_disk_quota', 'refuse', r'Valid values are \[enforce, warn\]'),
    ('root_disk_quota', 'Enforce', r'Valid values are \[enforce, warn\]'),
    ('root_disk_quota', '', r'Valid values are \[enforce, warn\]')])
def test_wrong_option_value_is_a_clear_error(config, tmp_path, name, value,
                                             why):
    path = tmp_path / 'nova.conf'
    path.write_text('[docker]\n%s = %s\n' % (name, value))
    config.conf(['--config-file', str(path)])
    with pytest.raises(cfg.ConfigFileValueError, match=why):
        getattr(config.conf.docker, name)


@pytest.mark.parametrize('value', ['10x', '0', '-1m', '1.5m', ''])
def test_log_size_must_be_a_size(config, tmp_path, value):
    path = tmp_path / 'nova.conf'
    path.write_text('[docker]\nlog_max_size = %s\n' % value)
    config.conf(['--config-file', str(path)])
    with pytest.raises(cfg.ConfigFileValueError,
                       match="doesn't match regex"):
        config.conf.docker.log_max_size


@pytest.mark.parametrize('value', ['10m', '512k', '1g', '4096'])
def test_log_sizes_the_engine_takes(config, tmp_path, value):
    path = tmp_path / 'nova.conf'
    path.write_text('[docker]\nlog_max_size = %s\n' % value)
    config.conf(['--config-file', str(path)])
    assert config.conf.docker.log_max_size == value


def test_sample_config_is_up_to_date(tmp_path):
    out = tmp_path / 'sample'
    subprocess.run(
        [sys.executable, '-m', 'oslo_config.generator', '--config-file',
         os.path.join(ROOT, 'etc/novadocker/novadocker-config-generator.conf'),
         '--output-file', str(out)], check=True, cwd=ROOT)
    with open(os.path.join(ROOT, 'etc/novadocker/nova-docker.conf.sample')) \
            as committed:
        assert out.read_text() == committed.read(), \
            'run "tox -e genconfig" and commit the sample'
