docker import -c 'BOGUS x' busybox.tar bad:bogus
