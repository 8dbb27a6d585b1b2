mkdir -p tools empty-dir nested/empty-leaf sticky
printf 'not really a key\n' > private.key
printf 'read only\n' > readonly.txt
printf '#!/bin/sh\necho suid\n' > tools/suid-tool
printf '#!/bin/sh\necho sgid\n' > tools/sgid-tool
chmod 0600 private.key
chmod 0444 readonly.txt
chmod 4755 tools/suid-tool
chmod 2755 tools/sgid-tool
chmod 0700 tools
chmod 1777 sticky
mkfifo a-fifo
