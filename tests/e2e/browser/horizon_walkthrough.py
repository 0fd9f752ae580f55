#!/usr/bin/env python3
"""What a user does with the driver in Horizon, in a real browser.

Chromium, headless and driven by Playwright, logs into the dashboard,
launches an instance from an image through the Launch Instance wizard on a
network, waits for it to be Active with an address, reads its Log tab and
types into its Console tab, snapshots it from its Actions menu, sees the
snapshot in Images, and deletes the instance and the snapshot.

Each step prints one "STEP <name> <seconds> ok|FAILED" line (the e2e
gate's report reads them) and leaves a screenshot <NN>-<name>.png in the
screenshot directory; a failed step leaves <NN>-<name>-FAILED.png and the
page's HTML beside it, says what it expected and what the page showed, and
ends the run. Every wait is bounded.

Exit status: 0 every step passed, 1 a step failed, 2 bad arguments,
3 the browser did not start.
"""

import argparse
import os
import re
import sys
import time

from playwright import sync_api

# Chromium as Debian ships it, headless, without its background services
# (no network beyond the dashboard here)
CHROMIUM_ARGS = [
    '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--no-first-run', '--disable-component-update', '--disable-sync',
    '--disable-quic',
]

# With the serial console on, the plugin's cirros image runs a login on
# its console ([docker] console_tty gives it a terminal): the Console step
# logs in as the guest's user, types a command and reads its answer
# the Log tab's length asked for: all a guest's console log holds
LOG_LINES = 100000
# typed on the console; only a shell running it prints the answer
CONSOLE_PROBE = 'echo nova-docker-$((6*7))'
CONSOLE_ANSWER = 'nova-docker-42'

# the steps, in their order: (name, Walkthrough method)
STEPS = [
    ('login', 'login'),
    ('launch-wizard', 'launch'),
    ('instance-active', 'active'),
    ('log-tab', 'log_tab'),
    ('console-tab', 'console_tab'),
    ('snapshot', 'snapshot'),
    ('delete-instance', 'delete_instance'),
    ('delete-snapshot', 'delete_snapshot'),
]

IPV4 = re.compile(r'\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b')


class StepFailed(Exception):
    """A step did not see what it expected."""


def exactly(text):
    """A pattern of that text alone, spaces around it aside."""
    return re.compile(r'^\s*%s\s*$' % re.escape(text))


def excerpt(text, limit=600):
    text = ' '.join((text or '').split())
    return text if len(text) <= limit else text[:limit] + '...'


