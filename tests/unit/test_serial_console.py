"""The serial console's pure parts: the engine's frames and the ports."""

import socket
import struct

from nova.console import serial
from nova import exception
import pytest

from novadocker import conf
from novadocker import serial_console


def frame(kind, payload):
    return struct.pack('>BxxxL', kind, len(payload)) + payload


STREAM = (frame(1, b'login: ') + frame(2, b'error\n') + frame(1, b'') +
          frame(1, b'marker-42\n'))


def test_demuxer_whole_stream():
    assert (serial_console.Demuxer().feed(STREAM) ==
            b'login: error\nmarker-42\n')


@pytest.mark.parametrize('size', [1, 2, 3, 7, 8, 9, 13])
def test_demuxer_any_pieces(size):
    demuxer = serial_console.Demuxer()
    out = b''.join(demuxer.feed(STREAM[i:i + size])
                   for i in range(0, len(STREAM), size))
    assert out == b'login: error\nmarker-42\n'


def test_demuxer_keeps_a_partial_frame():
    demuxer = serial_console.Demuxer()
    assert demuxer.feed(frame(1, b'abcdef')[:10]) == b'ab'
    assert demuxer.feed(b'') == b''
    assert demuxer.feed(b'cdef' + frame(2, b'g')[:5]) == b'cdef'
    assert demuxer.feed(frame(2, b'g')[5:]) == b'g'


def test_demuxer_refuses_a_raw_stream():
    # A TTY's output is not framed: its first byte is no stream type.
    with pytest.raises(ValueError, match='not a multiplexed stream'):
        serial_console.Demuxer().feed(b'login: \r\n')


@pytest.fixture
def port_range():
    """Three ports of a range nobody else uses, on the loopback."""
    probe = socket.socket()
    probe.bind(('127.0.0.1', 0))
    start = probe.getsockname()[1]
    probe.close()
    conf.CONF.set_override('port_range', '%d:%d' % (start, start + 3),
                           group='serial_console')
    yield range(start, start + 3)
    conf.CONF.clear_override('port_range', group='serial_console')
    for port in range(start, start + 3):
        serial.release_port('127.0.0.1', port)


def test_listen_takes_each_port_once_then_says_the_range_is_full(
        port_range):
    listeners = []
    try:
        for _ in port_range:
            listeners.append(serial_console.listen('127.0.0.1'))
        assert sorted(port for _, port in listeners) == list(port_range)
        for sock, port in listeners:
            assert sock.getsockname() == ('127.0.0.1', port)
        with pytest.raises(exception.SocketPortRangeExhaustedException,
                           match='127.0.0.1'):
            serial_console.listen('127.0.0.1')
        # A port given back is taken again.
        sock, port = listeners.pop()
        sock.close()
        serial.release_port('127.0.0.1', port)
        again = serial_console.listen('127.0.0.1')
        listeners.append(again)
        assert again[1] == port
    finally:
        for sock, _ in listeners:
            sock.close()


def test_listen_skips_a_port_someone_else_holds(port_range):
    other = socket.socket()
    other.bind(('127.0.0.1', port_range[0]))
    other.listen(1)
    try:
        sock, port = serial_console.listen('127.0.0.1')
        sock.close()
        assert port == port_range[1]
    finally:
        other.close()
