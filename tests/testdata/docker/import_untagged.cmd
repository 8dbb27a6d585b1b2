docker import busybox.tar
