docker import -c 'STOPSIGNAL SIGKILL' busybox.tar bad:stopsignal
