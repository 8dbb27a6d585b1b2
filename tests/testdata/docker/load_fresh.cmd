docker load -i busybox-save.tar
