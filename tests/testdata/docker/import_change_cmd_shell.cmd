docker import -c 'CMD echo hi' -c 'HEALTHCHECK CMD true' busybox.tar bad:shellcmd
