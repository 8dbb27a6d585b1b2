docker load < busybox-save.tar
