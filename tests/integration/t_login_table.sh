#!/bin/sh
# t_login_table.sh - the failed-login block against the real daemon (issue
# 13, defect 2): an address blocked after 5 failed logins stays blocked
# while 600 other loopback addresses (more than twice the 256-slot table)
# each send a login that cannot be right, which costs the daemon no
# password hash. Before the fix the block was lifted by them.
. "$(dirname "$0")/lib.sh"

D="$T/state"
"$LANCA" init --dir "$D" --name logins >/dev/null 2>&1 || fail "init"
ROOT_PEM="$D/root.pem"
start_serve "$D"

python3 - "$HTTPS_PORT" "$ROOT_PEM" >"$T/logins.out" 2>&1 <<'EOF' || fail "$(cat "$T/logins.out")"
import http.client, json, ssl, sys

port, root = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=root)

def login(src):
    """One impossible login (a user name no account can have) from src."""
    # The gateway's certificate names 127.0.0.1: verified as usual.
    c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10,
                                    source_address=(src, 0))
    c.request("POST", "/api/v1/login", body=json.dumps({"user": "!", "password": "x"}),
              headers={"Content-Type": "application/json"})
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, r.getheader("Retry-After"), body

victim = "127.0.0.2"
for i in range(5):
    st, _, body = login(victim)
    assert st == 401, (i, st, body)
st, retry, body = login(victim)
assert st == 429 and retry is not None and int(retry) > 0, (st, retry, body)
print("blocked: 429, Retry-After", retry)
others = 0
for i in range(600):
    src = "127.1.%d.%d" % (i // 250, i % 250 + 1)
    st, _, body = login(src)
    assert st in (401, 429), (src, st, body)
    others += 1
st, retry2, body = login(victim)
assert st == 429, ("the block was lifted after %d other addresses" % others, st, body)
assert int(retry2) <= int(retry), (retry, retry2)
print("still blocked after %d other addresses: 429, Retry-After %s" % (others, retry2))
EOF
ok "a blocked address stays blocked while 600 other addresses fail ($(tail -n 1 "$T/logins.out"))"

stop_serve || fail "serve did not stop cleanly"
echo "1..$n_ok"
