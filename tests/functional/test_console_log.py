"""A guest that prints without end fills no disk; its console log works."""

import glob
import os

from tests.functional import base

MAX_SIZE = '1m'
MAX_BYTES = 1024 * 1024
MAX_FILES = 2
# A log file may pass the size by the entry written when it got there.
ENTRY_SLACK = 64 * 1024
# 100000 lines of about 1 KiB: 100 MB, from shell builtins only.
LOUD = ('sh -c \'s=0123456789abcdef; for i in 1 2 3 4 5 6; do s=$s$s; done; '
        'for a in 0 1 2 3 4 5 6 7 8 9; do for b in 0 1 2 3 4 5 6 7 8 9; do '
        'for c in 0 1 2 3 4 5 6 7 8 9; do for d in 0 1 2 3 4 5 6 7 8 9; do '
        'for e in 0 1 2 3 4 5 6 7 8 9; do echo "$a$b$c$d$e $s"; '
        'done; done; done; done; done; echo printed; '
        'while true; do sleep 1 & wait $!; done\'')


class TestConsoleLog(base.DockerDriverTestCase):

    def setUp(self):
        super().setUp()
        self.flags(log_max_size=MAX_SIZE, log_max_files=MAX_FILES,
                   group='docker')

    def test_a_guest_printing_100_mb_leaves_a_bounded_log(self):
        self.image('guest', properties={'os_command_line': LOUD})
        server = self.boot()
        console = self.wait_for_console(server, 'printed', timeout=300)
        # The console log API shows the end of what the guest printed.
        self.assertTrue(console.endswith('printed\n'), console[-200:])
        self.assertIn('99999 0123456789abcdef', console)
        self.assertNotIn('00000 0123456789abcdef', console)

        container = self.container(server)
        if base.on_podman():
            # Podman keeps one file, emptied at the size, and reports
            # the size alone (in its own inspect).
            path = container.attrs['LogPath']
            self.assertLessEqual(os.path.getsize(path),
                                 MAX_BYTES + ENTRY_SLACK)
            return
        self.assertEqual({'Type': 'json-file', 'Config': {
            'max-size': MAX_SIZE, 'max-file': str(MAX_FILES)}},
            container.attrs['HostConfig']['LogConfig'])
        files = glob.glob(container.attrs['LogPath'] + '*')
        # Rotated: the engine keeps the files it may and no more.
        self.assertEqual(MAX_FILES, len(files), files)
        total = sum(os.path.getsize(f) for f in files)
        self.assertLessEqual(total, MAX_FILES * (MAX_BYTES + ENTRY_SLACK))
