docker load -q -i busybox-save.tar