class Walkthrough(object):

    def __init__(self, page, args):
        self.page = page
        self.args = args
        self.url = args.url.rstrip('/')
        self.number = 0
        self.snapshot_created = False
        self.instance_launched = False

    # -- reporting --------------------------------------------------------

    def shot(self, name):
        path = os.path.join(self.args.screenshots,
                            '%02d-%s.png' % (self.number, name))
        try:
            self.page.screenshot(path=path, full_page=True)
        except sync_api.Error as e:
            print('could not take %s: %s' % (path, e), file=sys.stderr)
        return path

    def page_state(self):
        try:
            body = self.page.inner_text('body', timeout=5000)
        except sync_api.Error:
            body = ''
        return 'the page (%s, title "%s") showed: %s' % (
            self.page.url, self.page.title(), excerpt(body))

    def run_step(self, name, function):
        self.number += 1
        start = time.monotonic()
        print('step %s' % name, file=sys.stderr)
        try:
            function()
        except (StepFailed, sync_api.Error) as e:
            path = self.shot(name + '-FAILED')
            with open(path[:-len('.png')] + '.html', 'w') as f:
                f.write(self.page.content())
            print('FAILED step %s: %s; %s; screenshot %s' % (
                name, e, self.page_state(), path), file=sys.stderr)
            self.print_step(name, start, 'FAILED')
            return False
        self.shot(name)
        self.print_step(name, start, 'ok')
        return True

    @staticmethod
    def print_step(name, start, result):
        print('STEP %s %.1f %s' % (name, time.monotonic() - start, result),
              flush=True)

    # -- helpers ----------------------------------------------------------

    def expect_visible(self, locator, what, timeout=None):
        try:
            locator.first.wait_for(state='visible',
                                   timeout=timeout or self.args.timeout)
        except sync_api.TimeoutError:
            raise StepFailed('expected %s within %d s' % (
                what, (timeout or self.args.timeout) / 1000))
        return locator.first

    def open_panel(self, path, heading):
        self.page.goto('%s/%s/' % (self.url, path))
        self.expect_visible(
            self.page.locator('.page-header h1, h1').filter(
                has_text=heading), 'the %s page' % heading)

    def instance_row(self):
        return self.page.locator(
            'table#instances tr[data-display="%s"]' % self.args.instance)

    def image_row(self):
        # the Angular images table: a row whose name link is the snapshot's
        return self.page.locator('tr').filter(
            has=self.page.get_by_role('link', name=self.args.snapshot,
                                      exact=True))

    def row_action(self, row, label):
        """Click the action of that label: the row's button or its menu's."""
        cell = row.locator('td.actions_column')
        direct = cell.locator('button, a').filter(
            has_text=exactly(label))
        if not direct.first.is_visible():
            self.expect_visible(cell.locator('.dropdown-toggle'),
                                'the Actions menu of the row').click()
        self.expect_visible(direct, 'the action "%s"' % label).click()

    def confirm_modal(self, label):
        self.expect_visible(
            self.page.locator('.modal-dialog .btn-danger').filter(
                has_text=label), 'a confirmation "%s"' % label).click()

    def wait_until(self, check, what, seconds, reload_every=15):
        """check() is true within seconds, the page reloaded between tries.

        check returns a true value, or raises StepFailed to end at once.
        """
        deadline = time.monotonic() + seconds
        last_reload = time.monotonic()
        while True:
            result = check()
            if result:
                return result
            if time.monotonic() >= deadline:
                raise StepFailed('expected %s within %d s' % (what, seconds))
            self.page.wait_for_timeout(2000)
            if time.monotonic() - last_reload >= reload_every:
                self.page.reload()
                last_reload = time.monotonic()

    def transfer(self, form, name, what):
        """Allocate the row called name in a wizard step's transfer table."""
        step = self.page.locator('ng-include[ng-form="%s"]' % form)
        by_name = self.page.get_by_text(name, exact=True)
        allocated = step.locator('.transfer-allocated tr').filter(has=by_name)
        if allocated.count():
            return      # allocated already (the only network is)
        available = step.locator('.transfer-available tr').filter(has=by_name)
        self.expect_visible(available.locator('button.fa-arrow-up'),
                            '%s "%s" among the available ones' % (what, name))
        available.locator('button.fa-arrow-up').first.click()
        self.expect_visible(allocated, '%s "%s" allocated' % (what, name),
                            timeout=10000)

    def wizard_step(self, title):
        self.page.locator('.wizard-nav li a').filter(
            has_text=exactly(title)).click()

    # -- the steps ----------------------------------------------------------

    def login(self):
        self.page.goto(self.url + '/')
        self.expect_visible(self.page.locator('#id_username'),
                            'the login form (its user name field)')
        self.page.fill('#id_username', self.args.user)
        self.expect_visible(self.page.locator('#id_password'),
                            'the login form\'s password field')
        self.page.fill('#id_password', self.args.password)
        domain = self.page.locator('#id_domain')
        if domain.count() and domain.is_visible():
            domain.fill(self.args.domain)
        self.page.click('#loginBtn')
        user = self.page.locator('.user-menu .user-name')
        error = self.page.locator('form .alert-danger')
        try:
            user.or_(error).first.wait_for(timeout=self.args.timeout)
        except sync_api.TimeoutError:
            raise StepFailed('expected the dashboard with the user menu of %s'
                             % self.args.user)
        if error.count() and error.first.is_visible():
            raise StepFailed('the login was refused: "%s"'
                             % excerpt(error.first.inner_text()))
        if user.inner_text().strip() != self.args.user:
            raise StepFailed('expected the user menu to name %s, it says %s'
                             % (self.args.user, user.inner_text()))
        self.choose_project()

    def choose_project(self):
        # a user with roles on several projects lands on any of them
        current = self.page.locator('.context-project')
        if current.first.inner_text().strip() == self.args.project:
            return
        self.expect_visible(
            self.page.locator('a.dropdown-toggle').filter(
                has=self.page.locator('.context-overview')),
            'the project menu').click()
        self.expect_visible(
            self.page.locator('a').filter(has=self.page.locator(
                '.dropdown-title').filter(has_text=exactly(
                    self.args.project))),
            'the project %s in the project menu' % self.args.project).click()
        self.page.wait_for_load_state()
        if current.first.inner_text().strip() != self.args.project:
            raise StepFailed('expected the project %s, the header says %s'
                             % (self.args.project, current.first.inner_text()))

    def launch(self):
        self.open_panel('project/instances', 'Instances')
        self.expect_visible(
            self.page.get_by_role('link', name='Launch Instance'),
            'the Launch Instance button').click()
        wizard = self.page.locator('.ng-wizard')
        self.expect_visible(wizard.locator('#name'),
                            'the wizard\'s Details step (Instance Name)')
        wizard.locator('#name').fill(self.args.instance)

        self.wizard_step('Source')
        self.expect_visible(wizard.locator('#boot-source-type'),
                            'the Source step\'s boot source').select_option(
                                label='Image')
        # the booting image's own disk: the driver boots no volume, and
        # where Cinder is, Horizon may default to a new one
        no_volume = wizard.locator('label#vol-create').filter(
            has_text=exactly('No'))
        if no_volume.count() and no_volume.first.is_visible():
            no_volume.first.click()
        if wizard.locator('#volume-size').is_visible():
            raise StepFailed('expected "Create New Volume: No" to hide the '
                             'volume size')
        self.transfer('launchInstanceSourceForm', self.args.image, 'the image')

        self.wizard_step('Flavor')
        self.transfer('launchInstanceFlavorForm', self.args.flavor,
                      'the flavor')

        self.wizard_step('Networks')
        self.transfer('launchInstanceNetworkForm', self.args.network,
                      'the network')

        finish = wizard.locator('button.btn-primary.finish')
        if not finish.is_enabled():
            raise StepFailed('expected the Launch Instance button enabled; '
                             'a step is still incomplete')
        finish.click()
        try:
            wizard.wait_for(state='detached', timeout=self.args.timeout)
        except sync_api.TimeoutError:
            raise StepFailed('expected the wizard to close; its error says: '
                             '%s' % excerpt(wizard.locator(
                                 '.error-message').inner_text()))
        self.instance_launched = True

    def active(self):
        def is_active():
            row = self.instance_row()
            if not row.count():
                return False
            text = row.inner_text()
            if re.search(r'\bError\b', text):
                raise StepFailed('the instance is in Error: %s'
                                 % excerpt(text))
            return re.search(r'\bActive\b', text) and IPV4.search(text)

        self.wait_until(is_active, 'the instance Active with an IPv4 '
                        'address in its row', self.args.boot_timeout)

    def open_detail(self):
        self.expect_visible(
            self.instance_row().get_by_role('link', name=self.args.instance,
                                            exact=True),
            'the instance\'s name link').click()
        self.expect_visible(self.page.locator('ul.nav-tabs'),
                            'the instance\'s detail tabs')

    def log_tab(self):
        self.open_detail()

        def has_boot_output():
            self.page.locator('ul.nav-tabs a').filter(
                has_text=exactly('Log')).click()
            log = self.page.locator('#instance_details__log pre.logs')
            try:
                log.wait_for(timeout=10000)
            except sync_api.TimeoutError:
                return False
            # The tab shows the log's last 35 lines; the boot output is
            # earlier (a console login prints on): ask for the whole log
            tail = self.page.locator('#tail_length')
            tail.locator('input[name=length]').fill(str(LOG_LINES))
            tail.locator('button[type=submit]').click()
            self.page.wait_for_timeout(3000)
            return self.args.log_expect in log.inner_text()

        self.wait_until(has_boot_output, 'the Log tab to hold "%s"'
                        % self.args.log_expect, self.args.boot_timeout)

    def console_tab(self):
        self.page.locator('ul.nav-tabs a').filter(
            has_text=exactly('Console')).click()
        self.expect_visible(
            self.page.locator('#instance_details__console iframe'),
            'the console\'s frame (without a console type Nova gives, '
            'Horizon says "Console is currently unavailable")')
        console = self.page.frame_locator('#instance_details__console iframe')
        terminal = console.locator('#terminalNode')
        self.expect_visible(terminal, 'the serial console\'s terminal')
        deadline = time.monotonic() + self.args.boot_timeout
        while True:
            if CONSOLE_ANSWER in terminal.inner_text().replace('\xa0', ' '):
                return
            body = console.locator('body').inner_text().replace('\xa0', ' ')
            if time.monotonic() >= deadline:
                raise StepFailed(
                    'expected the console (Status: Open) to answer %s with '
                    '%s within %d s; it shows: %s' % (
                        CONSOLE_PROBE, CONSOLE_ANSWER,
                        self.args.boot_timeout, excerpt(body)))
            if 'Status: Open' in body:
                typed = self.console_answer(terminal)
                if typed:
                    terminal.click()
                    self.page.keyboard.type(typed)
                    self.page.keyboard.press('Enter')
            self.page.wait_for_timeout(5000)

    def console_answer(self, terminal):
        """What to type at the console's last line: the user at its login
        prompt, the password at its question, the probe at a shell prompt
        (None while the guest still prints)."""
        lines = [line.rstrip() for line in terminal.inner_text().replace(
            '\xa0', ' ').splitlines() if line.strip()]
        last = lines[-1] if lines else ''
        if last.endswith('login:'):
            return self.args.guest_user
        if last.endswith('Password:'):
            return self.args.guest_password
        if last.endswith(('$', '#')):
            return CONSOLE_PROBE
        return None

    def snapshot(self):
        self.open_panel('project/instances', 'Instances')
        self.row_action(self.instance_row(), 'Create Snapshot')
        form = self.page.locator('.modal-dialog form')
        self.expect_visible(form.locator('#id_name'),
                            'the Create Snapshot form\'s name field')
        form.locator('#id_name').fill(self.args.snapshot)
        form.locator('.modal-footer button[type=submit], '
                     '.modal-footer input[type=submit]').click()
        self.snapshot_created = True

        def listed_active():
            row = self.image_row()
            if not row.count():
                return False
            text = row.first.inner_text()
            if re.search(r'\b(Killed|Deleted)\b', text):
                raise StepFailed('the snapshot is %s' % excerpt(text))
            return re.search(r'\bActive\b', text)

        self.page.wait_for_url(re.compile(r'/project/images/?'),
                               timeout=self.args.timeout)
        self.wait_until(listed_active, 'the snapshot "%s" Active in Images'
                        % self.args.snapshot, self.args.boot_timeout)

    def delete_instance(self):
        self.open_panel('project/instances', 'Instances')
        self.row_action(self.instance_row(), 'Delete Instance')
        self.confirm_modal('Delete Instance')
        self.wait_until(lambda: not self.instance_row().count(),
                        'the instance gone from Instances',
                        self.args.boot_timeout)
        self.instance_launched = False

    def delete_snapshot(self):
        self.open_panel('project/images', 'Images')
        self.expect_visible(self.image_row(), 'the snapshot in Images')
        self.row_action(self.image_row(), 'Delete Image')
        self.confirm_modal('Delete Image')
        self.wait_until(lambda: not self.image_row().count(),
                        'the snapshot gone from Images',
                        self.args.boot_timeout)
        self.snapshot_created = False

    def steps(self):
        return [(name, getattr(self, method)) for name, method in STEPS]

    def clean_up(self):
        """After a failure, what the run made, through the same pages."""
        for made, name, step in (
                (self.instance_launched, 'cleanup-instance',
                 self.delete_instance),
                (self.snapshot_created, 'cleanup-snapshot',
                 self.delete_snapshot)):
            if made:
                self.run_step(name, step)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--url', required=True,
                        help='the dashboard, e.g. http://192.0.2.10/dashboard')
    parser.add_argument('--user', default='demo')
    parser.add_argument('--password', required=True)
    parser.add_argument('--project', default='demo')
    parser.add_argument('--domain', default='Default',
                        help='where the login form asks for one')
    parser.add_argument('--guest-user', default='cirros',
                        help='who logs in on the guest\'s console')
    parser.add_argument('--guest-password', default='gocubsgo')
    parser.add_argument('--image', default='cirros')
    parser.add_argument('--flavor', default='m1.tiny')
    parser.add_argument('--network', default='private')
    parser.add_argument('--instance', default='e2e-horizon')
    parser.add_argument('--snapshot', default='e2e-horizon-snap')
    parser.add_argument('--log-expect', default='Starting syslogd: OK',
                        help='what the guest\'s boot output in the Log tab '
                        'holds')
    parser.add_argument('--screenshots', required=True,
                        help='a directory, made if missing')
    parser.add_argument('--browser', default='/usr/bin/chromium')
    parser.add_argument('--timeout', type=float, default=30,
                        help='seconds an element may take to appear')
    parser.add_argument('--boot-timeout', type=float, default=300,
                        help='seconds the cloud may take to change state')
    parser.add_argument('--steps', default=None,
                        help='comma-separated steps to run, in their order '
                        '(default: all)')
    args = parser.parse_args(argv)
    names = [name for name, _ in STEPS]
    if args.steps is None:
        args.steps = names
    else:
        args.steps = args.steps.split(',')
        unknown = sorted(set(args.steps) - set(names))
        if unknown:
            parser.error('unknown steps: %s (the steps: %s)'
                         % (', '.join(unknown), ', '.join(names)))
    args.timeout *= 1000
    return args


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.screenshots, exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        try:
            # Playwright gives each launch a fresh profile of its own
            browser = playwright.chromium.launch(
                executable_path=args.browser, headless=True,
                args=CHROMIUM_ARGS)
        except sync_api.Error as e:
            print('could not start %s: %s' % (args.browser, e),
                  file=sys.stderr)
            return 3
        page = browser.new_page(viewport={'width': 1280, 'height': 900})
        page.set_default_timeout(args.timeout)
        walk = Walkthrough(page, args)
        ok = all(walk.run_step(name, step) for name, step in walk.steps()
                 if name in args.steps)
        if not ok:
            walk.clean_up()
        browser.close()
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
