"""etc/heat/cirros-server.yaml: what Heat reads of it, and its user data
run by the real cirros rootfs's shell and nc.

Heat's own validation needs its engine and a cloud; the e2e gate creates
the stack. Here: the HOT structure (every reference resolves, the server
sits on the port the floating IP is on) and the user data script.
"""

import os
import shutil
import subprocess
import sys
import tarfile

import pytest
import yaml

from tests.fixtures import images

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
TEMPLATE = os.path.join(ROOT, 'etc', 'heat', 'cirros-server.yaml')


@pytest.fixture(scope='module')
def template():
    with open(TEMPLATE) as f:
        return yaml.safe_load(f)


def _functions(node, name):
    """Every argument of the intrinsic function name in node."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == name:
                yield value
            yield from _functions(value, name)
    elif isinstance(node, list):
        for value in node:
            yield from _functions(value, name)


def test_a_hot_template_with_the_parameters_a_user_gives(template):
    # rocky's HOT: every Heat since has it
    assert str(template['heat_template_version']) == '2018-08-31'
    params = template['parameters']
    for name in ('image', 'flavor', 'network', 'public_network', 'key_name'):
        assert name in params
    # the network is the user's; the rest have DevStack's defaults
    assert 'default' not in params['network']
    assert params['image']['default'] == 'cirros'
    assert params['public_network']['default'] == 'public'
    assert params['key_name']['default'] == ''


def test_every_reference_resolves(template):
    params, resources = template['parameters'], template['resources']
    for arg in _functions(template, 'get_param'):
        assert arg in params, arg
    for arg in _functions(template, 'get_resource'):
        assert arg in resources, arg
    for arg in _functions(template, 'get_attr'):
        assert arg[0] in resources, arg
    for name, resource in resources.items():
        assert set(resource) <= {'type', 'properties', 'depends_on'}, name


def test_a_server_on_a_port_with_a_floating_ip(template):
    resources = template['resources']
    types = {name: r['type'] for name, r in resources.items()}
    assert types == {'security_group': 'OS::Neutron::SecurityGroup',
                     'port': 'OS::Neutron::Port',
                     'floating_ip': 'OS::Neutron::FloatingIP',
                     'server': 'OS::Nova::Server'}
    server = resources['server']['properties']
    assert server['networks'] == [{'port': {'get_resource': 'port'}}]
    assert server['image'] == {'get_param': 'image'}
    assert resources['floating_ip']['properties']['port_id'] == {
        'get_resource': 'port'}
    assert resources['port']['properties']['security_groups'] == [
        {'get_resource': 'security_group'}]
    # the marker's port is open in the group
    rules = resources['security_group']['properties']['rules']
    assert {'protocol': 'tcp', 'port_range_min': {'get_param': 'http_port'},
            'port_range_max': {'get_param': 'http_port'}} in rules
    assert set(template['outputs']) >= {'fixed_ip', 'floating_ip', 'url'}


def user_data(template, marker, port):
    """The server's user data, as Heat's str_replace makes it."""
    spec = template['resources']['server']['properties']['user_data']
    text = spec['str_replace']['template']
    values = {'marker': marker, 'http_port': port}
    for key, value in spec['str_replace']['params'].items():
        text = text.replace(key, str(values[value['get_param']]))
    return text


def test_the_marker_pattern_keeps_the_script_a_script(template):
    pattern = template['parameters']['marker']['constraints'][0]
    assert pattern['allowed_pattern'] == '[A-Za-z0-9._-]+'
    assert user_data(template, 'm-1', 8080).startswith('#!/bin/sh\n')


@pytest.fixture
def cirros_root(tmp_path):
    if os.geteuid() != 0 or not shutil.which('unshare'):
        pytest.skip('needs root and unshare (a network namespace)')
    if not os.path.exists(images.CIRROS_ROOTFS):
        pytest.skip('no CirrOS rootfs at %s' % images.CIRROS_ROOTFS)
    root = tmp_path / 'cirros'
    with tarfile.open(images.CIRROS_ROOTFS) as tar:
        tar.extractall(root, filter='fully_trusted')
    return root


# What runs in the namespace: the script as cirros's init would (with the
# rootfs's /bin/sh), then two requests from outside the chroot. The
# namespace's processes end with its first one.
NAMESPACE = r'''
ip link set lo up
chroot "$1" /bin/sh /user-data
"$2" -c 'import sys, time, urllib.request
for attempt in range(2):
    for _ in range(50):
        try:
            body = urllib.request.urlopen(sys.argv[1], timeout=5).read()
            break
        except OSError:
            time.sleep(0.1)
    sys.stdout.write("served: " + body.decode())' "http://127.0.0.1:$3/"
'''


def test_user_data_prints_the_marker_and_serves_it(template, cirros_root):
    (cirros_root / 'user-data').write_text(
        user_data(template, 'e2e-heat-7', 18080))
    result = subprocess.run(
        ['unshare', '--net', '--pid', '--fork', '--kill-child', 'sh', '-c',
         NAMESPACE, 'namespace', str(cirros_root), sys.executable, '18080'],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    # the console line, then the marker served to two connections in turn
    assert result.stdout.splitlines() == [
        'user data: e2e-heat-7', 'served: e2e-heat-7', 'served: e2e-heat-7']
