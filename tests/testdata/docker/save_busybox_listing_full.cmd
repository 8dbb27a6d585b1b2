tar --full-time -tvf busybox-save.tar
