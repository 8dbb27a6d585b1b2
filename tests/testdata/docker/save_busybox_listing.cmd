tar -tvf busybox-save.tar
