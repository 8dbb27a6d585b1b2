skopeo inspect docker-archive:busybox-save.tar
