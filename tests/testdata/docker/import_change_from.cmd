docker import -c 'FROM busybox' busybox.tar bad:from
