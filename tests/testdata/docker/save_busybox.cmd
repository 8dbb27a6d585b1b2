docker save busybox:latest -o busybox-save.tar
