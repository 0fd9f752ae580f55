#!/usr/bin/env bats
#
# The e2e gate's Horizon walk-through (tests/e2e/browser) in a real
# headless chromium, against small pages shaped like Horizon's served on
# 127.0.0.1: its plumbing (steps, screenshots, failures, exit codes). The
# walk-through of a real Horizon runs in the gate (E2E_BROWSER=1).
#
# Needs Debian's chromium and a Python with Playwright: E2E_BROWSER_PYTHON,
# else the gate's venv (.e2e/browser-venv); skipped without them.

load helpers/fake_devstack

WALKTHROUGH=$ND_REPO/tests/e2e/browser/horizon_walkthrough.py

setup() {
    BROWSER_PYTHON=${E2E_BROWSER_PYTHON:-$ND_REPO/.e2e/browser-venv/bin/python}
    if [[ ! -x /usr/bin/chromium ]]; then
        skip "no /usr/bin/chromium (apt-get install chromium)"
    fi
    if ! "$BROWSER_PYTHON" -c 'import playwright' 2> /dev/null; then
        skip "no Playwright in $BROWSER_PYTHON (set E2E_BROWSER_PYTHON)"
    fi
    SITE=$BATS_TEST_TMPDIR/site
    SHOTS=$BATS_TEST_TMPDIR/shots
    mkdir -p "$SITE"
    serve "$SITE"
}

teardown() {
    if [[ -n ${SERVER_PID:-} ]]; then
        kill "$SERVER_PID" 2> /dev/null || true
        wait "$SERVER_PID" 2> /dev/null || true
    fi
}

# serve <dir>: an HTTP server of that directory on 127.0.0.1, at a free
# port (in PORT)
serve() {
    local port_file=$BATS_TEST_TMPDIR/port waited=0
    python3 -c '
import functools, http.server, sys
handler = functools.partial(http.server.SimpleHTTPRequestHandler,
                            directory=sys.argv[1])
server = http.server.HTTPServer(("127.0.0.1", 0), handler)
with open(sys.argv[2], "w") as f:
    f.write(str(server.server_port))
server.serve_forever()' "$1" "$port_file" > /dev/null 2>&1 &
    SERVER_PID=$!
    until [[ -s $port_file ]]; do
        [[ $waited -lt 100 ]] || return 1
        sleep 0.1
        waited=$((waited + 1))
    done
    PORT=$(cat "$port_file")
}

# login_page [fields]: Horizon's login form's ids, posting to dash.html
login_page() {
    local fields=${1:-'<input id="id_username"><input id="id_password" type="password">'}
    cat > "$SITE/index.html" <<EOF
<html><head><title>Login - OpenStack Dashboard</title></head><body>
<form action="dash.html" method="get">$fields
<button id="loginBtn" type="submit">Sign In</button></form></body></html>
EOF
}

# dash_page <file> <project> [body]: the header's user menu and project
dash_page() {
    cat > "$SITE/$1" <<EOF
<html><head><title>Overview</title></head><body>
<li class="dropdown user-menu"><a><span class="user-name">demo</span></a></li>
<a class="dropdown-toggle" href="#" onclick="document.getElementById('projects').hidden=false">
<span class="context-overview"><span class="context-project">$2</span></span></a>
<ul id="projects" hidden><li><a href="dash-demo.html"><span class="dropdown-title">demo</span></a></li></ul>
${3:-}</body></html>
EOF
}

walk() {
    run "$BROWSER_PYTHON" "$WALKTHROUGH" --url "http://127.0.0.1:$PORT" \
        --password secret --screenshots "$SHOTS" --timeout 3 "$@"
}

is_png() {
    [[ $(head -c 8 "$1" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]]
}

@test "browser: logs in through Horizon's form, one screenshot for the step" {
    login_page
    dash_page dash.html demo
    walk --steps login
    [ "$status" -eq 0 ]
    [[ "$output" =~ STEP\ login\ [0-9.]+\ ok ]]
    is_png "$SHOTS/01-login.png"
}

@test "browser: a user landing in another project switches to its own" {
    login_page
    dash_page dash.html invisible_to_admin
    dash_page dash-demo.html demo
    walk --steps login --project demo
    [ "$status" -eq 0 ]
    is_png "$SHOTS/01-login.png"
}

@test "browser: a missing element fails its step, says what and where, with a screenshot" {
    login_page '<input id="id_username">'
    walk --steps login,launch-wizard
    [ "$status" -eq 1 ]
    [[ "$output" =~ STEP\ login\ [0-9.]+\ FAILED ]]
    [[ "$output" == *"FAILED step login: expected the login form's password field within 3 s; the page (http://127.0.0.1:$PORT/, title \"Login - OpenStack Dashboard\") showed: Sign In; screenshot $SHOTS/01-login-FAILED.png"* ]]
    is_png "$SHOTS/01-login-FAILED.png"
    grep -q 'id="id_username"' "$SHOTS/01-login-FAILED.html"
    # the run ends at the failed step
    [[ "$output" != *launch-wizard* ]]
}

@test "browser: a refused login says what the form said" {
    login_page
    dash_page dash.html demo '<form><div class="alert alert-danger">Invalid credentials.</div></form>'
    sed -i 's|<li class="dropdown user-menu">.*</li>||' "$SITE/dash.html"
    walk --steps login
    [ "$status" -eq 1 ]
    [[ "$output" == *'FAILED step login: the login was refused: "Invalid credentials."'* ]]
}

@test "browser: the Instances page missing fails the launch step after login" {
    login_page
    dash_page dash.html demo
    walk --steps login,launch-wizard
    [ "$status" -eq 1 ]
    [[ "$output" =~ STEP\ login\ [0-9.]+\ ok ]]
    [[ "$output" == *"FAILED step launch-wizard: expected the Instances page within 3 s; the page (http://127.0.0.1:$PORT/project/instances/,"* ]]
    is_png "$SHOTS/02-launch-wizard-FAILED.png"
}

@test "browser: an unknown step is refused before the browser starts" {
    walk --steps login,fly
    [ "$status" -eq 2 ]
    [[ "$output" == *"unknown steps: fly (the steps: login, launch-wizard,"* ]]
    [ ! -e "$SHOTS" ]
}

@test "browser: a browser that does not start is exit status 3" {
    walk --steps login --browser "$BATS_TEST_TMPDIR/no-chromium"
    [ "$status" -eq 3 ]
    [[ "$output" == *"could not start $BATS_TEST_TMPDIR/no-chromium"* ]]
}
