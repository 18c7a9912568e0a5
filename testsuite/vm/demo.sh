#!/bin/sh
# examples/demo inside the VM: webd confined by examples/web.policy.
LOAD=/usr/local/bin/bpfbox-load
say() { printf '\n\033[1m%s\033[0m\n' "$*"; }
get() { printf 'GET %s HTTP/1.0\r\n\r\n' "$1" | nc 127.0.0.1 8080 | sed -n '$p'; }

echo "<h1>hello from webd</h1>" > /var/www/index.html
echo "-----BEGIN PRIVATE KEY----- (demo key)" > /etc/webd/key.pem
echo "root:\$6\$secret-hash:19000:0:99999:7:::" > /etc/shadow
touch /var/log/webd/access.log

say "\$ bpfbox-load /t/images/web.bbx"
$LOAD /t/images/web.bbx
$LOAD --follow > /tmp/events.json &
FOLLOW=$!
sleep 1

say "\$ webd 8080 /var/www /etc/webd/key.pem /var/log/webd/access.log &"
/usr/local/bin/webd 8080 /var/www /etc/webd/key.pem /var/log/webd/access.log &
sleep 1

say "A normal request:        GET /index.html"
get /index.html
say "Path traversal:          GET /../../etc/shadow"
get /../../etc/shadow
say "Remote code execution:   GET /exec/id   (spawning a shell)"
get /exec/id
say "Key read by the handler: GET /key"
get /key
say "Key read in load_key():  GET /reload-key   (#[func load_key] allows it)"
get /reload-key
say "And the log kept working: tail /var/log/webd/access.log"
tail -5 /var/log/webd/access.log

sleep 1
kill -INT $FOLLOW
wait $FOLLOW 2>/dev/null
say "The audit events (bpfbox-load --follow):"
cat /tmp/events.json
