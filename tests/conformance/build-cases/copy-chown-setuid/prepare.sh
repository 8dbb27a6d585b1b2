set -e
chmod 4755 bin/suid
chmod 2755 bin/sgid
chmod 1755 bin
