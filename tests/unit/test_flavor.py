"""Flavor to engine settings: one pure function per concern."""

from nova import objects
import pytest

from novadocker import flavor

objects.register_all()


def make_flavor(memory_mb=512, vcpus=1, swap=0, extra_specs=None,
                root_gb=0):
    return objects.Flavor(memory_mb=memory_mb, vcpus=vcpus, swap=swap,
                          extra_specs=extra_specs or {}, root_gb=root_gb)


def test_memory_is_a_hard_limit_without_swap():
    assert flavor.memory(make_flavor(memory_mb=256)) == {
        'mem_limit': 256 * 2**20, 'memswap_limit': 256 * 2**20}


def test_flavor_swap_comes_on_top_of_ram():
    settings = flavor.memory(make_flavor(memory_mb=256, swap=128))
    assert settings['memswap_limit'] == (256 + 128) * 2**20


def test_vcpus_give_quota_and_shares():
    assert flavor.cpu(make_flavor(vcpus=4)) == {
        'cpu_shares': 4096, 'cpu_period': 100000, 'cpu_quota': 400000}


def test_quota_extra_specs_override_cpu_settings():
    settings = flavor.cpu(make_flavor(vcpus=2, extra_specs={
        'quota:cpu_shares': '512', 'quota:cpu_period': '50000'}))
    assert settings == {'cpu_shares': 512, 'cpu_period': 50000,
                        'cpu_quota': 100000}


def test_bad_quota_extra_spec_is_refused():
    with pytest.raises(ValueError):
        flavor.cpu(make_flavor(extra_specs={'quota:cpu_quota': 'lots'}))


@pytest.mark.parametrize('limit,expected', [
    (1024, {'pids_limit': 1024}), (0, {})])
def test_pids_limit_zero_means_engine_default(limit, expected):
    assert flavor.pids(limit) == expected


def test_capabilities_from_options_and_flavor_are_merged():
    settings = flavor.capabilities(
        make_flavor(extra_specs={'docker:cap_add': 'net_raw, SYS_TIME'}),
        ['NET_ADMIN', 'net_raw'])
    assert settings == {'cap_add': ['NET_ADMIN', 'NET_RAW', 'SYS_TIME']}


def test_no_capabilities_by_default():
    assert flavor.capabilities(make_flavor(), []) == {}


def test_guest_reboot_adds_sys_boot_once():
    assert flavor.capabilities(make_flavor(), [], guest_reboot=True) == {
        'cap_add': ['SYS_BOOT']}
    settings = flavor.capabilities(
        make_flavor(extra_specs={'docker:cap_add': 'cap_sys_boot'}),
        ['NET_ADMIN'], guest_reboot=True)
    assert settings == {'cap_add': ['NET_ADMIN', 'SYS_BOOT']}


def test_guest_reboot_keeps_the_container_isolated():
    settings = flavor.to_host_config(make_flavor(), 1024, [], True)
    assert settings['cap_add'] == ['SYS_BOOT']
    assert settings['privileged'] is False
    # Docker's default seccomp profile stays: nothing names another.
    assert settings['security_opt'] == ['no-new-privileges']


def test_every_container_is_isolated():
    settings = flavor.to_host_config(make_flavor(), 1024, [])
    assert settings['privileged'] is False
    assert settings['security_opt'] == ['no-new-privileges']
    assert 'network_mode' not in settings
    assert 'volumes' not in settings and 'binds' not in settings


def test_setuid_gains_only_when_told():
    settings = flavor.to_host_config(make_flavor(), 1024, [], True, False,
                                     no_new_privileges=False)
    assert 'security_opt' not in settings
    # The rest of the isolation stays.
    assert settings['privileged'] is False
    assert 'network_mode' not in settings
    assert settings['cap_add'] == ['SYS_BOOT']


def test_the_guests_root_capabilities_add_to_the_others_once():
    settings = flavor.to_host_config(
        make_flavor(extra_specs={'docker:cap_add': 'net_admin'}), 1024,
        ['SYS_PTRACE'], guest_caps=('NET_ADMIN',))
    assert settings['cap_add'] == ['NET_ADMIN', 'SYS_PTRACE']


@pytest.mark.parametrize('root_gb,size', [(1, '1G'), (20, '20G')])
def test_root_gb_limits_the_writable_layer_in_gib(root_gb, size):
    # The engine reads "1G" as 1024**3 bytes, as Nova counts a root_gb.
    assert flavor.root_disk(make_flavor(root_gb=root_gb), True) == {
        'storage_opt': {'size': size}}


def test_root_gb_zero_is_no_limit():
    assert flavor.root_disk(make_flavor(root_gb=0), True) == {}


def test_no_size_where_the_engine_cannot_limit_it():
    assert flavor.root_disk(make_flavor(root_gb=1), False) == {}


def test_host_config_has_the_root_disk_only_where_enforced():
    small = make_flavor(root_gb=2)
    assert flavor.to_host_config(small, 1024, [], False, True)[
        'storage_opt'] == {'size': '2G'}
    assert 'storage_opt' not in flavor.to_host_config(small, 1024, [])
