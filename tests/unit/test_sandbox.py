"""The sandbox's pure parts: the guest's names, and the pause program it
accepts (a static executable)."""

import os
import shutil
import stat

import pytest

from novadocker import sandbox

STATIC = shutil.which('busybox') or '/bin/busybox'


def test_hostname_settings_short_name_unchanged():
    assert sandbox.hostname_settings('web-1') == {'hostname': 'web-1'}


def test_hostname_settings_fqdn_splits_into_host_and_domain():
    fqdn = 'x' * 52 + '-guest-test.domaintest.com'
    assert sandbox.hostname_settings(fqdn) == {
        'hostname': 'x' * 52 + '-guest-test', 'domainname': 'domaintest.com'}


def test_hostname_settings_without_domain_names_keep_the_first_label():
    fqdn = 'x' * 52 + '-guest-test.domaintest.com'
    assert sandbox.hostname_settings(fqdn, domainname=False) == {
        'hostname': 'x' * 52 + '-guest-test'}


def test_hostname_settings_fit_the_kernel():
    settings = sandbox.hostname_settings('a' * 80 + '.' + 'b' * 200)
    assert len(settings['hostname']) < sandbox.HOST_NAME_MAX
    assert len(settings['domainname']) < sandbox.HOST_NAME_MAX


def test_hostname_settings_none():
    assert sandbox.hostname_settings(None) == {}


def test_a_static_executable_needs_no_loader():
    if not os.path.exists(STATIC):
        pytest.skip('busybox-static is the static executable at hand')
    assert sandbox.has_interpreter(STATIC) is False


def test_a_dynamic_executable_needs_its_loader():
    assert sandbox.has_interpreter('/bin/sh') is True


def test_what_is_not_elf_is_refused(tmp_path):
    script = tmp_path / 'pause'
    script.write_text('#!/bin/sh\nsleep infinity\n')
    with pytest.raises(ValueError, match='not an ELF'):
        sandbox.has_interpreter(str(script))


def executable(path, data):
    path.write_bytes(data)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_catatonit_missing_says_where_it_looked(tmp_path):
    with pytest.raises(sandbox.SandboxUnavailable) as e:
        sandbox.catatonit(str(tmp_path / 'catatonit'))
    assert 'no catatonit at %s' % (tmp_path / 'catatonit') in str(e.value)
    assert 'catatonit_path' in str(e.value)


def test_catatonit_dynamic_is_refused(tmp_path):
    path = executable(tmp_path / 'catatonit',
                      open('/bin/sh', 'rb').read())
    with pytest.raises(sandbox.SandboxUnavailable,
                       match='linked dynamically'):
        sandbox.catatonit(path)


def test_catatonit_truncated_is_refused(tmp_path):
    path = executable(tmp_path / 'catatonit',
                      open('/bin/sh', 'rb').read()[:60])
    with pytest.raises(sandbox.SandboxUnavailable, match='truncated'):
        sandbox.catatonit(path)


def test_catatonit_not_executable_is_refused(tmp_path):
    path = tmp_path / 'catatonit'
    path.write_bytes(b'\x7fELF')
    with pytest.raises(sandbox.SandboxUnavailable, match='not executable'):
        sandbox.catatonit(str(path))


def test_catatonit_static_is_taken(tmp_path):
    if not os.path.exists(STATIC):
        pytest.skip('busybox-static is the static executable at hand')
    assert sandbox.catatonit(STATIC) == STATIC
